package org.diskplan.planner.vdi;

import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.diskplan.abi.ErrorCode;
import org.diskplan.abi.ImageFormat;
import org.diskplan.abi.Preallocation;
import org.diskplan.planner.Capabilities;
import org.diskplan.planner.FormatOptions;
import org.diskplan.planner.FormatPlanner;
import org.diskplan.planner.PlanBuilder;
import org.diskplan.planner.PlanReader;
import org.diskplan.planner.Planners;
import org.diskplan.planner.ResizeError;
import org.diskplan.planner.ResizePlan;
import org.diskplan.planner.ResizeRequest;
import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.vdi.VdiHeader;
import org.diskplan.probe.vdi.VdiLayout;

/**
 * VDI 1.1 resize (dynamic and static images, as qemu and VirtualBox write them). Only
 * header fields are patched (cbDisk, cBlocks, cBlocksAllocated, offData, the LCHS
 * geometry); the pre-header text, comment, every UUID (as VirtualBox's own resize) and the
 * flags are kept.
 * See {@link VdiResize} for the plans and their crash order.
 */
public final class VdiPlanner implements FormatPlanner<VdiHeader> {
    /** How the probe's flags for overlapping header, block map and data area begin. */
    static final String STRUCTURE_FLAG = "corrupt: VDI header field ";

    /** offData is a u32: the data area must start below 4 GiB. */
    static final long MAX_OFFSET = 0xffffffffL & ~(VdiLayout.SECTOR - 1L);

    @Override
    public Set<ImageFormat> formats() {
        return Set.of(ImageFormat.VDI);
    }

    @Override
    public Class<VdiHeader> headerType() {
        return VdiHeader.class;
    }

    @Override
    public Capabilities capabilities(ProbedImage image, VdiHeader h) {
        return capabilities(h.blocksOffset(), h.blockSize(), h.blockStride());
    }

    @Override
    public Capabilities typical() {
        return capabilities(VdiLayout.QEMU_MAP_OFFSET, VdiLayout.QEMU_BLOCK_SIZE, VdiLayout.QEMU_BLOCK_SIZE);
    }

    /** Largest number of map entries: qemu's limit, and the data area must still start at a u32 offset. */
    static long maxBlocks(long offBlocks, long stride) {
        return Math.max(0, Math.min(VdiLayout.MAX_BLOCKS, (MAX_OFFSET - stride - offBlocks) / VdiLayout.MAP_ENTRY_SIZE));
    }

    private static Capabilities capabilities(long offBlocks, long blockSize, long stride) {
        long max = Math.min(maxBlocks(offBlocks, stride) * blockSize, Planners.MAX_LENGTH);
        max -= max % VdiLayout.SECTOR;
        return new Capabilities(true, EnumSet.of(Preallocation.OFF), VdiLayout.SECTOR, false, max,
                "a multiple of 512", "Unsupported VDI image size (max supported is 0x" + Long.toHexString(max) + ")");
    }

