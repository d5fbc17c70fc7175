package org.diskplan.planner.vhdx;

import java.util.EnumSet;
import java.util.Set;
import org.diskplan.abi.ErrorCode;
import org.diskplan.abi.ImageFormat;
import org.diskplan.abi.Preallocation;
import org.diskplan.planner.Capabilities;
import org.diskplan.planner.FormatOptions;
import org.diskplan.planner.FormatPlanner;
import org.diskplan.planner.PlanBuilder;
import org.diskplan.planner.PlanReader;
import org.diskplan.planner.ResizeError;
import org.diskplan.planner.ResizePlan;
import org.diskplan.planner.ResizeRequest;
import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.vhdx.VhdxHeader;
import org.diskplan.probe.vhdx.VhdxLayout;

// No lambdas or streams here: this class runs on the command line's start-up path (see ReadWatch / issue 20).
/**
 * VHDX resize (dynamic and fixed, 512 and 4096-byte logical sectors) through the image's
 * own metadata log: see {@link VhdxResize} for the plan and its crash order.
 */
public final class VhdxPlanner implements FormatPlanner<VhdxHeader> {
    @Override
    public Set<ImageFormat> formats() {
        return Set.of(ImageFormat.VHDX);
    }

    @Override
    public Class<VhdxHeader> headerType() {
        return VhdxHeader.class;
    }

    @Override
    public Capabilities capabilities(ProbedImage image, VhdxHeader h) {
        return capabilities(h.logicalSectorSize() == 4096 ? 4096 : 512);
    }

    @Override
    public Capabilities typical() {
        return capabilities(512);
    }

    private static Capabilities capabilities(long sector) {
        return new Capabilities(true, EnumSet.of(Preallocation.OFF), sector, false, VhdxLayout.MAX_VIRTUAL_SIZE,
                "a multiple of the logical sector size (" + sector + ")", "Image size too large; max of 64TB");
    }

    /** What qemu's vhdx_open refuses, and what DiskPlan will not resize, each naming the field. */
    @Override
    public void checkOpen(ProbedImage image, VhdxHeader h) throws ResizeError {
        checkSizeItem(h);
        if (h.virtualDiskSize() == 0) {
            // qemu counts BAT entries as blocks + (blocks - 1) / chunk ratio in 32 bits: for no
            // blocks that underflows, and it refuses the image ("Invalid argument").
            throw new ResizeError(ErrorCode.NEEDS_REPAIR, "VHDX metadata item virtual disk size at offset "
                    + h.virtualDiskSizeOffset() + " is 0: qemu refuses to open such an image");
        }
        if (h.hasParent()) {
            throw new ResizeError(ErrorCode.UNSUPPORTED_SUBFORMAT, "VHDX metadata item file parameters at offset "
                    + h.fileParametersOffset() + ": has_parent is set: a differencing VHDX (or a Hyper-V "
                    + "checkpoint, .avhdx) reads through its parent; resize the base disk with the chain merged");
        }
        for (VhdxHeader.HeaderCopy c : h.headers()) {
            if (!c.valid()) {
                throw new ResizeError(ErrorCode.NEEDS_REPAIR, "VHDX header at offset " + c.offset()
                        + " is invalid (signature, version or CRC-32C); open the image read-write in qemu or "
                        + "Hyper-V once so that both header copies are valid, then resize");
            }
        }
        for (String flag : image.flags()) {
            if (flag.startsWith("corrupt:") || flag.startsWith("unknown required region")) {
                throw new ResizeError(ErrorCode.NEEDS_REPAIR, "VHDX image is inconsistent (" + flag
                        + "); DiskPlan does not resize it", ResizeError.Location.of(flag.startsWith("corrupt:")
                        ? ResizeError.Kind.CORRUPT : ResizeError.Kind.UNSUPPORTED));
            }
        }
        long bs = h.blockSize();
        if (bs < VhdxLayout.MIN_BLOCK_SIZE || bs > VhdxLayout.MAX_BLOCK_SIZE || Long.bitCount(bs) != 1) {
            throw new ResizeError(ErrorCode.UNSUPPORTED_SUBFORMAT, "VHDX metadata item file parameters field "
                    + "block_size at offset " + h.fileParametersOffset() + ": " + bs
                    + " is not a power of two from 1 MiB to 256 MiB");
        }
        if (h.logicalSectorSize() != 512 && h.logicalSectorSize() != 4096) {
            throw new ResizeError(ErrorCode.UNSUPPORTED_SUBFORMAT, "VHDX metadata item logical sector size at "
                    + "offset " + h.logicalSectorSizeOffset() + ": " + h.logicalSectorSize()
                    + " is neither 512 nor 4096");
        }
        long hdr = h.headers().get(h.currentHeaderIndex()).offset();
        if (h.logLength() < VhdxLayout.MIB || h.logLength() % VhdxLayout.MIB != 0 || h.logOffset() < VhdxLayout.MIB
                || h.logOffset() % VhdxLayout.MIB != 0 || h.logVersion() != 0) {
            throw new ResizeError(ErrorCode.UNSUPPORTED_SUBFORMAT, "VHDX header field log_length/log_offset at "
                    + "offset " + (hdr + VhdxLayout.H_LOG_LENGTH) + ": a log of " + h.logLength() + " bytes at "
                    + h.logOffset() + " (version " + h.logVersion() + ") cannot carry the resize; it needs a "
                    + "version 0 log of whole MiB at a MiB offset");
        }
        if (Long.compareUnsigned(h.currentSequenceNumber(), -3L) > 0) {
            throw ResizeError.atField(ErrorCode.UNSUPPORTED_SUBFORMAT, ResizeError.Kind.UNSUPPORTED, "VHDX header",
                    "sequence_number", hdr + VhdxLayout.H_SEQUENCE, ": " + Long.toUnsignedString(h.currentSequenceNumber())
                    + " would overflow: the resize writes the headers with sequence numbers +1 and +2");
        }
    }

