package org.diskplan.planner.raw;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import org.diskplan.abi.ErrorCode;
import org.diskplan.abi.ImageFormat;
import org.diskplan.abi.Preallocation;
import org.diskplan.planner.FormatOptions;
import org.diskplan.planner.FormatPlanner;
import org.diskplan.planner.Planners;
import org.diskplan.planner.ResizeError;
import org.diskplan.planner.ResizePatch;
import org.diskplan.planner.ResizePatch.ZeroFill;
import org.diskplan.planner.ResizePlan;
import org.diskplan.planner.ResizeRequest;
import org.diskplan.probe.ImageReader;
import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.RegionKind;
import org.diskplan.probe.raw.RawProbe;

/**
 * Raw resize, as qemu's file-posix driver does it: the new length is exactly the
 * new size; {@code falloc} reserves the new range, {@code full} writes zeros over
 * it, {@code metadata} does not exist for raw. Growing an empty file also writes
 * its first block (512 bytes below 4 KiB, else 4 KiB) as qemu does, which can make
 * a tiny file 512 bytes long.
 */
public final class RawPlanner implements FormatPlanner {
    static final int SMALL_FIRST_BLOCK = 512;
    static final int FIRST_BLOCK = 4096;

    @Override
    public ImageFormat format() {
        return ImageFormat.RAW;
    }

    @Override
    public ResizePlan plan(ProbedImage image, ImageReader reader, ResizeRequest request) throws ResizeError {
        Preallocation mode = request.preallocation();
        if (mode == Preallocation.METADATA) {
            throw new ResizeError(ErrorCode.PREALLOCATION_UNSUPPORTED,
                    "Unsupported preallocation mode: " + mode.qemuName());
        }
        long oldLength = image.fileSize();
        long newSize = request.newSize();
        List<ResizePatch> patches = new ArrayList<>();
        if (newSize > oldLength && mode == Preallocation.FULL) {
            patches.add(new ZeroFill(oldLength, newSize - oldLength, ZeroFill.Mode.WRITE_ZEROS,
                    "zeros over the new range (preallocation=full)", RegionKind.DATA));
        } else if (newSize > oldLength && mode == Preallocation.FALLOC) {
            patches.add(new ZeroFill(oldLength, newSize - oldLength, ZeroFill.Mode.RESERVE,
                    "reserve the new range (preallocation=falloc)", RegionKind.DATA));
        }
        long newLength = newSize;
        if (oldLength == 0 && mode != Preallocation.FULL) {
            int firstBlock = newSize < FIRST_BLOCK ? SMALL_FIRST_BLOCK : FIRST_BLOCK;
            patches.add(new ZeroFill(0, firstBlock, ZeroFill.Mode.WRITE_ZEROS,
                    "allocate the first block of an empty file, as qemu does", RegionKind.DATA));
            newLength = Math.max(newSize, firstBlock);
        }
        // Without preallocation the size changes at the final-length step; with it,
        // the first patch already takes the file to its new length.
        int commit = mode == Preallocation.OFF ? patches.size() : 0;
        return new ResizePlan(ImageFormat.RAW, new FormatOptions.Raw(), Planners.actionFor(image.virtualSize(), newSize),
                image.virtualSize(), RawProbe.virtualSize(newLength), request, oldLength, newLength, patches, commit,
                new TreeSet<>(), List.of(), List.of());
    }
}
