package org.diskplan.planner.qcow2;

import java.util.List;
import java.util.Set;
import org.diskplan.abi.ErrorCode;
import org.diskplan.abi.ImageFormat;
import org.diskplan.planner.BackingFile;
import org.diskplan.planner.Capabilities;
import org.diskplan.planner.PlanBuilder;
import org.diskplan.planner.PlanReader;
import org.diskplan.planner.FormatOptions;
import org.diskplan.planner.FormatPlanner;
import org.diskplan.planner.Planners;
import org.diskplan.planner.ResizeError;
import org.diskplan.planner.ResizePlan;
import org.diskplan.planner.ResizeRequest;
import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.qcow2.Qcow2Header;
import org.diskplan.probe.qcow2.Qcow2OpenChecks;

/**
 * qcow2 resize as qemu-img resize does it (qcow2_co_truncate), as a crash-safe plan:
 * new structures first (unreachable), then refcount increments and the links that make
 * counted clusters reachable, then the header write (the commit), then the references
 * that go away, then the decrements, then the truncation. A crash between any two
 * patches leaves at most leaked clusters and the old or the new size.
 *
 * <p>Grow: a bigger L1 table when the new size needs one (old entries copied, switched
 * in the same header write as the size), refcount blocks and a bigger refcount table when
 * the new clusters need them; preallocation metadata/falloc/full maps the new range to
 * fresh data clusters past the end of the file (sparse, reserved or zeroed).
 * Shrink: every cluster mapped only past the new end is released (compressed entries
 * release every host cluster they touch), L2 tables wholly past the end are dropped from
 * the L1 table, a partly cut L2 table shared with a snapshot is copied first, refcount
 * blocks left empty are dropped, and the file is cut after its last cluster in use.
 */
public final class Qcow2Planner implements FormatPlanner<Qcow2Header> {
    /** The header bytes the applier re-checks before writing (the v2 header, in every version). */
    static final int HEADER_CHECKED = 72;

    @Override
    public Set<ImageFormat> formats() {
        return Set.of(ImageFormat.QCOW2);
    }

    @Override
    public Class<Qcow2Header> headerType() {
        return Qcow2Header.class;
    }

    /**
     * Every preallocation mode, shrink, sizes in whole sectors; at most what an L1 table
     * of qemu's largest size (32 MiB) maps: 128 GiB with 512-byte clusters.
     */
    @Override
    public Capabilities capabilities(ProbedImage image, Qcow2Header h) {
        return capabilities(new Qcow2Geometry(h.clusterBits(), h.refcountOrder(), h.extendedL2()));
    }

    /** As for a new image of qemu's defaults: 64 KiB clusters, 16-bit refcounts. */
    @Override
    public Capabilities typical() {
        return capabilities(new Qcow2Geometry(16, 4, false));
    }

    private static Capabilities capabilities(Qcow2Geometry g) {
        long max = Qcow2Geometry.MAX_L1_BYTES / 8 * g.l2Entries() * g.clusterSize();
        return new Capabilities(true, Capabilities.ALL_MODES, 512, false, Math.min(max, Planners.MAX_LENGTH),
                "a multiple of 512", "Failed to grow the L1 table: File too large");
    }

