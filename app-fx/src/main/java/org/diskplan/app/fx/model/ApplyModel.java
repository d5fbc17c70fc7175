package org.diskplan.app.fx.model;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntConsumer;
import javafx.beans.property.ReadOnlyBooleanProperty;
import javafx.beans.property.ReadOnlyBooleanWrapper;
import javafx.beans.property.ReadOnlyDoubleProperty;
import javafx.beans.property.ReadOnlyDoubleWrapper;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.ReadOnlyStringWrapper;
import org.diskplan.abi.ResizeResult;
import org.diskplan.planner.ResizeError;
import org.diskplan.planner.ResizePatch;
import org.diskplan.planner.ResizePlan;
import org.diskplan.planner.ResizeSession;
import org.diskplan.planner.apply.ApplyListener;
import org.diskplan.planner.apply.ApplyOptions;
import org.diskplan.planner.apply.ResizeCancelled;
import org.diskplan.probe.ProbedImage;

/**
 * Applying a plan: the confirmation text, the work in the background with
 * progress, cancel up to the commit point (the applier rolls back through its undo
 * journal), then a re-probe that marks the changed fields.
 */
public final class ApplyModel {
    private final Workers workers;
    private final ImageModel image;
    private final ReadOnlyBooleanWrapper running = new ReadOnlyBooleanWrapper(this, "running");
    private final ReadOnlyBooleanWrapper cancellable = new ReadOnlyBooleanWrapper(this, "cancellable");
    private final ReadOnlyDoubleWrapper progress = new ReadOnlyDoubleWrapper(this, "progress", 0);
    private final ReadOnlyStringWrapper status = new ReadOnlyStringWrapper(this, "status", "");
    private final ReadOnlyBooleanWrapper stale = new ReadOnlyBooleanWrapper(this, "stale");
    private final AtomicBoolean cancel = new AtomicBoolean();
    private volatile IntConsumer beforeStep = k -> { };

    public ApplyModel(Workers workers, ImageModel image) {
        this.workers = workers;
        this.image = image;
        image.imageProperty().addListener((o, a, b) -> stale.set(false));
    }

    public ReadOnlyBooleanProperty runningProperty() {
        return running.getReadOnlyProperty();
    }

    /** True while the apply has not passed the commit point. */
    public ReadOnlyBooleanProperty cancellableProperty() {
        return cancellable.getReadOnlyProperty();
    }

    /** True after an apply was refused because the file changed since it was planned (cleared by a new image). */
    public ReadOnlyBooleanProperty staleProperty() {
        return stale.getReadOnlyProperty();
    }

    public ReadOnlyDoubleProperty progressProperty() {
        return progress.getReadOnlyProperty();
    }

    public ReadOnlyStringProperty statusProperty() {
        return status.getReadOnlyProperty();
    }

    /**
     * Test seam: called on the applying thread as each step starts, before its bytes
     * are written (tests hold a step here to cancel at a known point).
     */
    public void setBeforeStep(IntConsumer hook) {
        beforeStep = hook;
    }

    /** The confirmation: the file and what the plan does. */
    public static String confirmation(Path file, ResizePlan plan) {
        int writes = 0;
        int appends = 0;
        int zeros = 0;
        for (ResizePatch p : plan.patches()) {
            switch (p.kind()) {
                case WRITE, COPY -> writes++;
                case APPEND -> appends++;
                case ZERO_FILL, RESERVE, EXTEND -> zeros++;
            }
        }
        return WindowWords.confirmation(file, plan, writes, appends, zeros);
    }

    /** Applies {@code plan} to the open image in the background. */
    public void apply(ResizePlan plan) {
        ProbedImage before = image.image();
        if (before == null || running.get()) {
            return;
        }
        Path path = before.path();
        stale.set(false);
        cancel.set(false);
        running.set(true);
        cancellable.set(true);
        progress.set(0);
        status.set("Applying the plan to " + path.getFileName() + "…");
        AtomicLong lastPosted = new AtomicLong(-1);
        int steps = plan.finalStep() + 1;
        ApplyListener listener = new ApplyListener() {
            @Override
            public void step(int index, int total, String label) {
                beforeStep.accept(index);
                boolean canCancel = index <= plan.commitIndex();
                double p = (double) index / total;
                workers.later(() -> {
                    progress.set(Math.max(progress.get(), p));
                    cancellable.set(canCancel && running.get());
                    status.set(String.format(Locale.ROOT, "Step %d of %d: %s", index, steps - 1, label));
                });
            }

            @Override
            public void bytes(long done, long total) {
                long permille = total == 0 ? 1000 : done * 1000 / total;
                if (lastPosted.getAndSet(permille) != permille) {
                    double p = permille / 1000.0;
                    workers.later(() -> progress.set(Math.max(progress.get(), p)));
                }
            }
        };
        ApplyOptions options = ApplyOptions.DEFAULT.withListener(listener).withCancel(cancel::get);
        workers.run(() -> ResizeSession.applyLater(path, plan, options), (ResizeResult r) -> {
            finish(1, "");
            image.reloadAfterApply(before);
        }, e -> {
            if (e instanceof ResizeCancelled c) {
                finish(0, c.getMessage());
            } else if (e instanceof org.diskplan.probe.ReadWatch.Timeout t) {
                finish(0, WindowWords.noAnswer(t)); // the image's lock is already released
            } else if (e instanceof ResizeError r) {
                finish(0, r.getMessage());
                stale.set(WindowWords.isStale(r));
            } else {
                finish(0, "Applying failed: " + e);
            }
            image.setMessage(status.get());
        });
    }

    private void finish(double p, String text) {
        running.set(false);
        cancellable.set(false);
        progress.set(p);
        status.set(text);
    }

    /** Asks the applier to stop; honoured up to the commit point. */
    public void cancel() {
        if (running.get() && cancellable.get()) {
            cancel.set(true);
            status.set("Cancelling: rolling back…");
        }
    }
}
