package org.diskplan.planner.apply;

import java.io.IOException;

// No lambdas or streams here: this class runs on the command line's start-up path (see ReadWatch / issue 20).
/**
 * A test seam: asked before each write, flush and length change the applier makes while
 * applying a plan (not while rolling back), so a test can fail the Nth one with EIO or
 * ENOSPC as a failing disk or a full file system would. Only {@link ApplyOptions} built
 * by tests carry one; the command line and the window never set it.
 */
@FunctionalInterface
public interface IoFaults {
    /** What the applier is about to do. */
    enum Op {
        /** Writing the undo journal. */
        JOURNAL,
        /** A pwrite of patch bytes, zeros or copied bytes (one per chunk). */
        WRITE,
        /** An fdatasync at a barrier, the commit or the end. */
        FLUSH,
        /** An ftruncate: a file extended, or set to its final length. */
        TRUNCATE
    }

    IoFaults NONE = new IoFaults() {
        @Override
        public void before(Op op, int file) {
        }
    };

    /**
     * Called before the operation on plan file {@code file} (-1 for the journal); throw to
     * make it fail.
     */
    void before(Op op, int file) throws IOException;
}
