package org.diskplan.planner.vmdk;

import java.util.EnumSet;
import java.util.Set;
import org.diskplan.abi.ErrorCode;
import org.diskplan.abi.ImageFormat;
import org.diskplan.abi.Preallocation;
import org.diskplan.abi.VmdkSubformat;
import org.diskplan.planner.Capabilities;
import org.diskplan.planner.FormatOptions;
import org.diskplan.planner.FormatPlanner;
import org.diskplan.planner.PlanBuilder;
import org.diskplan.planner.PlanReader;
import org.diskplan.planner.ResizeError;
import org.diskplan.planner.ResizePlan;
import org.diskplan.planner.ResizeRequest;
import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.vmdk.VmdkExtent;
import org.diskplan.probe.vmdk.VmdkHeader;
import org.diskplan.probe.vmdk.VmdkLayout;

/**
 * Resize of a VMDK4 sparse extent opened on its own: a monolithicSparse disk (header,
 * embedded descriptor, grain directory and its redundant copy). See {@link SparseResize}
 * for the plans and their crash order. streamOptimized disks are refused (see
 * {@link #checkOpen}).
 */
public final class VmdkPlanner implements FormatPlanner<VmdkHeader> {
    /**
     * Largest sparse disk: grain and grain table offsets are u32 sector numbers, so a
     * sparse extent file cannot pass 2 TiB; qemu's vmdk driver creates sparse extents up
     * to that size only.
     */
    static final long MAX_SPARSE = 2L << 40;

    @Override
    public Set<ImageFormat> formats() {
        return Set.of(ImageFormat.VMDK4);
    }

    @Override
    public Class<VmdkHeader> headerType() {
        return VmdkHeader.class;
    }

    @Override
    public Capabilities capabilities(ProbedImage image, VmdkHeader h) {
        return capabilities(h.grainSize(), h.numGTEsPerGT());
    }

    @Override
    public Capabilities typical() {
        return capabilities(128, VmdkLayout.MAX_GTES_PER_GT);
    }

    private static Capabilities capabilities(long grainSize, long numGtes) {
        long byDirectory = VmdkLayout.MAX_GD_ENTRIES * grainSize * numGtes * VmdkLayout.SECTOR;
        long max = Math.min(MAX_SPARSE, byDirectory);
        return new Capabilities(true, EnumSet.of(Preallocation.OFF), VmdkLayout.SECTOR, false, max,
                "a multiple of 512", "a VMDK sparse extent holds at most " + max + " bytes (" + (max >> 30)
                + " GiB): its grain and grain table offsets are 32-bit sector numbers");
    }

