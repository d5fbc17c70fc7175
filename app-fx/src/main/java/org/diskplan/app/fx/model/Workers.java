package org.diskplan.app.fx.model;

import java.util.concurrent.Callable;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;
import javafx.beans.property.ReadOnlyIntegerProperty;
import javafx.beans.property.ReadOnlyIntegerWrapper;

/**
 * Runs blocking work (probe, plan, apply, file reads) off the UI thread and hands
 * the result back on it. The view passes {@code Platform::runLater} as the UI
 * executor; unit tests pass a direct one. Callers discard stale results with a
 * generation counter (see {@link Generation}).
 */
public final class Workers {
    private final Executor background;
    private final Executor ui;
    private final ReadOnlyIntegerWrapper pending = new ReadOnlyIntegerWrapper(this, "pending", 0);

    public Workers(Executor background, Executor ui) {
        this.background = background;
        this.ui = ui;
    }

    /** A pool of daemon threads for the window. */
    public static ExecutorService daemonPool() {
        return Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "diskplan-worker");
            t.setDaemon(true);
            return t;
        });
    }

    /** Everything on the calling thread: for tests of the view models. */
    public static Workers direct() {
        return new Workers(Runnable::run, Runnable::run);
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
                value = work.call();
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
