package org.diskplan.planner.apply;

import java.util.Objects;
import java.util.function.BooleanSupplier;
import java.util.function.IntConsumer;

// No lambdas or streams here: this class runs on the command line's start-up path (see ReadWatch / issue 20).
/**
 * How to apply a plan.
 *
 * @param listener        progress reports
 * @param cancelRequested polled before each step up to the commit point; when it
 *                        answers true the applier rolls back and throws {@link ResizeCancelled}
 * @param afterStep       called after step k is durable (k = -1 right after the journal
 *                        is written); the CLI's crash-injection hook for tests
 * @param faults          asked before every write, flush and length change (tests inject
 *                        I/O errors through it; {@link IoFaults#NONE} otherwise)
 */
public record ApplyOptions(ApplyListener listener, BooleanSupplier cancelRequested, IntConsumer afterStep,
                           IoFaults faults) {
    public static final ApplyOptions DEFAULT = new ApplyOptions(ApplyListener.NONE, new BooleanSupplier() {
        @Override
        public boolean getAsBoolean() {
            return false;
        }
    }, new IntConsumer() {
        @Override
        public void accept(int k) {
        }
    }, IoFaults.NONE);

    public ApplyOptions {
        Objects.requireNonNull(listener, "listener");
        Objects.requireNonNull(cancelRequested, "cancelRequested");
        Objects.requireNonNull(afterStep, "afterStep");
        Objects.requireNonNull(faults, "faults");
    }

    public ApplyOptions(ApplyListener listener, BooleanSupplier cancelRequested, IntConsumer afterStep) {
        this(listener, cancelRequested, afterStep, IoFaults.NONE);
    }

    public ApplyOptions withListener(ApplyListener l) {
        return new ApplyOptions(l, cancelRequested, afterStep, faults);
    }

    public ApplyOptions withCancel(BooleanSupplier c) {
        return new ApplyOptions(listener, c, afterStep, faults);
    }

    public ApplyOptions withAfterStep(IntConsumer hook) {
        return new ApplyOptions(listener, cancelRequested, hook, faults);
    }

    /** The same options with I/O faults injected (tests only). */
    public ApplyOptions withFaults(IoFaults f) {
        return new ApplyOptions(listener, cancelRequested, afterStep, f);
    }
}
