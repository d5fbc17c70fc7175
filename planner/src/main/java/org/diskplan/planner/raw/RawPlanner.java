package org.diskplan.planner.raw;

import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.diskplan.abi.ImageFormat;
import org.diskplan.abi.Preallocation;
import org.diskplan.planner.Capabilities;
import org.diskplan.planner.FileTail;
import org.diskplan.planner.FormatOptions;
import org.diskplan.planner.FormatPlanner;
import org.diskplan.planner.PlanBuilder;
import org.diskplan.planner.PlanReader;
import org.diskplan.planner.Planners;
import org.diskplan.planner.ResizeError;
import org.diskplan.planner.ResizePatch.Extend;
import org.diskplan.planner.ResizePatch.ZeroFill;
import org.diskplan.planner.ResizePlan;
import org.diskplan.planner.ResizeRequest;
import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.RegionKind;
import org.diskplan.probe.raw.RawHeader;
import org.diskplan.probe.raw.RawProbe;

/**
 * Raw resize, as qemu's file-posix driver does it: the new length is exactly the
 * new size; {@code falloc} reserves the new range, {@code full} writes zeros over
 * it, {@code metadata} does not exist for raw. Growing an empty file also writes
 * its first block (512 bytes below 4 KiB, else 4 KiB) as qemu does, which can make
 * a tiny file 512 bytes long.
 */
public final class RawPlanner implements FormatPlanner<RawHeader> {
    static final int SMALL_FIRST_BLOCK = 512;
    static final int FIRST_BLOCK = 4096;
    private static final Capabilities CAPABILITIES = new Capabilities(true,
            EnumSet.of(Preallocation.OFF, Preallocation.FALLOC, Preallocation.FULL), 1, false, Planners.MAX_LENGTH,
            "a whole number of bytes", "offset exceeds maximum");

    @Override
    public Set<ImageFormat> formats() {
        return Set.of(ImageFormat.RAW);
    }

    @Override
    public Class<RawHeader> headerType() {
        return RawHeader.class;
    }

    @Override
    public Capabilities capabilities(ProbedImage image, RawHeader header) {
        return CAPABILITIES;
    }

    @Override
    public Capabilities typical() {
        return CAPABILITIES;
    }

    @Override
    public ResizePlan plan(ProbedImage image, RawHeader header, PlanReader reader, ResizeRequest request)
            throws ResizeError {
        Preallocation mode = request.preallocation();
        long oldLength = image.fileSize();
        long newSize = request.newSize();
        PlanBuilder plan = new PlanBuilder(ImageFormat.RAW, new FormatOptions.Raw(), request, image.path(), oldLength);
        // An empty file also gets its first block written, which can make it longer than asked.
        int firstBlock = oldLength > 0 || mode == Preallocation.FULL ? 0
                : newSize < FIRST_BLOCK ? SMALL_FIRST_BLOCK : FIRST_BLOCK;
        long newLength = Math.max(newSize, firstBlock);
        // The size changes where the length does: at the first patch when one lengthens
        // the file, else at the final-length step.
        if (!FileTail.lengthen(plan, oldLength, newLength, mode, "the new range") && firstBlock > 0) {
            plan.add(new Extend(0, newLength, "the new length (sparse)", RegionKind.DATA));
        }
        if (plan.size() == 0) {
            plan.commitAtFinalStep();
        } else {
            plan.commitAt(0);
        }
        if (firstBlock > 0) {
            plan.phase(List.of(new ZeroFill(0, firstBlock, false,
                    "allocate the first block of an empty file, as qemu does", RegionKind.DATA)));
        }
        return plan.finalLength(0, newLength).build(Planners.actionFor(image.virtualSize(), newSize),
                image.virtualSize(), RawProbe.virtualSize(newLength));
    }
}
