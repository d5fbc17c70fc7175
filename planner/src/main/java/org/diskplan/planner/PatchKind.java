package org.diskplan.planner;

/**
 * What a {@link ResizePatch} does, as the timeline colours it and the CLI and the
 * JSON name it. Every zero fill is "zero" in the JSON (with its mode beside it).
 */
public enum PatchKind {
    /** Overwrites bytes inside the file (it may run past the end). */
    WRITE("write"),
    /** Adds bytes exactly at the file end. */
    APPEND("append"),
    /** Writes zeros over a range (allocating it). */
    ZERO_FILL("zero"),
    /** Reserves a range with posix_fallocate (zeros written where the file system cannot). */
    RESERVE("zero"),
    /** Lengthens the file over a hole that reads as zeros, writing nothing. */
    EXTEND("zero"),
    /** Copies bytes the applier reads at that moment from one range to another (a block move). */
    COPY("copy");

    private final String word;

    PatchKind(String word) {
        this.word = word;
    }

    /** The word the CLI and the JSON use: write, append, zero or copy. */
    public String word() {
        return word;
    }

    /** The mode the JSON gives a zero fill: write-zeros, reserve or sparse; empty for the others. */
    public String zeroMode() {
        return switch (this) {
            case ZERO_FILL -> "write-zeros";
            case RESERVE -> "reserve";
            case EXTEND -> "sparse";
            default -> "";
        };
    }
}
