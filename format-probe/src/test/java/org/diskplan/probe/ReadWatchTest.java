package org.diskplan.probe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * {@link ReadWatch} with a file that never answers: a {@link FileImageReader} over a channel
 * whose reads block until the test lets them go (as a read on a hung NFS or FUSE mount
 * would block in the kernel).
 */
class ReadWatchTest {
    private static final Path FILE = Path.of("/mnt/hung/disk.qcow2");

    /** A 1 MiB channel whose first {@code hangs} positional reads block until {@code release}; the rest answer. */
    static final class HungChannel extends FileChannel {
        final CountDownLatch release = new CountDownLatch(1);
        final AtomicInteger hangs;
        final long sleepMillis;

        HungChannel(int hangs, long sleepMillis) {
            this.hangs = new AtomicInteger(hangs);
            this.sleepMillis = sleepMillis;
        }

        @Override
        public int read(ByteBuffer dst, long position) throws IOException {
            try {
                if (hangs.getAndDecrement() > 0) {
                    release.await();
                } else if (sleepMillis > 0) {
                    Thread.sleep(sleepMillis);
                }
            } catch (InterruptedException e) {
                throw new IOException(e);
            }
            int n = dst.remaining();
            dst.put(new byte[n]);
            return n;
        }

        @Override
        public long size() {
            return 1 << 20;
        }

        @Override
        public int read(ByteBuffer dst) {
            throw new UnsupportedOperationException();
        }

        @Override
        public long read(ByteBuffer[] dsts, int offset, int length) {
            throw new UnsupportedOperationException();
        }

        @Override
        public int write(ByteBuffer src) {
            throw new UnsupportedOperationException();
        }

        @Override
        public long write(ByteBuffer[] srcs, int offset, int length) {
            throw new UnsupportedOperationException();
        }

        @Override
        public long position() {
            return 0;
        }

        @Override
        public FileChannel position(long newPosition) {
            throw new UnsupportedOperationException();
        }

        @Override
        public FileChannel truncate(long size) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void force(boolean metaData) {
        }

        @Override
        public long transferTo(long position, long count, WritableByteChannel target) {
            throw new UnsupportedOperationException();
        }

        @Override
        public long transferFrom(ReadableByteChannel src, long position, long count) {
            throw new UnsupportedOperationException();
        }

        @Override
        public int write(ByteBuffer src, long position) {
            throw new UnsupportedOperationException();
        }

        @Override
        public MappedByteBuffer map(MapMode mode, long position, long size) {
            throw new UnsupportedOperationException();
        }

        @Override
        public FileLock lock(long position, long size, boolean shared) {
            throw new UnsupportedOperationException();
        }

        @Override
        public FileLock tryLock(long position, long size, boolean shared) {
            throw new UnsupportedOperationException();
        }

        @Override
        protected void implCloseChannel() {
        }
    }

    @Test
    void aReadThatNeverAnswersFailsTheCommandNamingTheFileAndTheOffset() throws Exception {
        HungChannel channel = new HungChannel(1, 0);
        FileImageReader reader = new FileImageReader(FILE, channel);
        AtomicBoolean usedTheBytes = new AtomicBoolean();
        AtomicBoolean cleanedUp = new AtomicBoolean();
        long start = System.nanoTime();
        // (preemptive: without the watch the test itself would hang)
        assertThatThrownBy(() -> assertTimeoutPreemptively(Duration.ofSeconds(10), () -> ReadWatch.call(
                Duration.ofMillis(300), () -> {
                    ReadWatch.onTimeout("a", () -> cleanedUp.set(true));
                    ReadWatch.onTimeout("b", () -> usedTheBytes.set(true));
                    ReadWatch.onTimeout("b", null); // unregistered: does not run
                    reader.read(65536, 512, "L1 table");
                    usedTheBytes.set(true);
                    return 0;
                }))).isInstanceOfSatisfying(ReadWatch.Timeout.class, t -> {
            assertThat(t.file()).isEqualTo(FILE);
            assertThat(t.offset()).isEqualTo(65536);
            assertThat(t.journal()).isEmpty();
            assertThat(t.getMessage()).isEqualTo("no answer reading '" + FILE + "' at offset 65536 for 0 s");
        });
        long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertThat(waited).as("gave up after the limit, not long after").isBetween(300L, 3000L);
        assertThat(cleanedUp).as("the registered cleanup ran").isTrue();
        // the storage answers at last: the abandoned command must not go on with what it read
        channel.release.countDown();
        Thread.sleep(200);
        assertThat(usedTheBytes).isFalse();
    }

