package org.diskplan.planner.qed;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.EnumSet;
import java.util.Set;
import org.diskplan.abi.ErrorCode;
import org.diskplan.abi.ImageFormat;
import org.diskplan.abi.Preallocation;
import org.diskplan.planner.BackingFile;
import org.diskplan.planner.Capabilities;
import org.diskplan.planner.FormatOptions;
import org.diskplan.planner.FormatPlanner;
import org.diskplan.planner.PlanBuilder;
import org.diskplan.planner.PlanReader;
import org.diskplan.planner.Planners;
import org.diskplan.planner.ResizeError;
import org.diskplan.planner.ResizePatch.Write;
import org.diskplan.planner.ResizePlan;
import org.diskplan.planner.ResizeRequest;
import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.RegionKind;
import org.diskplan.probe.qed.QedHeader;

/**
 * QED resize as qemu's bdrv_qed_co_truncate does it: a grow rewrites the 64-byte header
 * with the new {@code image_size} (offset 48, little-endian) and nothing else changes —
 * QED has no refcounts, and L2 tables for the new range are allocated on first write.
 * qemu's read-write open also clears every autoclear feature bit (offset 32; none is
 * defined), in the same header write; so does this plan, so that the file is byte for
 * byte what qemu-img resize makes. Refusals in qemu's words and order: preallocation
 * other than off, a size that is not whole sectors or past what the tables map, a
 * shrink. An image marked "needs check" is refused when qemu's open would repair something
 * (an invalid table entry, a cluster referenced twice); otherwise the header write also clears
 * the mark, as qemu's open does.
 */
public final class QedPlanner implements FormatPlanner<QedHeader> {
    static final int HEADER_BYTES = 64;
    static final int OFF_FEATURES = 16;
    static final int OFF_AUTOCLEAR = 32;
    static final int OFF_IMAGE_SIZE = 48;

    @Override
    public Set<ImageFormat> formats() {
        return Set.of(ImageFormat.QED);
    }

    @Override
    public Class<QedHeader> headerType() {
        return QedHeader.class;
    }

    @Override
    public Capabilities capabilities(ProbedImage image, QedHeader h) {
        return capabilities(h.clusterSize(), h.tableSize());
    }

    /** As for a new image of qemu's defaults: 64 KiB clusters, tables of 4 clusters. */
    @Override
    public Capabilities typical() {
        return capabilities(64 * 1024, 4);
    }

    private static Capabilities capabilities(long clusterSize, long tableSize) {
        long max = QedHeader.qemuMaxImageSize(clusterSize, tableSize);
        long limit = Long.compareUnsigned(max, Planners.MAX_LENGTH) > 0 ? Planners.MAX_LENGTH : Math.max(1, max);
        return new Capabilities(false, EnumSet.of(Preallocation.OFF), 512, false, limit, "a multiple of 512",
                "Invalid image size specified");
    }

    @Override
    public void checkOpen(ProbedImage image, QedHeader h) throws ResizeError {
        // qemu reads the backing file name wherever it lies inside the header clusters, the
        // 64 header bytes included; where it shares bytes with image_size (or autoclear_features,
        // when set), the resize's header write would change the name: qemu would then open
        // another backing file, or refuse the image when none has that name.
        if ((h.features() & QedHeader.F_BACKING_FILE) != 0 && h.backingFilenameSize() > 0) {
            long from = h.backingFilenameOffset();
            long to = from + h.backingFilenameSize();
            String hit = from < OFF_IMAGE_SIZE + 8 && to > OFF_IMAGE_SIZE ? "image_size (48 to 56)"
                    : h.autoclearFeatures() != 0 && from < OFF_AUTOCLEAR + 8 && to > OFF_AUTOCLEAR
                    ? "autoclear_features (32 to 40)" : null;
            if (hit != null) {
                throw ResizeError.atField(ErrorCode.NEEDS_REPAIR, ResizeError.Kind.CORRUPT, "QED header",
                        "backing_filename_offset", 56, ": the backing file name (" + from + " to " + to
                        + ") shares bytes with " + hit + ", which a resize rewrites: the new header would rename "
                        + "the backing file \"" + h.backingFile() + "\"");
            }
        }
        if (h.l1TableOffset() < HEADER_BYTES) {
            // header_size 0 (qemu opens it): qemu checks only that the L1 table starts at or after the
            // header clusters, so the L1 table may be the 64 header bytes; the header write would then
            // rewrite L1 entries (image_size is entry 6)
            throw ResizeError.atField(ErrorCode.NEEDS_REPAIR, ResizeError.Kind.CORRUPT, "QED header",
                    "l1_table_offset", 40, ": the L1 table (at " + h.l1TableOffset() + ") shares bytes with the"
                    + " 64-byte header (header_size " + h.headerSize() + "), which a resize rewrites: the new header"
                    + " would change L1 entries");
        }
        if ((h.features() & QedHeader.F_NEED_CHECK) != 0 && !h.repair().isEmpty()) {
            // qemu's read-write open checks the image and repairs it (zeroes invalid entries) before
            // resizing; DiskPlan writes only what its plan shows. When the check would find nothing,
            // the open only clears the mark, and so does the plan's header write.
            throw new ResizeError(ErrorCode.NEEDS_REPAIR, "QED image '" + image.path() + "' is marked as needing a "
                    + "consistency check (features at offset 16, bit 1) and qemu's check would change it ("
                    + h.repair() + "): qemu repairs it when it opens it read-write; "
                    + "repair it first with `qemu-img check -r all " + image.path() + "`");
        }
    }

