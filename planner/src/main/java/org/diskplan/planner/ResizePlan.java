package org.diskplan.planner;

import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.SortedSet;
import java.util.TreeSet;
import org.diskplan.abi.ImageFormat;
import org.diskplan.abi.ResizeAction;

/**
 * A complete, ordered resize over one or more files: the patches, then one last step
 * that sets every file to its new length. Planning is pure; only the applier writes.
 * Build one with {@link PlanBuilder}, which checks the invariants below.
 *
 * <p>Steps are numbered {@code 0..patches.size()}: step {@code i < patches.size()} is
 * patch {@code i}, step {@code patches.size()} sets the final lengths.
 *
 * @param options       the format parameters the plan was made for
 * @param files         the files the plan touches; file 0 is the image
 * @param commitIndex   the step after which the image shows the new size (for raw,
 *                      whose size is its length, that is the final-length step)
 * @param barriersAfter steps after which the applier must flush; it always flushes
 *                      after the commit step and at the end as well
 * @param expected      ranges the plan was built from, re-checked before writing
 * @param request       what the user asked for (the size before any rounding)
 * @param notes         remarks for the user ("rounded up to whole grains")
 */
public record ResizePlan(ImageFormat format, FormatOptions options, ResizeAction action, long oldVirtualSize,
                         long newVirtualSize, ResizeRequest request, List<PlanFile> files,
                         List<ResizePatch> patches, int commitIndex, SortedSet<Integer> barriersAfter,
                         List<ExpectedBytes> expected, List<String> notes) {
    public ResizePlan {
        Objects.requireNonNull(format, "format");
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(action, "action");
        Objects.requireNonNull(request, "request");
        files = List.copyOf(files);
        patches = List.copyOf(patches);
        expected = List.copyOf(expected);
        notes = List.copyOf(notes);
        barriersAfter = Collections.unmodifiableSortedSet(new TreeSet<>(barriersAfter));
        if (files.isEmpty() || files.get(0).role() != PlanFile.Role.IMAGE || files.get(0).created()) {
            throw new IllegalArgumentException("file 0 of a plan must be the existing image");
        }
        if (commitIndex < 0 || commitIndex > patches.size()) {
            throw new IllegalArgumentException("commit index " + commitIndex + " outside 0.." + patches.size());
        }
        if (newVirtualSize < 0 || oldVirtualSize < 0) {
            throw new IllegalArgumentException("negative size in plan");
        }
        for (ResizePatch p : patches) {
            if (p.file() >= files.size() || p instanceof ResizePatch.Copy c && c.sourceFile() >= files.size()) {
                throw new IllegalArgumentException("patch " + p + " names a file the plan does not have");
            }
            if (files.get(p.file()).removed()) {
                throw new IllegalArgumentException("patch " + p + " writes a file the plan removes");
            }
        }
    }

    /** This plan, built from {@code ranges}. */
    public ResizePlan withExpected(List<ExpectedBytes> ranges) {
        return new ResizePlan(format, options, action, oldVirtualSize, newVirtualSize, request, files, patches,
                commitIndex, barriersAfter, ranges, notes);
    }

    /** Whether the plan removes a file (a shrink past whole extents). */
    public boolean removesFiles() {
        return files.stream().anyMatch(PlanFile::removed);
    }

    /** The image file's length when planned. */
    public long oldFileSize() {
        return files.get(0).oldLength();
    }

    /** The image file's length afterwards. */
    public long newFileSize() {
        return files.get(0).newLength();
    }

    /** The image file. */
    public PlanFile image() {
        return files.get(0);
    }

    /** The index of the final-length step. */
    public int finalStep() {
        return patches.size();
    }

    /** Bytes the patches write (zero fills and copies count their length; a sparse extension writes nothing). */
    public long bytesWritten() {
        long sum = 0;
        for (ResizePatch p : patches) {
            if (p.kind() != PatchKind.EXTEND) {
                sum += p.length();
            }
        }
        return sum;
    }
}