    @Override
    public void checkOpen(ProbedImage image, Qcow2Header h) throws ResizeError {
        long unknown = h.incompatibleFeatures() & ~Qcow2Header.KNOWN_INCOMPATIBLE;
        if (unknown != 0) {
            throw new ResizeError(ErrorCode.UNSUPPORTED_SUBFORMAT, "Could not open '" + image.path()
                    + "': Unsupported qcow2 feature(s): Unknown incompatible feature: " + Long.toHexString(unknown));
        }
        if (h.corrupt()) {
            throw new ResizeError(ErrorCode.NEEDS_REPAIR, "Could not open '" + image.path()
                    + "': qcow2: Image is corrupt; cannot be opened read/write",
                    List.of("repair it first with `qemu-img check -r all " + image.path() + "`"),
                    ResizeError.Location.of(ResizeError.Kind.CORRUPT));
        }
        // The probe flags every reason qemu would refuse to open the image read-write
        // (Qcow2OpenChecks and its extension walk), the first in qemu's order first.
        for (String flag : image.flags()) {
            if (flag.startsWith(Qcow2OpenChecks.FLAG)) {
                throw new ResizeError(ErrorCode.NEEDS_REPAIR, "Could not open '" + image.path() + "': "
                        + flag.substring(Qcow2OpenChecks.FLAG.length()));
            }
        }
        if (!h.damage().isEmpty()) { // a table past the end of the file, typed by the probe
            Qcow2Header.Damage d = h.damage().get(0);
            throw new ResizeError(ErrorCode.NEEDS_REPAIR, "'" + image.path() + "' is damaged and DiskPlan will"
                    + " not resize it: " + d.message(), new ResizeError.Location(ResizeError.Kind.CORRUPT, d.field(),
                    d.offset()));
        }
        // A dirty image is resized where qemu's check (run by its read-write open) would repair
        // nothing (Qcow2Resize.checkDirty reads the tables); DiskPlan counts the references of
        // images without snapshots, bitmaps, encryption, a data file or extended L2 entries only.
        if (h.dirty() && (h.nbSnapshots() > 0 || h.hasBitmaps() || !h.bitmaps().isEmpty() || h.cryptMethod() != 0
                || (h.incompatibleFeatures() & Qcow2Header.INCOMPAT_DATA_FILE) != 0 || h.extendedL2())) {
            throw new ResizeError(ErrorCode.NEEDS_REPAIR, "qcow2 image '" + image.path() + "' is marked dirty "
                    + "(its refcounts may be stale): repair it first with `qemu-img check -r all " + image.path()
                    + "`", ResizeError.Location.of(ResizeError.Kind.NEEDS_REPAIR));
        }
    }

    @Override
    public ResizePlan plan(ProbedImage image, Qcow2Header h, PlanReader reader, ResizeRequest request)
            throws ResizeError {
        long newSize = request.newSize();
        if (h.version() < 3 && h.nbSnapshots() > 0) {
            throw new ResizeError(ErrorCode.UNSUPPORTED_SUBFORMAT, "Can't resize a v2 image which has snapshots");
        }
        if (h.hasBitmaps() && !h.bitmaps().isEmpty()) {
            for (Qcow2Header.Bitmap b : h.bitmaps()) {
                if (b.inUse()) {
                    throw new ResizeError(ErrorCode.BITMAPS_UNSUPPORTED, "Bitmap '" + b.name()
                            + "' is inconsistent and cannot be used\n"
                            + "Try block-dirty-bitmap-remove to delete this bitmap from disk");
                }
            }
        }
        long oldSize = image.virtualSize();
        java.nio.file.Path dataFile = dataFile(image, h, request, oldSize);
        Qcow2Geometry g = new Qcow2Geometry(h.clusterBits(), h.refcountOrder(), h.extendedL2());
        FormatOptions.Qcow2 options = new FormatOptions.Qcow2((int) g.clusterSize(), 1 << g.refcountOrder(),
                g.extendedL2());
        if (newSize == oldSize) {
            return PlanBuilder.noop(ImageFormat.QCOW2, options, request, image.path(), image.fileSize(), oldSize);
        }
        boolean zeroNewRange = newSize > oldSize && BackingFile.longerThan(image, h.backingFile(), h.backingFormat(), oldSize);
        if (h.hasBitmaps() && !h.bitmaps().isEmpty() && dataFile == null && !zeroNewRange) {
            // qemu-img writes every bitmap anew when it closes the image: measure where its
            // store ends, then plan it exactly (falloc and full with qemu's refcount area at the
            // end of the file); anything the simulation cannot follow falls back
            try {
                Qcow2Resize measure = resize(image, reader, request, h, g, options, zeroNewRange, dataFile, newSize);
                measure.bitmapMode(Qcow2Resize.BitmapMode.MEASURE);
                run(measure, oldSize, newSize);
                if (measure.measuredEnd > 0) {
                    // the temporary structures go past qemu's end (and are cut off at the end of the
                    // plan); if they need a refcount block whose range starts before it (one qemu's
                    // store may need too), from the next block's range on
                    long end = (measure.measuredEnd + g.clusterSize() - 1) / g.clusterSize();
                    for (long floor : new long[] {end, (end - 1 >> g.refblockBits()) + 1 << g.refblockBits()}) {
                        Qcow2Resize exact = resize(image, reader, request, h, g, options, zeroNewRange, dataFile,
                                newSize);
                        exact.bitmapMode(Qcow2Resize.BitmapMode.EXACT);
                        exact.exactEnd = measure.measuredEnd;
                        exact.storeDigest = measure.storeDigest;
                        exact.digestLimit = measure.digestLimit;
                        exact.tempFloor = floor;
                        try {
                            return run(exact, oldSize, newSize);
                        } catch (RefcountModel.NotExact tryNext) {
                            // the next floor, then the first-fit plan
                        }
                    }
                }
            } catch (RefcountModel.NotExact | ResizeError e) {
                // the first-fit plan below (a refusal is given by it again)
            }
        }
        return run(resize(image, reader, request, h, g, options, zeroNewRange, dataFile, newSize), oldSize, newSize);
    }