    /**
     * qemu's order: bdrv_co_truncate's backing-file check (a backing file longer than the
     * image needs the new range zeroed, which the QED driver does not support), then the
     * driver's preallocation, size and shrink checks.
     */
    @Override
    public void checkRequest(ProbedImage image, QedHeader h, ResizeRequest request) throws ResizeError {
        long newSize = request.newSize();
        long oldSize = image.virtualSize();
        if (newSize != oldSize && BackingFile.longerThan(image, h.backingFile(),
                (h.features() & QedHeader.F_BACKING_FORMAT_NO_PROBE) != 0 ? "raw" : "", oldSize)) {
            // qemu would have to zero the new range so that the backing file's data does
            // not show through, and its QED driver cannot; its words, word for word.
            throw new ResizeError(ErrorCode.UNSUPPORTED_SUBFORMAT, "Block driver does not support requested flags");
        }
        if (request.preallocation() != Preallocation.OFF) {
            throw new ResizeError(ErrorCode.PREALLOCATION_UNSUPPORTED, "Unsupported preallocation mode '"
                    + request.preallocation().qemuName() + "'");
        }
        if (!QedHeader.qemuValidImageSize(newSize, h.clusterSize(), h.tableSize())) {
            throw new ResizeError(ErrorCode.INVALID_NEW_SIZE, "Invalid image size specified");
        }
        if (newSize < oldSize) {
            throw new ResizeError(ErrorCode.UNSUPPORTED_SHRINK, "Shrinking images is currently not supported");
        }
    }

    @Override
    public ResizePlan plan(ProbedImage image, QedHeader h, PlanReader reader, ResizeRequest request)
            throws ResizeError {
        long oldSize = image.virtualSize();
        long newSize = request.newSize();
        FormatOptions.Qed options = new FormatOptions.Qed(h.clusterSize(), h.tableSize());
        boolean clearMark = (h.features() & QedHeader.F_NEED_CHECK) != 0;
        if (newSize == oldSize && !clearMark) {
            return PlanBuilder.noop(ImageFormat.QED, options, request, image.path(), image.fileSize(), oldSize);
        }
        // (the same size on a marked image: qemu-img resize's read-write open still clears the mark)
        byte[] header = reader.read(0, HEADER_BYTES, "QED header");
        ByteBuffer b = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(OFF_IMAGE_SIZE, newSize);
        b.putLong(OFF_AUTOCLEAR, 0);
        if (clearMark) {
            b.putLong(OFF_FEATURES, h.features() & ~QedHeader.F_NEED_CHECK);
        }
        PlanBuilder plan = new PlanBuilder(ImageFormat.QED, options, request, image.path(), image.fileSize());
        plan.commit(new Write(0, header, "QED header: image_size " + newSize
                + (h.autoclearFeatures() != 0 ? ", autoclear_features cleared" : "")
                + (clearMark ? ", \"needs check\" cleared" : ""), RegionKind.HEADER));
        if (clearMark) {
            plan.note("the image was marked \"needs check\" (features at offset 16, bit 1); qemu's consistency check"
                    + " finds nothing to repair, so the mark is cleared, as qemu's read-write open does");
        }
        if (h.autoclearFeatures() != 0) {
            plan.note("autoclear_features (offset 32) was " + Long.toHexString(h.autoclearFeatures())
                    + "; cleared, as qemu does when it opens the image read-write");
        }
        if (newSize == oldSize) {
            plan.note("the size is unchanged");
        } else if (h.mappedEnd() > oldSize) {
            // qemu's truncate leaves L2 entries past the old end as they are: the grown range shows
            // what their clusters hold, after qemu-img resize as after this plan
            plan.note("L2 entries past the old end map data clusters (the highest ends at guest offset "
                    + h.mappedEnd() + "): where they lie in the new range, it reads as what those clusters hold,"
                    + " not zeros, as after qemu-img resize (which leaves them too); the rest reads as zeros");
        } else {
            plan.note("the new range is unallocated: it reads as zeros"
                    + (h.backingFile().isEmpty() ? "" : " (the backing file ends before it)")
                    + (h.mappedEnd() < 0 ? " unless L2 tables the probe did not read map it" : ""));
        }
        return plan.finalLength(0, image.fileSize()).build(Planners.actionFor(oldSize, newSize), oldSize, newSize);
    }
}
