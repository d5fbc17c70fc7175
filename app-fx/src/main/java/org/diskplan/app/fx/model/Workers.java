package org.diskplan.app.fx.model;

import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;
import javafx.beans.property.ReadOnlyIntegerProperty;
import javafx.beans.property.ReadOnlyIntegerWrapper;
import org.diskplan.probe.ReadWatch;

/**
 * Runs blocking work (probe, plan, apply, file reads) off the UI thread and hands
 * the result back on it; each job is watched ({@link ReadWatch}), so a file that never
 * answers fails it instead of leaving the window busy for ever. The view passes {@code Platform::runLater} as the UI
 * executor; unit tests pass a direct one. Callers discard stale results with a
 * generation counter (see {@link Generation}).
 */
public final class Workers {
    private final Executor background;
    private final Executor ui;
    private final Duration readLimit;
    private final ReadOnlyIntegerWrapper pending = new ReadOnlyIntegerWrapper(this, "pending", 0);

    /** Workers whose reads are bounded as the command line's are ({@link ReadWatch#ENV}, 60 s by default). */
    public Workers(Executor background, Executor ui) {
        this(background, ui, environmentLimit());
    }

    /**
     * Workers whose every job runs under {@link ReadWatch}: a read that has had no answer for
     * {@code readLimit} fails the job with {@link ReadWatch.Timeout} (zero: unbounded).
     */
    public Workers(Executor background, Executor ui, Duration readLimit) {
        this.background = background;
        this.ui = ui;
        this.readLimit = readLimit;
    }

    private static Duration environmentLimit() {
        try {
            return ReadWatch.limit(System.getenv(ReadWatch.ENV));
        } catch (IllegalArgumentException e) {
            return Duration.ofSeconds(ReadWatch.DEFAULT_LIMIT_SECONDS); // the window has no usage error to give
        }
    }

    /** A pool of daemon threads for the window. */
    public static ExecutorService daemonPool() {
        return Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "diskplan-worker");
            t.setDaemon(true);
            return t;
        });
    }

    /** Everything on the calling thread, unwatched: for tests of the view models. */
    public static Workers direct() {
        return new Workers(Runnable::run, Runnable::run, Duration.ZERO);
    }

    /** Jobs started and not yet delivered (read on the UI thread). */
    public ReadOnlyIntegerProperty pendingProperty() {
        return pending.getReadOnlyProperty();
    }

    public Executor ui() {
        return ui;
    }

    /** Must be called on the UI thread; {@code done} or {@code failed} runs there later. */
    public <T> void run(Callable<T> work, Consumer<T> done, Consumer<Exception> failed) {
        pending.set(pending.get() + 1);
        background.execute(() -> {
            T value;
            try {
                value = ReadWatch.call(readLimit, work);
            } catch (Exception e) {
                ui.execute(() -> {
                    pending.set(pending.get() - 1);
                    failed.accept(e);
                });
                return;
            } catch (Error e) {
                ui.execute(() -> pending.set(pending.get() - 1));
                throw e;
            }
            ui.execute(() -> {
                pending.set(pending.get() - 1);
                done.accept(value);
            });
        });
    }

    /** Posts to the UI thread from any thread. */
    public void later(Runnable r) {
        ui.execute(r);
    }

    /** A counter that tells a late result from the current one. */
    public static final class Generation {
        private long value;

        /** Starts a new generation; results of older ones are stale. */
        public long next() {
            return ++value;
        }

        public boolean isCurrent(long g) {
            return g == value;
        }
    }
}
