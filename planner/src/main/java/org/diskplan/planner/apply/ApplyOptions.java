package org.diskplan.planner.apply;

import java.util.Objects;
import java.util.function.BooleanSupplier;
import java.util.function.IntConsumer;

/**
 * How to apply a plan.
 *
 * @param listener        progress reports
 * @param cancelRequested polled before each step up to the commit point; when it
 *                        answers true the applier rolls back and throws {@link ResizeCancelled}
 * @param afterStep       called after step k is durable (k = -1 right after the journal
 *                        is written); the CLI's crash-injection hook for tests
 */
public record ApplyOptions(ApplyListener listener, BooleanSupplier cancelRequested, IntConsumer afterStep) {
    public static final ApplyOptions DEFAULT = new ApplyOptions(ApplyListener.NONE, () -> false, k -> { });

    public ApplyOptions {
        Objects.requireNonNull(listener, "listener");
        Objects.requireNonNull(cancelRequested, "cancelRequested");
        Objects.requireNonNull(afterStep, "afterStep");
    }

    public ApplyOptions withListener(ApplyListener l) {
        return new ApplyOptions(l, cancelRequested, afterStep);
    }

    public ApplyOptions withCancel(BooleanSupplier c) {
        return new ApplyOptions(listener, c, afterStep);
    }

    public ApplyOptions withAfterStep(IntConsumer hook) {
        return new ApplyOptions(listener, cancelRequested, hook);
    }
}