    @Test
    void theLimitIsPerReadNotPerCommand() throws Exception {
        FileImageReader reader = new FileImageReader(FILE, new HungChannel(0, 40));
        int reads = ReadWatch.call(Duration.ofMillis(150), () -> {
            for (int i = 0; i < 12; i++) {
                reader.read(i * 512L, 512, "sector");
            }
            return 12;
        });
        assertThat(reads).isEqualTo(12);
    }

    @Test
    void theCommandsOwnFailuresAndResultsPassThrough() throws Exception {
        assertThat(ReadWatch.call(Duration.ofSeconds(5), () -> "done")).isEqualTo("done");
        FileImageReader reader = new FileImageReader(FILE, new HungChannel(0, 0));
        assertThatThrownBy(() -> ReadWatch.call(Duration.ofSeconds(5), () -> reader.read((1 << 20) - 4, 512, "footer")))
                .isInstanceOf(ProbeException.class).hasMessageContaining("footer at offset 1048572");
    }

    @Test
    void noLimitRunsOnTheCallersThreadUnwatched() throws Exception {
        Thread caller = Thread.currentThread();
        assertThat(ReadWatch.call(Duration.ZERO, () -> Thread.currentThread() == caller)).isTrue();
        assertThat(ReadWatch.begin(FILE, 0)).as("an unwatched thread records nothing").isNull();
    }

    @Test
    void aHangWhileOpeningNamesNoOffset() {
        ReadWatch.Timeout t = new ReadWatch.Timeout(FILE, -1, Duration.ofSeconds(60), Path.of("j"));
        assertThat(t.getMessage()).isEqualTo("no answer reading '" + FILE + "' (opening it) for 60 s");
        assertThat(t.journal()).contains(Path.of("j"));
    }

    @Test
    void aReadInsideAnOpenLeavesTheOpenWatched() {
        CountDownLatch hung = new CountDownLatch(1);
        Path journal = Path.of("/mnt/hung/disk.qcow2.diskplan-journal");
        try {
            assertThatThrownBy(() -> ReadWatch.call(Duration.ofMillis(200), () -> {
                Object open = ReadWatch.begin(FILE, -1); // stat and open of the image...
                Object read = ReadWatch.begin(journal, 0); // ...which reads a journal beside it, answered
                ReadWatch.end(read);
                hung.await(); // then the image's own stat never answers
                ReadWatch.end(open);
                return 0;
            })).isInstanceOfSatisfying(ReadWatch.Timeout.class, t -> {
                assertThat(t.file()).isEqualTo(FILE);
                assertThat(t.offset()).isEqualTo(-1);
                assertThat(t.words()).isEqualTo("Could not read '" + FILE + "' (opening it): no answer for 0 s");
            });
        } finally {
            hung.countDown();
        }
    }

    @Test
    void aStallHoldsTheReadsItPicksOnAnyThreadUntilClosed() throws Exception {
        FileImageReader reader = new FileImageReader(FILE, new HungChannel(0, 0));
        ReadWatch.Stall stall = ReadWatch.stall((f, o) -> o == 4096);
        try {
            assertThatThrownBy(() -> ReadWatch.call(Duration.ofMillis(150), () -> {
                reader.read(0, 512, "header");
                return reader.read(4096, 512, "table");
            })).isInstanceOfSatisfying(ReadWatch.Timeout.class, t -> assertThat(t.words())
                    .isEqualTo("Could not read '" + FILE + "' at offset 4096: no answer for 0 s"));
            assertThat(stall.held()).isEqualTo(1);
        } finally {
            stall.close();
        }
        assertThat(reader.read(4096, 512, "table")).hasSize(512); // closed: it answers again
    }
}
