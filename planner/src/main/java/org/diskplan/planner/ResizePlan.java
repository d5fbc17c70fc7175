package org.diskplan.planner;

import java.util.List;
import java.util.Objects;
import java.util.SortedSet;
import java.util.TreeSet;
import org.diskplan.abi.ImageFormat;
import org.diskplan.abi.ResizeAction;

/**
 * A complete, ordered resize: the patches, then one last step that sets the file
 * length to {@link #newFileSize()}. Planning is pure; only the applier writes.
 *
 * <p>Steps are numbered {@code 0..patches.size()}: step {@code i < patches.size()} is
 * patch {@code i}, step {@code patches.size()} sets the final file length.
 *
 * @param options       the format parameters the plan was made for
 * @param commitIndex   the step after which the image shows the new size (for raw,
 *                      whose size is its length, that is the final-length step)
 * @param barriersAfter steps after which the applier must {@code force(true)}; it
 *                      always forces after the commit step and at the end as well
 * @param expected      bytes the plan was built from, re-checked before writing
 * @param request       what the user asked for (the size before any rounding)
 * @param notes         remarks for the user ("rounded up to whole grains")
 */
public record ResizePlan(ImageFormat format, FormatOptions options, ResizeAction action, long oldVirtualSize, long newVirtualSize,
                         ResizeRequest request, long oldFileSize, long newFileSize, List<ResizePatch> patches,
                         int commitIndex, SortedSet<Integer> barriersAfter, List<ExpectedBytes> expected,
                         List<String> notes) {
    public ResizePlan {
        Objects.requireNonNull(format, "format");
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(action, "action");
        Objects.requireNonNull(request, "request");
        patches = List.copyOf(patches);
        expected = List.copyOf(expected);
        notes = List.copyOf(notes);
        barriersAfter = java.util.Collections.unmodifiableSortedSet(new TreeSet<>(barriersAfter));
        if (commitIndex < 0 || commitIndex > patches.size()) {
            throw new IllegalArgumentException("commit index " + commitIndex + " outside 0.." + patches.size());
        }
        if (oldFileSize < 0 || newFileSize < 0 || newVirtualSize < 0) {
            throw new IllegalArgumentException("negative size in plan");
        }
    }

    /** The index of the final-length step. */
    public int finalStep() {
        return patches.size();
    }

    /** Bytes the patches write (zero-fills count their length; a sparse extension writes nothing). */
    public long bytesWritten() {
        long sum = 0;
        for (ResizePatch p : patches) {
            if (!(p instanceof ResizePatch.ZeroFill z && z.mode() == ResizePatch.ZeroFill.Mode.EXTEND)) {
                sum += p.length();
            }
        }
        return sum;
    }
}