    private static Qcow2Resize resize(ProbedImage image, PlanReader reader, ResizeRequest request, Qcow2Header h,
            Qcow2Geometry g, FormatOptions.Qcow2 options, boolean zeroNewRange, java.nio.file.Path dataFile,
            long newSize) throws ResizeError {
        return newSize > image.virtualSize()
                ? new Qcow2Grow(image, reader, request, h, g, options, zeroNewRange, dataFile)
                : new Qcow2Shrink(image, reader, request, h, g, options, zeroNewRange, dataFile);
    }

    private static ResizePlan run(Qcow2Resize r, long oldSize, long newSize) throws ResizeError {
        return r instanceof Qcow2Grow grow ? grow.grow(oldSize, newSize) : ((Qcow2Shrink) r).shrink(oldSize, newSize);
    }

    /**
     * The external data file of an image that has one (incompatible bit 2), or null. qemu's
     * grow lengthens it to the new virtual size with the image; DiskPlan does that for a
     * grow without preallocation, and a shrink cuts it to the new size. A raw data file
     * (autoclear bit 1), and any preallocated grow, also get the new range mapped cluster for
     * cluster (guest offset = data file offset), the data file preallocated as asked.
     */
    private static java.nio.file.Path dataFile(ProbedImage image, Qcow2Header h, ResizeRequest request,
                                               long oldSize) throws ResizeError {
        if ((h.incompatibleFeatures() & Qcow2Header.INCOMPAT_DATA_FILE) == 0) {
            return null;
        }
        String why = null;
        if (h.dataFile().isEmpty()) {
            throw new ResizeError(ErrorCode.UNSUPPORTED_SUBFORMAT, "Could not open '" + image.path()
                    + "': 'data-file' is required for this image (incompatible_features at offset 72 has the data "
                    + "file bit, and no data file name extension names it)");
        } else if (((h.autoclearFeatures() & Qcow2Header.AUTOCLEAR_DATA_FILE_RAW) != 0
                || request.preallocation() != org.diskplan.abi.Preallocation.OFF)
                && request.newSize() > oldSize && oldSize % (1L << h.clusterBits()) != 0) {
            why = "the new range of a raw data file (data-file-raw, autoclear_features at offset 88) or a "
                    + "preallocated one is mapped cluster for cluster, which DiskPlan does only from a cluster "
                    + "boundary; the old size " + oldSize + " is not a multiple of the cluster size";
        }
        if (why == null && (request.preallocation() == org.diskplan.abi.Preallocation.FALLOC
                || request.preallocation() == org.diskplan.abi.Preallocation.FULL)
                && request.newSize() % (1L << h.clusterBits()) != 0) {
            // qemu 7.2 leaves the data file sparse here, though falloc or full was asked
            why = "preallocation=" + request.preallocation().qemuName() + " of the data file to a size that is not a "
                    + "multiple of the cluster size (" + (1L << h.clusterBits()) + "): qemu-img leaves the data "
                    + "file sparse there, so DiskPlan will not guess; choose a size on a cluster boundary";
        }
        if (why != null) {
            throw new ResizeError(ErrorCode.UNSUPPORTED_SUBFORMAT, "'" + image.path() + "' keeps its data in the "
                    + "external data file '" + h.dataFile() + "': " + why + " (use qemu-img resize)");
        }
        java.nio.file.Path path = BackingFile.resolve(image, h.dataFile());
        if (!java.nio.file.Files.isRegularFile(path, java.nio.file.LinkOption.NOFOLLOW_LINKS)
                && !java.nio.file.Files.isRegularFile(path)) {
            throw new ResizeError(ErrorCode.READ_FAILED, "Could not open '" + h.dataFile() + "': the external "
                    + "data file is missing or not a regular file");
        }
        return path;
    }

    static ResizeError corrupt(String what) {
        return new ResizeError(ErrorCode.NEEDS_REPAIR, "qcow2 metadata is inconsistent: " + what
                + "; repair it first with `qemu-img check -r all`", ResizeError.Location.of(ResizeError.Kind.CORRUPT));
    }

    /** The state of one plan being built. */
}
