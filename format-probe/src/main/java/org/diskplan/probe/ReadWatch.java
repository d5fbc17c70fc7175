package org.diskplan.probe;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

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
        if (s != null) {
            s.file = file;
            s.offset = offset;
            s.since = System.nanoTime() | 1; // never 0 while a read runs
        }
        return s;
    }

    /** Marks the end of the read {@code token} began; throws if the watcher gave up on it meanwhile. */
    public static void end(Object token) throws IOException {
        if (token != null) {
            Slot s = (Slot) token;
            s.since = 0;
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
     * Runs {@code work} on a daemon thread and returns what it returns (or throws what it
     * throws); gives up with {@link Timeout} once one of its reads has waited longer than
     * {@code limit}. A zero or negative limit runs {@code work} here, unwatched.
     */
    public static <T> T call(Duration limit, Callable<T> work) throws Exception {
        if (limit.isZero() || limit.isNegative()) {
            return work.call();
        }
        Slot slot = new Slot();
        FutureTask<T> task = new FutureTask<>(() -> {
            SLOT.set(slot);
            try {
                return work.call();
            } finally {
                SLOT.remove();
            }
        });
        Thread worker = new Thread(task, "diskplan-watched-io");
        worker.setDaemon(true);
        worker.start();
        long limitNanos = limit.toNanos();
        long poll = Math.max(10, Math.min(250, limit.toMillis() / 4));
        while (true) {
            try {
                return task.get(poll, TimeUnit.MILLISECONDS);
            } catch (ExecutionException e) {
                Throwable cause = e.getCause();
                if (cause instanceof Exception x) {
                    throw x;
                }
                throw (Error) cause;
            } catch (TimeoutException e) {
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
}
