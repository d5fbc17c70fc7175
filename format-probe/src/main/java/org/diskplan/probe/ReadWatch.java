package org.diskplan.probe;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;

/**
 * A deadline on every read of an image (issue 18): a file on a hung NFS or FUSE mount
 * can block {@code read()} forever, and no Java call can take a thread out of that read.
 * So {@link #call} runs a command on a worker thread while the caller watches it; each
 * read brackets itself with {@link #begin} and {@link #end} (a thread-local and three
 * volatile writes, nothing at all on a thread not being watched). When one read has
 * waited longer than the limit, the caller stops waiting, runs the cleanups the worker
 * registered (a half-written journal removed, the image lock released) and throws {@link Timeout}, which names
 * the file and the offset. The worker stays blocked in the kernel; should the read ever
 * return, {@link #end} throws, so the result is never used and nothing is written after.
 * A CLI process then exits (which ends the blocked thread and releases its locks).
 */
public final class ReadWatch {

    /** What one watched thread reads now: {@code since} is 0 between reads. */
    static final class Slot {
        volatile Path file;
        volatile long offset;
        volatile long since;
        volatile boolean abandoned;
        final java.util.Map<Object, Runnable> cleanups = new java.util.concurrent.ConcurrentHashMap<>();
        volatile Path journal;
    }

    private static final ThreadLocal<Slot> SLOT = new ThreadLocal<>();

    /**
     * Environment variable: how many seconds one read (or open) of a file may go unanswered
     * before the command gives up ({@value #DEFAULT_LIMIT_SECONDS} by default; 0 waits for
     * ever). The command line and the window both read it.
     */
    public static final String ENV = "DISKPLAN_READ_TIMEOUT";
    public static final int DEFAULT_LIMIT_SECONDS = 60;

    /** Storage that does not answer, for tests ({@link #stall}); null almost always. */
    private static volatile Stall stall;

    private ReadWatch() {
    }

    /** Thrown by {@link #call} when a read has had no answer for the limit. */
    public static final class Timeout extends Exception {
        private static final long serialVersionUID = 1L;
        private final transient Path file;
        private final long offset;
        private final Duration limit;
        private final transient Path journal;

        Timeout(Path file, long offset, Duration limit, Path journal) {
            super("no answer reading '" + file + "'" + (offset < 0 ? " (opening it)" : " at offset " + offset)
                    + " for " + limit.toSeconds() + " s");
            this.file = file;
            this.offset = offset;
            this.limit = limit;
            this.journal = journal;
        }

        /**
         * What the command line and the window say first: "Could not read 'F' at offset O:
         * no answer for N s" ("(opening it)" instead of the offset while opening).
         */
        public String words() {
            return "Could not read '" + file + "'" + (offset < 0 ? " (opening it)" : " at offset " + offset)
                    + ": no answer for " + limit.toSeconds() + " s";
        }

        /** The undo journal of a resize that had begun writing when it was given up. */
        public java.util.Optional<Path> journal() {
            return java.util.Optional.ofNullable(journal);
        }

        public Path file() {
            return file;
        }

        /** The offset of the read that did not answer; -1 while opening the file. */
        public long offset() {
            return offset;
        }

        public Duration limit() {
            return limit;
        }
    }

    /**
     * Marks the start of a read of {@code file} at {@code offset} (-1: opening it) on this
     * thread; returns the token for {@link #end}, {@code null} when nobody watches.
     */
    public static Object begin(Path file, long offset) {
        Slot s = SLOT.get();
        Mark mark = null;
        if (s != null) {
            mark = new Mark(s, s.file, s.offset, s.since);
            s.file = file;
            s.offset = offset;
            s.since = System.nanoTime() | 1; // never 0 while a read runs
        }
        Stall st = stall;
        if (st != null) {
            st.hold(file, offset);
        }
        return mark;
    }

    /**
     * What {@link #begin} found, put back by {@link #end}: a read inside an open (a journal's,
     * while the image is stat'ed) leaves the open watched.
     */
    private record Mark(Slot slot, Path file, long offset, long since) {
    }

    /** {@value #ENV}'s value as a limit: whole seconds, 0 for none; unset or blank is the default. */
    public static Duration limit(String value) {
        if (value == null || value.isBlank()) {
            return Duration.ofSeconds(DEFAULT_LIMIT_SECONDS);
        }
        try {
            long seconds = Long.parseLong(value.trim());
            if (seconds >= 0 && seconds <= 86_400L * 365) {
                return Duration.ofSeconds(seconds);
            }
        } catch (NumberFormatException e) {
            // said below
        }
        throw new IllegalArgumentException("Invalid " + ENV + " '" + value
                + "': expected whole seconds (0 waits for ever)");
    }