    /**
     * The resize writes the 8 bytes of the virtual disk size item. [MS-VHDX] 2.6.1.2 puts
     * every item at least 64 KiB into the metadata region (past the table) and inside it;
     * qemu does not check either, nor whether items overlap. An item that shares bytes with
     * another (the size read out of the file parameters, say) would have the resize rewrite
     * that other item too: the block size, in one image qemu opened, and then refused.
     */
    private static void checkSizeItem(VhdxHeader h) throws ResizeError {
        long at = h.virtualDiskSizeOffset();
        VhdxHeader.MetadataItem size = null;
        for (VhdxHeader.MetadataItem i : h.metadataItems()) {
            if (i.offset() == at && i.name().equals("virtual disk size")) {
                size = i;
                break;
            }
        }
        if (size == null) {
            throw new java.util.NoSuchElementException("No value present");
        }
        String what = "VHDX metadata table entry for the virtual disk size item";
        long rel = at - h.metadataOffset();
        if (rel < VhdxLayout.METADATA_TABLE_SIZE || rel > h.metadataLength() - 8) {
            throw ResizeError.atField(ErrorCode.NEEDS_REPAIR, ResizeError.Kind.CORRUPT, what, "offset",
                    size.entryOffset() + 16, ": " + rel + " puts the item outside the metadata region's items ("
                            + VhdxLayout.METADATA_TABLE_SIZE + " to " + h.metadataLength() + " bytes in), where "
                            + "[MS-VHDX] requires it; DiskPlan does not write a new size there");
        }
        for (VhdxHeader.MetadataItem other : h.metadataItems()) {
            if (other != size && other.length() > 0 && other.offset() < at + 8 && at < other.offset()
                    + other.length()) {
                throw ResizeError.atField(ErrorCode.NEEDS_REPAIR, ResizeError.Kind.CORRUPT, what, "offset",
                        size.entryOffset() + 16, ": " + rel + " puts the item (at " + at + ") over the "
                                + other.name() + " item (" + other.length() + " bytes at " + other.offset()
                                + "): a new size written there would change the " + other.name() + " too");
            }
        }
    }

    @Override
    public ResizePlan plan(ProbedImage image, VhdxHeader h, PlanReader reader, ResizeRequest request)
            throws ResizeError {
        FormatOptions.Vhdx options = new FormatOptions.Vhdx((int) h.blockSize(), (int) h.logicalSectorSize());
        if (request.newSize() == h.virtualDiskSize()) {
            return PlanBuilder.noop(ImageFormat.VHDX, options, request, image.path(), image.fileSize(),
                    image.virtualSize());
        }
        return new VhdxResize(image, h, reader, request, options).plan();
    }
}
