package org.diskplan.planner;

import org.diskplan.abi.Preallocation;
import org.diskplan.planner.ResizePatch.ZeroFill;
import org.diskplan.probe.RegionKind;

/**
 * A file whose tail is the guest's data, resized as qemu's file-posix driver truncates
 * it (raw images, and the payload of a LUKS container): the new range is a sparse
 * extension ({@code off}, the final-length step), reserved ({@code falloc}) or written with zeros ({@code full});
 * a shrink is a cut at the final-length step.
 */
public final class FileTail {
    private FileTail() {
    }

    /**
     * Adds the patch that fills the new range from {@code oldLength} to {@code newLength}
     * for {@code falloc} and {@code full} and returns whether it added one (none for
     * {@code off}, a shrink or the same length: the final-length step makes the new range
     * a hole or cuts the file).
     */
    public static boolean lengthen(PlanBuilder plan, long oldLength, long newLength, Preallocation mode,
                                   String what) {
        if (newLength <= oldLength) {
            return false;
        }
        long n = newLength - oldLength;
        switch (mode) {
            case FULL -> plan.add(new ZeroFill(oldLength, n, false, "zeros over " + what + " (preallocation=full)",
                    RegionKind.DATA));
            case FALLOC -> plan.add(new ZeroFill(oldLength, n, true, "reserve " + what + " (preallocation=falloc)",
                    RegionKind.DATA));
            default -> {
                return false;
            }
        }
        return true;
    }
}
