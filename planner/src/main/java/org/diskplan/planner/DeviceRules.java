package org.diskplan.planner;

import java.util.ArrayList;
import java.util.List;
import org.diskplan.abi.ErrorCode;
import org.diskplan.abi.ImageFormat;
import org.diskplan.abi.Preallocation;
import org.diskplan.probe.FileKind;

/**
 * A plan over a block device (an LVM volume holding a qcow2, say), as qemu's file-posix
 * driver allows it: a device's length is its size and never changes. A format whose size
 * is the file's length (raw, LUKS) cannot be resized there at all ("Cannot resize device
 * files", qemu's exact truncate); a metadata format may grow inside the device ("Cannot
 * grow device files" when the plan needs the file longer); preallocation other than
 * {@code metadata} is refused as qemu refuses it for a non-regular file. A qcow2 whose
 * plan would cut the file keeps the device's length (qemu's inexact truncate does nothing
 * there; qcow2 finds its clusters through refcounts, not the file's end); any other
 * format that would cut its file is refused, because it may locate structures from the
 * file's end (a VHD footer).
 */
public final class DeviceRules {
    static final String CANNOT_RESIZE = "Cannot resize device files";
    static final String CANNOT_GROW = "Cannot grow device files";

    private DeviceRules() {
    }

    /**
     * After planning: {@code plan} as it may be applied where its files are block devices
     * (a qcow2 keeps the device's length); refused when it cannot be.
     */
    public static ResizePlan check(ResizePlan plan) throws ResizeError {
        List<PlanFile> files = new ArrayList<>(plan.files());
        List<String> notes = new ArrayList<>(plan.notes());
        boolean changed = false;
        for (int i = 0; i < files.size(); i++) {
            PlanFile f = files.get(i);
            if (f.created() || FileKind.of(f.path()) != FileKind.BLOCK_DEVICE) {
                continue;
            }
            checkFile(plan, f);
            if (f.newLength() < f.oldLength()) {
                files.set(i, new PlanFile(f.path(), f.role(), f.oldLength(), f.oldLength(), false, false));
                notes.add("'" + f.path() + "' is a block device: its length stays " + f.oldLength()
                        + " bytes (the clusters past the new end are freed, not cut)");
                changed = true;
            }
        }
        if (!changed) {
            return plan;
        }
        return new ResizePlan(plan.format(), plan.options(), plan.action(), plan.oldVirtualSize(),
                plan.newVirtualSize(), plan.request(), files, plan.patches(), plan.commitIndex(),
                plan.barriersAfter(), plan.expected(), notes);
    }

    /**
     * Before planning: the preallocation qemu refuses for a non-regular file (after the
     * common "only for growing" check; for raw and LUKS every mode but off, as file-posix
     * does; a metadata format may still preallocate its metadata inside the device).
     */
    public static void checkRequest(org.diskplan.probe.ProbedImage image, ResizeRequest request) throws ResizeError {
        Preallocation mode = request.preallocation();
        if (mode == Preallocation.OFF || request.newSize() <= image.virtualSize()
                || FileKind.of(image.path()) != FileKind.BLOCK_DEVICE) {
            return;
        }
        boolean sizedByLength = sizedByLength(image.format());
        if (sizedByLength || mode != Preallocation.METADATA) {
            String words = "Preallocation mode '" + mode.qemuName() + "' unsupported for this non-regular file";
            throw new ResizeError(ErrorCode.PREALLOCATION_UNSUPPORTED,
                    sizedByLength ? words : "Failed to resize underlying file: " + words);
        }
    }

    private static boolean sizedByLength(ImageFormat format) {
        return format == ImageFormat.RAW || format == ImageFormat.LUKS;
    }

    private static void checkFile(ResizePlan plan, PlanFile f) throws ResizeError {
        boolean sizedByLength = sizedByLength(plan.format());
        if (f.removed() || (sizedByLength && f.newLength() != f.oldLength())) {
            throw new ResizeError(ErrorCode.INVALID_NEW_SIZE, CANNOT_RESIZE);
        }
        if (f.newLength() > f.oldLength()) {
            throw new ResizeError(ErrorCode.INVALID_NEW_SIZE, CANNOT_GROW);
        }
        if (f.newLength() < f.oldLength() && plan.format() != ImageFormat.QCOW2) {
            throw new ResizeError(ErrorCode.INVALID_NEW_SIZE, CANNOT_RESIZE + ": a " + plan.format().qemuName()
                    + " image whose file gets shorter cannot live on a block device (its length stays)");
        }
    }
}