    /**
     * A test seam: until it is closed, every read (or open, offset -1) that {@code which}
     * picks blocks on whatever thread makes it, watched or not, as a read of storage that
     * does not answer blocks in the kernel. Closing lets the held reads go on.
     */
    public static Stall stall(java.util.function.BiPredicate<Path, Long> which) {
        Stall s = new Stall(which);
        stall = s;
        return s;
    }

    /** Reads held by {@link #stall}. */
    public static final class Stall implements AutoCloseable {
        private final java.util.function.BiPredicate<Path, Long> which;
        private final java.util.concurrent.CountDownLatch released = new java.util.concurrent.CountDownLatch(1);
        private final java.util.concurrent.atomic.AtomicInteger held = new java.util.concurrent.atomic.AtomicInteger();

        private Stall(java.util.function.BiPredicate<Path, Long> which) {
            this.which = which;
        }

        void hold(Path file, long offset) {
            if (released.getCount() > 0 && which.test(file, offset)) {
                held.incrementAndGet();
                try {
                    released.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }

        /** How many reads were held so far. */
        public int held() {
            return held.get();
        }

        @Override
        public void close() {
            if (stall == this) {
                stall = null;
            }
            released.countDown();
        }
    }

    /** Marks the end of the read {@code token} began; throws if the watcher gave up on it meanwhile. */
    public static void end(Object token) throws IOException {
        if (token != null) {
            Mark m = (Mark) token;
            Slot s = m.slot();
            s.file = m.file();
            s.offset = m.offset();
            s.since = m.since() == 0 ? 0 : System.nanoTime() | 1; // the outer one's clock starts again
            if (s.abandoned) {
                throw new IOException("a read of '" + s.file + "' answered after the command had given up on it");
            }
        }
    }

    /**
     * Registers under {@code key} what to undo if this thread's command is given up while it
     * is registered (a temporary file it is writing, a lock it holds); a {@code null}
     * cleanup unregisters. Nothing when nobody watches. Cleanups run on the watching
     * thread and must not touch a channel the blocked read uses (closing it would wait).
     */
    public static void onTimeout(Object key, Runnable cleanup) {
        Slot s = SLOT.get();
        if (s != null) {
            if (cleanup == null) {
                s.cleanups.remove(key);
            } else {
                s.cleanups.put(key, cleanup);
            }
        }
    }

    /**
     * Records that this thread's resize has its undo journal {@code journal} in place and may
     * have written (a timeout then says to recover); {@code null} once it is gone.
     */
    public static void journalInPlace(Path journal) {
        Slot s = SLOT.get();
        if (s != null) {
            s.journal = journal;
        }
    }

    /**
     * The watched thread: a plain thread whose result the caller takes after {@link
     * Thread#join} (a FutureTask would load and link VarHandles, a noticeable share of a
     * small command's start-up).
     */
    private static final class Worker<T> extends Thread {
        private final Slot slot;
        private final Callable<T> work;
        private volatile T result;
        private volatile Throwable failure;

        Worker(Slot slot, Callable<T> work) {
            super("diskplan-watched-io");
            this.slot = slot;
            this.work = work;
        }

        @Override
        public void run() {
            SLOT.set(slot);
            try {
                result = work.call();
            } catch (Throwable t) { // handed to the caller, which rethrows it
                failure = t;
            } finally {
                SLOT.remove();
            }
        }
    }

    /**
     * Runs {@code work} on a daemon thread and returns what it returns (or throws what it
     * throws); gives up with {@link Timeout} once one of its reads has waited longer than
     * {@code limit}. A zero or negative limit runs {@code work} here, unwatched.
     */
    public static <T> T call(Duration limit, Callable<T> work) throws Exception {
        if (limit.isZero() || limit.isNegative()) {
            return work.call();
        }
        Slot slot = new Slot();
        Worker<T> worker = new Worker<>(slot, work);
        worker.setDaemon(true);
        worker.start();
        long limitNanos = limit.toNanos();
        long poll = Math.max(10, Math.min(250, limit.toMillis() / 4));
        while (true) {
            worker.join(poll);
            if (!worker.isAlive()) {
                Throwable failure = worker.failure;
                if (failure instanceof Exception x) {
                    throw x;
                }
                if (failure != null) {
                    throw (Error) failure;
                }
                return worker.result;
            }
            long since = slot.since;
            Path file = slot.file;
            long offset = slot.offset;
            if (since != 0 && System.nanoTime() - since > limitNanos && slot.since == since) {
                slot.abandoned = true;
                for (Runnable cleanup : slot.cleanups.values()) {
                    try {
                        cleanup.run();
                    } catch (RuntimeException ignored) {
                        // the others still run; the timeout is what the caller reports
                    }
                }
                throw new Timeout(file, offset, limit, slot.journal);
            }
        }
    }
}
