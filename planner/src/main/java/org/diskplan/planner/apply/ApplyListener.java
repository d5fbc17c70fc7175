package org.diskplan.planner.apply;

/** Progress of an apply; called on the applying thread. */
public interface ApplyListener {
    ApplyListener NONE = new ApplyListener() {
    };

    /** Step {@code index} of {@code steps} is about to run. */
    default void step(int index, int steps, String label) {
    }

    /** {@code done} of {@code total} bytes written so far. */
    default void bytes(long done, long total) {
    }
}