    /** What qemu's vdi_open refuses, and what DiskPlan will not resize. */
    @Override
    public void checkOpen(ProbedImage image, VdiHeader h) throws ResizeError {
        if (!isNull(h.uuidLinkage())) {
            throw refuse("uuidLinkage", VdiLayout.OFF_UUID_LINKAGE, "unsupported VDI image (non-NULL link UUID "
                    + h.uuidLinkage() + "): it is a differencing image whose blocks fall through to its parent; "
                    + "resize the base image and let VirtualBox resize the chain");
        }
        if (!isNull(h.uuidParentModify())) {
            throw refuse("uuidParentModify", VdiLayout.OFF_UUID_PARENT_MODIFY,
                    "unsupported VDI image (non-NULL parent UUID " + h.uuidParentModify()
                            + "): it is linked to a parent image");
        }
        if (h.imageType() != VdiLayout.TYPE_DYNAMIC && h.imageType() != VdiLayout.TYPE_FIXED) {
            throw refuse("u32Type", VdiLayout.OFF_IMAGE_TYPE, "image type " + h.imageType()
                    + (h.imageType() == VdiLayout.TYPE_DIFF ? " (differencing)" : h.imageType() == VdiLayout.TYPE_UNDO
                    ? " (undo)" : "") + " cannot be resized: only dynamic (1) and fixed (2) images can");
        }
        if (h.headerSize() < VdiLayout.HEADER_SIZE_QEMU) {
            throw refuse("cbHeader", VdiLayout.OFF_HEADER_SIZE, "header size " + h.headerSize()
                    + " is shorter than a VDI 1.1 header (" + VdiLayout.HEADER_SIZE_QEMU + ")");
        }
        if (h.blockSize() != VdiLayout.QEMU_BLOCK_SIZE) {
            throw refuse("cbBlock", VdiLayout.OFF_BLOCK_SIZE, "block size " + h.blockSize()
                    + " bytes cannot be resized: qemu opens only " + VdiLayout.QEMU_BLOCK_SIZE
                    + "-byte blocks (\"unsupported VDI image (block size " + h.blockSize() + " is not "
                    + VdiLayout.QEMU_BLOCK_SIZE + ")\"), so no reference tool can check the result; VirtualBox reads "
                    + "it and grows it with `VBoxManage modifymedium --resize`");
        }
        if (h.blockExtra() != 0) {
            throw refuse("cbBlockExtra", VdiLayout.OFF_BLOCK_EXTRA, "unsupported VDI image (block extra "
                    + h.blockExtra() + " bytes; qemu opens only images without per-block extra data)");
        }
        for (String flag : image.flags()) {
            if (flag.startsWith(STRUCTURE_FLAG)) {
                // header, block map and data area overlap: not a map qemu-img check can repair
                throw new ResizeError(ErrorCode.NEEDS_REPAIR, "'" + image.path() + "' is damaged: " + flag,
                        ResizeError.Location.of(ResizeError.Kind.CORRUPT));
            }
        }
        for (String flag : image.flags()) {
            if (flag.startsWith("corrupt:")) {
                throw new ResizeError(ErrorCode.NEEDS_REPAIR, "VDI block map is inconsistent (" + flag
                        + "); repair it first with `qemu-img check -r all " + image.path() + "`",
                        ResizeError.Location.of(ResizeError.Kind.CORRUPT));
            }
        }
        if (h.blocksAllocated() != h.mapAllocated() || h.highestBlockIndex() != h.mapAllocated() - 1) {
            throw ResizeError.atField(ErrorCode.NEEDS_REPAIR, ResizeError.Kind.NEEDS_REPAIR, "VDI",
                    "cBlocksAllocated", VdiLayout.OFF_BLOCKS_ALLOCATED, " says " + h.blocksAllocated() + " but the block map has "
                    + h.mapAllocated() + " allocated entries with host blocks up to " + h.highestBlockIndex()
                    + " (qemu-img check reports this); repair it first with `qemu-img check -r all "
                    + image.path() + "`");
        }
    }

    @Override
    public ResizePlan plan(ProbedImage image, VdiHeader h, PlanReader reader, ResizeRequest request)
            throws ResizeError {
        FormatOptions.Vdi options = new FormatOptions.Vdi((int) h.blockSize());
        if (request.newSize() == image.virtualSize()) {
            return PlanBuilder.noop(ImageFormat.VDI, options, request, image.path(), image.fileSize(),
                    image.virtualSize());
        }
        return new VdiResize(image, h, reader, request, options).plan();
    }

    static boolean isNull(String uuid) {
        return uuid.equals("00000000-0000-0000-0000-000000000000");
    }

    static ResizeError refuse(String field, int offset, String what) {
        return ResizeError.atField(ErrorCode.UNSUPPORTED_SUBFORMAT, ResizeError.Kind.UNSUPPORTED, "VDI header", field,
                offset, ": " + what);
    }
}