    @Override
    public void checkOpen(ProbedImage image, VmdkHeader h) throws ResizeError {
        if (h.version() == 3 && !h.gdAtEnd() && !h.compressed() && !h.markers()) {
            throw ResizeError.atField(ErrorCode.UNSUPPORTED_SUBFORMAT, ResizeError.Kind.UNSUPPORTED, "VMDK4 header",
                    "version", VmdkLayout.OFF_VERSION, ": version 3 with uncompressed grains, no markers and the grain "
                    + "directory in place is not a streamOptimized disk: VMware writes version 3 for disks with "
                    + "persistent changed block tracking (KB 2064959), and qemu opens such a disk read-only "
                    + "(\"VMDK version 3 must be read only\"), so DiskPlan does not resize it either. Convert with "
                    + "`qemu-img convert -O vmdk -o subformat=monolithicSparse` and resize the copy");
        }
        if (h.gdAtEnd() || h.compressed() || h.markers()) {
            throw new ResizeError(ErrorCode.UNSUPPORTED_SUBFORMAT, "VMDK4 header field "
                    + (h.gdAtEnd() ? "gdOffset at offset " + VmdkLayout.OFF_GD_OFFSET + " (grain directory at end)"
                    : "flags at offset " + VmdkLayout.OFF_FLAGS + " (" + (h.compressed() && h.markers()
                    ? "compressed grains with markers" : h.compressed() ? "compressed grains" : "markers") + ")")
                    + ": streamOptimized disks are not resized. VMware's spec writes such a disk once, as a "
                    + "stream: compressed grains with markers, then the grain tables and directory, a footer "
                    + "(a copy of the header with the real gdOffset) and an end-of-stream marker; the header "
                    + "at offset 0 says only \"grain directory at end\". qemu's vmdk_open_vmdk4 takes capacity "
                    + "and gdOffset from that footer (1024 bytes before the end), while VMware's spec sizes the "
                    + "extent by the embedded descriptor's extent line near the start, so a grow changes two "
                    + "places at opposite ends of the file and has no single commit write; and qemu refuses to "
                    + "rewrite a grain already written (\"Could not write to allocated cluster for "
                    + "streamOptimized\"). Convert with `qemu-img convert -O vmdk -o subformat=monolithicSparse` "
                    + "and resize the copy");
        }
        if (h.descriptor().isEmpty() || !h.descriptor().get().text().contains("CID")) {
            throw ResizeError.atField(ErrorCode.UNSUPPORTED_SUBFORMAT, ResizeError.Kind.UNSUPPORTED, "VMDK4 header",
                    "descriptorOffset", VmdkLayout.OFF_DESCRIPTOR_OFFSET, ": no embedded descriptor: this is one extent of a "
                    + "multi-file disk; resize the disk through its descriptor file");
        }
        var d = h.descriptor().get();
        var cids = org.diskplan.probe.vmdk.VmdkCids.qemuProblem(d.text());
        if (cids.isPresent()) {
            throw new ResizeError(ErrorCode.NEEDS_REPAIR, "Could not open '" + image.path() + "': Invalid argument ("
                    + "VMDK descriptor at offset " + d.offset() + ": " + cids.get() + ")");
        }
        if (h.capacity() == 0) {
            throw new ResizeError(ErrorCode.NEEDS_REPAIR, "VMDK4 header field capacity at offset 12 is 0: qemu "
                    + "refuses to open a sparse extent of no sectors");
        }
        if (!d.parentCid().isEmpty() && !d.parentCid().trim().equalsIgnoreCase("ffffffff")
                || d.parentFileNameHint().isPresent()) {
            throw new ResizeError(ErrorCode.UNSUPPORTED_SUBFORMAT, "VMDK descriptor at offset " + d.offset()
                    + ": parentCID " + d.parentCid() + ": a child (delta) disk is not resized; resize its base disk");
        }
        if (!d.createType().isEmpty() && !d.createType().equals(VmdkSubformat.MONOLITHIC_SPARSE.createType())) {
            throw new ResizeError(ErrorCode.UNSUPPORTED_SUBFORMAT, "VMDK descriptor at offset " + d.offset()
                    + ": createType \"" + d.createType() + "\" in a sparse extent: only monolithicSparse is resized");
        }
        int counted = 0;
        for (VmdkExtent e : d.extents()) {
            if (e.countedByQemu()) {
                counted++;
                if (!e.type().equals("SPARSE")) {
                    throw new ResizeError(ErrorCode.UNSUPPORTED_SUBFORMAT, "VMDK descriptor line " + e.lineNumber()
                            + " at offset " + e.lineOffset() + ": extent type " + e.type()
                            + " in a monolithicSparse disk");
                }
            }
        }
        if (counted > 1) {
            throw new ResizeError(ErrorCode.UNSUPPORTED_SUBFORMAT, "VMDK descriptor at offset " + d.offset() + ": "
                    + counted + " extent lines in a monolithicSparse disk (expected one)");
        }
        for (String flag : image.flags()) {
            if (flag.contains("corrupt:") || flag.contains("scanned partially")) {
                throw new ResizeError(ErrorCode.NEEDS_REPAIR, "VMDK sparse extent: " + flag
                        + "; DiskPlan resizes only a sparse extent it has read completely and found consistent");
            }
        }
        if (h.hasRedundantGrainDirectory() && h.allocatedRedundantGrainTables() != h.allocatedGrainTables()) {
            throw ResizeError.atField(ErrorCode.NEEDS_REPAIR, ResizeError.Kind.NEEDS_REPAIR, "VMDK4 header",
                    "rgdOffset", VmdkLayout.OFF_RGD_OFFSET, ": the redundant grain directory has "
                    + h.allocatedRedundantGrainTables() + " grain tables, the primary " + h.allocatedGrainTables());
        }
    }

    @Override
    public ResizePlan plan(ProbedImage image, VmdkHeader h, PlanReader reader, ResizeRequest request)
            throws ResizeError {
        FormatOptions.Vmdk options = new FormatOptions.Vmdk(VmdkSubformat.MONOLITHIC_SPARSE, (int) h.grainBytes());
        if (request.newSize() == image.virtualSize()) {
            return PlanBuilder.noop(ImageFormat.VMDK4, options, request, image.path(), image.fileSize(),
                    image.virtualSize());
        }
        return new SparseResize(image, h, reader, request, options).plan();
    }
}
