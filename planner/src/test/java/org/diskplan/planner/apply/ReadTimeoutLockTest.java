package org.diskplan.planner.apply;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import org.diskplan.probe.ReadWatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A resize given up because a read of its image never answered ({@link ReadWatch}) lets go
 * of the image's lock at once, though the read is still blocked: another opener can lock it.
 */
class ReadTimeoutLockTest {
    @TempDir
    Path dir;

    @Test
    void aCommandGivenUpOnAHungReadReleasesTheImageLock() throws Exception {
        Path image = dir.resolve("a.raw");
        Files.write(image, new byte[4096]);
        CountDownLatch hung = new CountDownLatch(1);
        assertThatThrownBy(() -> ReadWatch.call(Duration.ofMillis(200), () -> {
            LockedImage locked = LockedImage.open(image, false);
            Object read = ReadWatch.begin(image, 512); // a read the storage never answers
            hung.await();
            ReadWatch.end(read);
            return locked;
        })).isInstanceOf(ReadWatch.Timeout.class).hasMessageContaining("at offset 512");
        try (FileChannel other = FileChannel.open(image, StandardOpenOption.READ, StandardOpenOption.WRITE);
             FileLock lock = other.tryLock()) {
            assertThat(lock).as("the lock was released").isNotNull();
        } finally {
            hung.countDown();
        }
        assertThat(UndoJournal.pathFor(image)).doesNotExist();
    }
}
