package org.diskplan.planner.qcow2;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.diskplan.abi.ErrorCode;
import org.diskplan.abi.ImageFormat;
import org.diskplan.abi.Preallocation;
import org.diskplan.abi.ResizeAction;
import org.diskplan.planner.Capabilities;
import org.diskplan.planner.PlanBuilder;
import org.diskplan.planner.PlanReader;
import org.diskplan.planner.FormatOptions;
import org.diskplan.planner.FormatPlanner;
import org.diskplan.planner.Planners;
import org.diskplan.planner.ResizeError;
import org.diskplan.planner.ResizePatch;
import org.diskplan.planner.ResizePatch.Write;
import org.diskplan.planner.ResizePatch.Extend;
import org.diskplan.planner.ResizePatch.ZeroFill;
import org.diskplan.planner.ResizePlan;
import org.diskplan.planner.ResizeRequest;
import org.diskplan.probe.ImageProber;
import org.diskplan.probe.ProbeException;
import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.RegionKind;
import org.diskplan.probe.qcow2.Qcow2Header;

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
                    List.of("repair it first with `qemu-img check -r all " + image.path() + "`"));
        }
        if (h.dirty()) {
            throw new ResizeError(ErrorCode.NEEDS_REPAIR, "qcow2 image '" + image.path() + "' is marked dirty "
                    + "(its refcounts may be stale): repair it first with `qemu-img check -r all " + image.path()
                    + "`");
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
            throw new ResizeError(ErrorCode.BITMAPS_UNSUPPORTED, "'" + image.path() + "' has " + h.bitmaps().size()
                    + " persistent dirty bitmap(s) (" + h.bitmaps().get(0).name() + "); qemu resizes them with the "
                    + "image, DiskPlan cannot yet: remove them (`qemu-img bitmap --remove`) or use qemu-img resize");
        }
        if ((h.incompatibleFeatures() & Qcow2Header.INCOMPAT_DATA_FILE) != 0) {
            throw new ResizeError(ErrorCode.UNSUPPORTED_SUBFORMAT, "'" + image.path() + "' keeps its data in an "
                    + "external data file; DiskPlan cannot resize such qcow2 images yet (use qemu-img resize)");
        }
        long oldSize = image.virtualSize();
        Qcow2Geometry g = new Qcow2Geometry(h.clusterBits(), h.refcountOrder(), h.extendedL2());
        FormatOptions.Qcow2 options = new FormatOptions.Qcow2((int) g.clusterSize(), 1 << g.refcountOrder(),
                g.extendedL2());
        if (newSize == oldSize) {
            return PlanBuilder.noop(ImageFormat.QCOW2, options, request, image.path(), image.fileSize(), oldSize);
        }
        boolean zeroNewRange = newSize > oldSize && backingLongerThan(image, h, oldSize);
        return new Resize(image, reader, request, h, g, options, zeroNewRange).run();
    }

    /**
     * Whether the backing file is longer than the old size: then qemu (bdrv_co_truncate)
     * zeroes the new range, so that the backing file's data does not show through.
     */
    private static boolean backingLongerThan(ProbedImage image, Qcow2Header h, long oldSize) throws ResizeError {
        if (h.backingFile().isEmpty()) {
            return false;
        }
        Path backing = image.path().toAbsolutePath().resolveSibling(h.backingFile());
        if (Path.of(h.backingFile()).isAbsolute()) {
            backing = Path.of(h.backingFile());
        }
        long backingSize;
        try {
            backingSize = ImageProber.probe(backing, h.backingFormat().isEmpty() ? Optional.empty()
                    : Optional.of(h.backingFormat())).virtualSize();
        } catch (ProbeException e) {
            throw new ResizeError(ErrorCode.READ_FAILED, "Could not open backing file '" + h.backingFile() + "': "
                    + e.getMessage());
        }
        return backingSize > oldSize;
    }

    static ResizeError corrupt(String what) {
        return new ResizeError(ErrorCode.NEEDS_REPAIR, "qcow2 metadata is inconsistent: " + what
                + "; repair it first with `qemu-img check -r all`");
    }

    /** The state of one plan being built. */
    private static final class Resize {
        final ProbedImage image;
        final PlanReader reader;
        final ResizeRequest request;
        final Qcow2Header h;
        final Qcow2Geometry g;
        final FormatOptions.Qcow2 options;
        final long cs;
        final long fileSize;
        final RefcountModel model;
        final byte[] header;
        final PlanBuilder plan;
        /** The end of the last new structure written (0 when there is none). */
        long freshEnd;
        /** The new guest range must read as zeros over a longer backing file: zero-flag entries. */
        final boolean zeroNewRange;

        // Phases, in order.
        final List<ResizePatch> fresh = new ArrayList<>();
        final List<ResizePatch> references = new ArrayList<>();
        final List<ResizePatch> removals = new ArrayList<>();
        /** Clusters to decrement after the removals: {first, last} host cluster ranges. */
        final List<long[]> decrements = new ArrayList<>();

        Resize(ProbedImage image, PlanReader reader, ResizeRequest request, Qcow2Header h, Qcow2Geometry g,
               FormatOptions.Qcow2 options, boolean zeroNewRange) throws ResizeError {
            this.zeroNewRange = zeroNewRange;
            this.image = image;
            this.reader = reader;
            this.request = request;
            this.h = h;
            this.g = g;
            this.options = options;
            this.cs = g.clusterSize();
            this.fileSize = reader.size();
            this.header = reader.read(0, HEADER_CHECKED, "qcow2 header");
            this.plan = new PlanBuilder(ImageFormat.QCOW2, options, request, image.path(), fileSize);
            this.model = RefcountModel.load(g, reader, h.refcountTableOffset(), h.refcountTableClusters());
        }

        ResizePlan run() throws ResizeError {
            long oldSize = image.virtualSize();
            long newSize = request.newSize();
            return newSize > oldSize ? grow(oldSize, newSize) : shrink(oldSize, newSize);
        }

        long[] readL1() throws ResizeError {
            long n = h.l1Size();
            if (n == 0) {
                return new long[0];
            }
            if (n * 8 > Qcow2Geometry.MAX_L1_BYTES || (h.l1TableOffset() & (cs - 1)) != 0) {
                throw corrupt("the L1 table (" + n + " entries at " + h.l1TableOffset()
                        + ") is too large or unaligned");
            }
            byte[] raw = reader.read(h.l1TableOffset(), (int) (n * 8), "L1 table");
            long[] l1 = new long[(int) n];
            ByteBuffer.wrap(raw).asLongBuffer().get(l1);
            for (int i = 0; i < l1.length; i++) {
                long off = l1[i] & Qcow2Header.L1E_OFFSET_MASK;
                if (off != 0 && ((off & (cs - 1)) != 0 || off > fileSize - cs)) {
                    throw corrupt("L1 entry " + i + " (" + Long.toHexString(l1[i]) + ") is unaligned or points past "
                            + "the end of the file");
                }
            }
            return l1;
        }

        byte[] readL2(long offset) throws ResizeError {
            return reader.read(offset, (int) cs, "L2 table");
        }

        // ---------------------------------------------------------------- grow

        ResizePlan grow(long oldSize, long newSize) throws ResizeError {
            long newL1 = g.l1EntriesFor(newSize);
            if (newL1 > Integer.MAX_VALUE / 8 || newL1 * 8 > Qcow2Geometry.MAX_L1_BYTES) {
                throw new ResizeError(ErrorCode.INVALID_NEW_SIZE, "Failed to grow the L1 table: File too large");
            }
            Preallocation mode = request.preallocation();
            boolean l1Grows = newL1 > h.l1Size();
            boolean mapNewRange = mode != Preallocation.OFF || zeroNewRange;
            if (zeroNewRange && h.version() < 3) {
                throw new ResizeError(ErrorCode.UNSUPPORTED_SUBFORMAT,
                        "Failed to zero out new clusters: Operation not supported");
            }
            long[] l1 = l1Grows || mapNewRange ? readL1() : new long[0];
            long newL1Offset = h.l1TableOffset();
            long[] newL1Entries = l1;
            long l1Clusters = g.clustersFor(newL1 * 8);
            if (l1Grows) {
                newL1Offset = model.allocate(l1Clusters, false);
                newL1Entries = java.util.Arrays.copyOf(l1, (int) newL1);
            }
            // With preallocation, switch to the bigger L1 table first, in a header write of its
            // own that leaves the size alone (as qemu's qcow2_grow_l1_table does before it
            // preallocates), so the old table's clusters are free again for the new L2 tables.
            // With the refcount table too: grown first to what the whole resize will need (as
            // qemu's qcow2_refcount_area sizes it before preallocating), its old clusters free too.
            long tableClusters = h.refcountTableClusters();
            boolean staged = l1Grows && mapNewRange;
            long l1LinkBase = h.l1TableOffset();
            if (staged) {
                fresh.add(new Write(newL1Offset, entriesBytes(newL1Entries, newL1 * 8), "new L1 table ("
                        + h.l1Size() + " entries copied, " + (newL1 - h.l1Size()) + " added)", RegionKind.TABLE));
                long blocksNeeded = blocksNeededAfter(oldSize, newSize);
                boolean preGrow = model.tableTooSmall() || blocksNeeded > model.tableEntries();
                long preTableOffset = 0;
                long preTableClusters = 0;
                if (preGrow) {
                    preTableClusters = tableClustersFor((int) Math.max(model.highestBlock(), blocksNeeded - 1));
                    preTableOffset = model.allocate(preTableClusters, false);
                    checkTable(preTableClusters);
                }
                fresh.addAll(model.newBlockWrites());
                if (preGrow) {
                    fresh.add(new Write(preTableOffset, model.tableBytes(preTableClusters), "new refcount table ("
                            + preTableClusters + " clusters)", RegionKind.REFCOUNT));
                }
                emitFresh();
                fresh.clear();
                emitPhase(model.dirtyWrites("refcount increments for the new L1 table"));
                if (!preGrow) {
                    emitPhase(tableLinks());
                }
                model.markNewBlocksWritten();
                ByteBuffer l1h = ByteBuffer.allocate(preGrow ? 24 : 12).putInt((int) newL1).putLong(newL1Offset);
                if (preGrow) {
                    l1h.putLong(preTableOffset).putInt((int) preTableClusters);
                }
                emitPhase(List.of(new Write(Qcow2Header.OFF_L1_SIZE, l1h.array(),
                        "qcow2 header: l1_size, l1_table_offset"
                        + (preGrow ? ", refcount_table_offset, refcount_table_clusters" : "")
                        + " (the bigger tables; the size is unchanged)", RegionKind.HEADER)));
                if (h.l1Size() > 0) {
                    for (long c = h.l1TableOffset() / cs; c <= (h.l1TableOffset() + h.l1Size() * 8 - 1) / cs; c++) {
                        model.add(c, -1);
                    }
                }
                if (preGrow) {
                    for (long c = model.tableOffset() / cs; c < model.tableOffset() / cs + tableClusters; c++) {
                        model.add(c, -1);
                    }
                    model.switchTable(preTableOffset, (int) (preTableClusters * cs / 8));
                    tableClusters = preTableClusters;
                }
                emitPhase(model.dirtyWrites("refcount decrements for the old tables"));
                l1LinkBase = newL1Offset;
            }
            List<Write> l2Links = new ArrayList<>();
            long[] l1Before = newL1Entries.clone();
            if (mapNewRange) {
                mapNewRange(oldSize, newSize, newL1Entries, l2Links);
            }
            boolean tableGrows = false;
            long newTableOffset = h.refcountTableOffset();
            long newTableClusters = h.refcountTableClusters();
            if (model.tableTooSmall()) {
                tableGrows = true;
                newTableClusters = tableClustersFor(model.highestBlock());
                newTableOffset = model.allocate(newTableClusters, false);
                checkTable(newTableClusters);
            }
            if (l1Grows && !staged) {
                // qemu writes exactly l1_size entries, not the whole clusters
                fresh.add(new Write(newL1Offset, entriesBytes(newL1Entries, newL1 * 8), "new L1 table ("
                        + h.l1Size() + " entries copied, " + (newL1 - h.l1Size()) + " added)", RegionKind.TABLE));
            } else {
                addL1Links(l1Before, newL1Entries, l1LinkBase);
            }
            references.addAll(l2Links);
            fresh.addAll(model.newBlockWrites());
            if (tableGrows) {
                fresh.add(new Write(newTableOffset, model.tableBytes(newTableClusters), "new refcount table ("
                        + newTableClusters + " clusters)", RegionKind.REFCOUNT));
            }
            emitFresh();
            emitPhase(model.dirtyWrites("refcount increments for the new clusters"));
            if (!tableGrows) {
                emitPhase(tableLinks());
            } else {
                // The bigger refcount table goes live before any new reference does (preallocated
                // L2 tables are linked before the commit): its own header write, size unchanged.
                ByteBuffer rt = ByteBuffer.allocate(12).putLong(newTableOffset).putInt((int) newTableClusters);
                emitPhase(List.of(new Write(Qcow2Header.OFF_REFCOUNT_TABLE_OFFSET, rt.array(),
                        "qcow2 header: refcount_table_offset, "
                        + "refcount_table_clusters (the bigger refcount table; the size is unchanged)",
                        RegionKind.HEADER)));
            }
            emitPhase(references);
            // the commit: size, and the L1 and refcount table switches, in one header write
            boolean l1InCommit = l1Grows && !staged;
            int end = l1InCommit ? Qcow2Header.OFF_L1_TABLE_OFFSET + 8 : Qcow2Header.OFF_SIZE + 8;
            ByteBuffer hb = ByteBuffer.wrap(header.clone());
            hb.putLong(Qcow2Header.OFF_SIZE, newSize);
            if (l1Grows) {
                hb.putInt(Qcow2Header.OFF_L1_SIZE, (int) newL1);
                hb.putLong(Qcow2Header.OFF_L1_TABLE_OFFSET, newL1Offset);
            }
            int commit = plan.commit(new Write(Qcow2Header.OFF_SIZE,
                    java.util.Arrays.copyOfRange(hb.array(), Qcow2Header.OFF_SIZE, end),
                    "qcow2 header: size" + (l1InCommit ? ", l1_size, l1_table_offset" : "") + " (commit)",
                    RegionKind.HEADER));
            if (l1InCommit && h.l1Size() > 0) {
                decrements.add(new long[] {h.l1TableOffset() / cs,
                        (h.l1TableOffset() + h.l1Size() * 8 - 1) / cs});
            }
            if (tableGrows) {
                decrements.add(new long[] {model.tableOffset() / cs, model.tableOffset() / cs + tableClusters - 1});
            }
            applyDecrements();
            emitPhase(model.dirtyWrites("refcount decrements for the old tables"));
            long newFileSize = Math.max(fileSize, freshEnd);
            return finish(ResizeAction.GROW, oldSize, newSize, newFileSize, commit);
        }

        void checkTable(long clusters) throws ResizeError {
            if (clusters * cs > Qcow2Geometry.MAX_REFTABLE_BYTES) {
                throw new ResizeError(ErrorCode.INVALID_NEW_SIZE, "Failed to grow the refcount table: File too large");
            }
            if (model.highestBlock() >= clusters * cs / 8) {
                throw new ResizeError(ErrorCode.SCRATCH_TOO_SMALL, "the new refcount table does not cover "
                        + "the refcount blocks it needs; refusing");
            }
        }

        /**
         * Refcount blocks the image will need once the new range is mapped: everything allocated
         * so far, the data clusters and L2 tables of the new range, and the blocks themselves.
         */
        long blocksNeededAfter(long oldSize, long newSize) {
            long guest = g.clustersFor(newSize) - oldSize / cs;
            long clusters = Math.max(model.allocatedEndOffset(), fileSize) / cs + 1
                    + (request.preallocation() != Preallocation.OFF ? guest : 0) + guest / g.l2Entries() + 2;
            clusters += clusters / g.refblockEntries() + 2;
            return g.refblocksFor(clusters);
        }

        long tableClustersFor(int highestBlock) {
            long entries = highestBlock + 1L;
            long tc = g.clustersFor(entries * 8);
            // the table's own clusters and the blocks that count them need entries too
            long extra = tc / g.refblockEntries() + 3;
            return g.clustersFor((entries + extra) * 8);
        }

        void addL1Links(long[] before, long[] after, long tableOffset) {
            int lo = -1;
            int hi = -1;
            for (int i = 0; i < after.length; i++) {
                if (i >= before.length || before[i] != after[i]) {
                    lo = lo < 0 ? i : lo;
                    hi = i;
                }
            }
            if (lo >= 0) {
                references.add(new Write(tableOffset + lo * 8L, entriesBytes(
                        java.util.Arrays.copyOfRange(after, lo, hi + 1), (hi - lo + 1) * 8L),
                        "L1 entries " + lo + ".." + hi + ": new L2 tables", RegionKind.TABLE));
            }
        }

        /**
         * Fills the L2 entries of the new guest range, with new L2 tables where none exist:
         * with preallocation, new data clusters past the end of the file, as qemu's
         * preallocation does (entries carry the COPIED flag; with extended L2 the subcluster
         * bitmap stays 0, as qemu leaves it); over a longer backing file, the zero flag (the
         * zero bits of the subcluster bitmap with extended L2), as qcow2_subcluster_zeroize sets it.
         */
        void mapNewRange(long oldSize, long newSize, long[] l1, List<Write> l2Links) throws ResizeError {
            Preallocation mode = request.preallocation();
            boolean data = mode != Preallocation.OFF;
            // Over a longer backing file qemu hides it: metadata and no preallocation set the zero
            // flag (extended L2: all zero bits); falloc and full write real zeros and, with
            // extended L2, mark every subcluster allocated.
            boolean written = mode == Preallocation.FALLOC || mode == Preallocation.FULL;
            long zeroBits = !zeroNewRange ? 0 : g.extendedL2() ? (written ? 0xffffffffL : 0xffffffff00000000L)
                    : written ? 0 : 1L;
            long firstCluster = oldSize / cs;
            long endCluster = g.clustersFor(newSize);
            long e = g.l2Entries();
            int es = g.l2EntrySize();
            if (oldSize % cs != 0) {
                throw new ResizeError(data ? ErrorCode.PREALLOCATION_UNSUPPORTED : ErrorCode.UNSUPPORTED_SUBFORMAT,
                        "DiskPlan maps a new range (" + (data ? "preallocation" : "zero clusters over a longer "
                        + "backing file") + ") only from a cluster boundary; the old size " + oldSize
                        + " is not a multiple of " + cs + "; use qemu-img resize");
            }
            long dataClusters = data ? endCluster - firstCluster : 0;
            // L2 tables first (existing ones are filled in place), then the data area.
            List<long[]> tables = new ArrayList<>();
            List<byte[]> contents = new ArrayList<>();
            List<Boolean> isNewTable = new ArrayList<>();
            for (long i = firstCluster / e; i <= (endCluster - 1) / e; i++) {
                long entry = l1[(int) i];
                long off = entry & Qcow2Header.L1E_OFFSET_MASK;
                if (off != 0) {
                    if ((entry & Qcow2Header.OFLAG_COPIED) == 0) {
                        throw new ResizeError(ErrorCode.PREALLOCATION_UNSUPPORTED, "the L2 table for the new range "
                                + "is shared with a snapshot; DiskPlan does not preallocate into it yet");
                    }
                    tables.add(new long[] {i, off});
                    contents.add(readL2(off));
                    isNewTable.add(false);
                } else {
                    long at = model.allocate(1, false);
                    l1[(int) i] = at | Qcow2Header.OFLAG_COPIED;
                    tables.add(new long[] {i, at});
                    contents.add(new byte[(int) cs]);
                    isNewTable.add(true);
                }
            }
            long dataOffset = dataClusters > 0 ? model.allocate(dataClusters, true) : 0;
            long host = dataOffset;
            for (int t = 0; t < tables.size(); t++) {
                long i = tables.get(t)[0];
                ByteBuffer l2 = ByteBuffer.wrap(contents.get(t));
                long from = Math.max(firstCluster, i * e);
                long to = Math.min(endCluster, (i + 1) * e);
                for (long gc = from; gc < to; gc++) {
                    int at = (int) ((gc - i * e) * es);
                    if (l2.getLong(at) != 0 || (es == 16 && l2.getLong(at + 8) != 0)) {
                        throw corrupt("guest cluster " + gc + " past the old end is already mapped");
                    }
                    if (data) {
                        l2.putLong(at, host | Qcow2Header.OFLAG_COPIED | (es == 8 ? zeroBits : 0));
                        host += cs;
                    } else if (es == 8) {
                        l2.putLong(at, zeroBits);
                    }
                    if (es == 16) {
                        l2.putLong(at + 8, zeroBits);
                    }
                }
                long off = tables.get(t)[1];
                if (isNewTable.get(t)) {
                    fresh.add(new Write(off, contents.get(t), "new L2 table " + i
                            + (data ? " (preallocation)" : " (zero clusters)"), RegionKind.TABLE));
                } else {
                    int lo = (int) ((from - i * e) * es);
                    int hi = (int) ((to - i * e) * es);
                    l2Links.add(new Write(off + lo, java.util.Arrays.copyOfRange(contents.get(t), lo, hi),
                            "L2 table " + i + (data ? ": map the new clusters (preallocation)"
                                    : ": zero clusters for the new range"), RegionKind.TABLE));
                }
            }
            long length = dataClusters * cs;
            if (length > 0) {
                String label = "data clusters for the new range (preallocation=" + mode.qemuName() + ")";
                fresh.add(mode == Preallocation.OFF || mode == Preallocation.METADATA
                        ? new Extend(dataOffset, length, label, RegionKind.DATA)
                        : new ZeroFill(dataOffset, length, mode == Preallocation.FALLOC, label, RegionKind.DATA));
            }
        }

        // -------------------------------------------------------------- shrink

        ResizePlan shrink(long oldSize, long newSize) throws ResizeError {
            long e = g.l2Entries();
            int es = g.l2EntrySize();
            long cutCluster = g.clustersFor(newSize);
            long newL1 = g.l1EntriesFor(newSize);
            long[] l1 = readL1();
            long firstTable = cutCluster / e;
            // At most one L2 table is cut part-way: the one holding the first cluster past the end.
            // If a snapshot shares it, it is copied first (the only allocation of a shrink).
            int partial = -1;
            byte[] partialTable = null;
            int partialFirst = 0;
            long partialCopy = 0;
            if (firstTable < newL1 && firstTable < l1.length && firstTable * e < cutCluster
                    && (l1[(int) firstTable] & Qcow2Header.L1E_OFFSET_MASK) != 0) {
                partial = (int) firstTable;
                partialTable = readL2(l1[partial] & Qcow2Header.L1E_OFFSET_MASK);
                partialFirst = (int) (cutCluster - firstTable * e);
                if ((l1[partial] & Qcow2Header.OFLAG_COPIED) == 0
                        && !isZero(partialTable, partialFirst * es, partialTable.length)) {
                    partialCopy = model.allocate(1, false);
                }
            }
            boolean tableGrows = model.tableTooSmall();
            long newTableOffset = h.refcountTableOffset();
            long newTableClusters = h.refcountTableClusters();
            if (tableGrows) {
                newTableClusters = tableClustersFor(model.highestBlock());
                newTableOffset = model.allocate(newTableClusters, false);
            }
            fresh.addAll(model.newBlockWrites());
            if (tableGrows) {
                fresh.add(new Write(newTableOffset, model.tableBytes(newTableClusters), "new refcount table",
                        RegionKind.REFCOUNT));
            }
            if (partialCopy != 0) {
                byte[] content = partialTable.clone();
                java.util.Arrays.fill(content, partialFirst * es, content.length, (byte) 0);
                fresh.add(new Write(partialCopy, content, "copy of L2 table " + partial + " (shared with a snapshot) "
                        + "without the entries past the new end", RegionKind.TABLE));
            }
            List<Write> increments = model.dirtyWrites("refcount increments for the L2 table copy");
            List<ResizePatch> links = tableGrows ? List.of() : tableLinks();

            // Everything below only goes away, after the commit: decrement as we read.
            if (partial >= 0 && !isZero(partialTable, partialFirst * es, partialTable.length)) {
                long off = l1[partial] & Qcow2Header.L1E_OFFSET_MASK;
                releaseEntries(partialTable, partialFirst, partial);
                if (partialCopy == 0) {
                    removals.add(new Write(off + (long) partialFirst * es, new byte[(int) ((e - partialFirst) * es)],
                            "L2 table " + partial + ": clear the entries past the new end", RegionKind.TABLE));
                } else {
                    removals.add(new Write(h.l1TableOffset() + partial * 8L,
                            ByteBuffer.allocate(8).putLong(partialCopy | Qcow2Header.OFLAG_COPIED).array(),
                            "L1 entry " + partial + ": the copied L2 table", RegionKind.TABLE));
                    model.add(off / cs, -1);
                }
            }
            // L2 tables wholly past the end, read in offset order: every cluster they map and
            // the table itself lose the active image's reference.
            long from = partial >= 0 ? partial + 1 : firstTable;
            int count = 0;
            long[] sorted = new long[(int) Math.max(0, l1.length - from)];
            for (long i = from; i < l1.length; i++) {
                long off = l1[(int) i] & Qcow2Header.L1E_OFFSET_MASK;
                if (off != 0) {
                    sorted[count++] = (off >>> g.clusterBits() << 23) | i; // L1 index < 2^22
                }
            }
            java.util.Arrays.sort(sorted, 0, count);
            for (int k = 0; k < count; k++) {
                long off = (sorted[k] >>> 23) << g.clusterBits();
                int i = (int) (sorted[k] & ((1 << 23) - 1));
                releaseEntries(readL2(off), 0, i);
                model.add(off / cs, -1);
            }
            int lo = -1;
            int hi = -1;
            for (int i = (int) from; i < l1.length; i++) {
                if (l1[i] != 0) {
                    lo = lo < 0 ? i : lo;
                    hi = i;
                }
            }
            if (lo >= 0) {
                removals.add(new Write(h.l1TableOffset() + lo * 8L, new byte[(hi - lo + 1) * 8],
                        "L1 entries " + lo + ".." + hi + ": drop the L2 tables past the new end", RegionKind.TABLE));
            }
            if (tableGrows) {
                for (long c = h.refcountTableOffset() / cs; c < h.refcountTableOffset() / cs
                        + h.refcountTableClusters(); c++) {
                    model.add(c, -1);
                }
            }

            emitFresh();
            emitPhase(increments);
            emitPhase(links);
            ByteBuffer hb = ByteBuffer.wrap(header.clone());
            hb.putLong(Qcow2Header.OFF_SIZE, newSize);
            int end = Qcow2Header.OFF_SIZE + 8;
            if (tableGrows) {
                hb.putLong(Qcow2Header.OFF_REFCOUNT_TABLE_OFFSET, newTableOffset);
                hb.putInt(Qcow2Header.OFF_REFCOUNT_TABLE_CLUSTERS, (int) newTableClusters);
                end = Qcow2Header.OFF_REFCOUNT_TABLE_CLUSTERS + 4;
            }
            int commit = plan.commit(new Write(Qcow2Header.OFF_SIZE,
                    java.util.Arrays.copyOfRange(hb.array(), Qcow2Header.OFF_SIZE, end),
                    "qcow2 header: size" + (tableGrows ? ", refcount_table_offset, refcount_table_clusters" : "")
                            + " (commit)", RegionKind.HEADER));
            emitPhase(removals);
            emitPhase(model.dirtyWrites("refcount decrements for the released clusters"));
            if (!tableGrows) {
                shrinkRefcountTable();
            }
            long last = model.lastUsedCluster();
            long newFileSize = last < 0 ? fileSize : Math.min(fileSize, (last + 1) * cs);
            newFileSize = Math.max(newFileSize, freshEnd);
            return finish(ResizeAction.SHRINK, oldSize, newSize, newFileSize, commit);
        }

        static boolean isZero(byte[] b, int from, int to) {
            for (int i = from; i < to; i++) {
                if (b[i] != 0) {
                    return false;
                }
            }
            return true;
        }

        /** Decrements every host cluster the entries {@code first..} of an L2 table hold. */
        void releaseEntries(byte[] l2, int first, int table) throws ResizeError {
            int es = g.l2EntrySize();
            long fileClusters = g.clustersFor(fileSize);
            for (int j = first, at = first * es; at < l2.length; j++, at += es) {
                long entry = getLong(l2, at);
                if (entry == 0) {
                    continue;
                }
                if ((entry & Qcow2Header.OFLAG_COMPRESSED) != 0) {
                    long firstHost = g.compressedFirstCluster(entry);
                    long lastHost = g.compressedLastCluster(entry);
                    if (lastHost >= fileClusters || firstHost == 0) {
                        throw corrupt("compressed L2 entry " + table + "/" + j + " points outside the file");
                    }
                    for (long c = firstHost; c <= lastHost; c++) {
                        model.add(c, -1);
                    }
                    continue;
                }
                long off = entry & Qcow2Header.L2E_OFFSET_MASK;
                if (off == 0) {
                    continue; // a zero cluster without a host cluster: nothing to release
                }
                if ((off & (cs - 1)) != 0 || off > fileSize - 1) {
                    throw corrupt("L2 entry " + table + "/" + j + " (" + Long.toHexString(entry)
                            + ") is unaligned or points past the end of the file");
                }
                model.add(off >>> g.clusterBits(), -1);
            }
        }

        static long getLong(byte[] b, int at) {
            return ((long) (b[at] & 0xff) << 56) | ((long) (b[at + 1] & 0xff) << 48) | ((long) (b[at + 2] & 0xff) << 40)
                    | ((long) (b[at + 3] & 0xff) << 32) | ((long) (b[at + 4] & 0xff) << 24) | ((b[at + 5] & 0xff) << 16)
                    | ((b[at + 6] & 0xff) << 8) | (b[at + 7] & 0xff);
        }

        void applyDecrements() throws ResizeError {
            for (long[] r : decrements) {
                for (long c = r[0]; c <= r[1]; c++) {
                    model.add(c, -1);
                }
            }
            decrements.clear();
        }

        /**
         * qcow2_shrink_reftable: refcount blocks that now count nothing but themselves
         * leave the table, and the block counting each one drops it.
         */
        void shrinkRefcountTable() throws ResizeError {
            List<Integer> unused = new ArrayList<>();
            for (int b = 0; b < model.tableEntries(); b++) {
                if (model.existingBlock(b) && model.unusedBlock(b)) {
                    unused.add(b);
                }
            }
            if (unused.isEmpty()) {
                return;
            }
            List<ResizePatch> clears = new ArrayList<>();
            for (int b : unused) {
                clears.add(new Write(model.tableOffset() + b * 8L, new byte[8], "refcount table entry " + b
                        + ": drop the empty refcount block", RegionKind.REFCOUNT));
            }
            emitPhase(clears);
            List<Long> selves = new ArrayList<>();
            for (int b : unused) {
                selves.add(model.blockOffset(b) / cs);
                model.drop(b);
            }
            for (long self : selves) {
                if (model.existingBlock((int) (self >>> g.refblockBits()))) {
                    model.add(self, -1);
                }
            }
            emitPhase(model.dirtyWrites("refcount decrements for the dropped refcount blocks"));
        }

        // ------------------------------------------------------------- patches

        List<ResizePatch> tableLinks() {
            List<ResizePatch> out = new ArrayList<>();
            for (long[] link : model.newBlockLinks()) {
                out.add(new Write(model.tableOffset() + link[0] * 8, ByteBuffer.allocate(8).putLong(link[1]).array(),
                        "refcount table entry " + link[0] + ": new refcount block", RegionKind.REFCOUNT));
            }
            return out;
        }

        /** The new structures, in offset order, with sparse extensions over any gap. */
        void emitFresh() {
            for (ResizePatch p : fresh) {
                freshEnd = Math.max(freshEnd, p.end());
            }
            plan.freshPhase(fresh);
        }

        void emitPhase(List<? extends ResizePatch> phase) {
            plan.phase(phase);
        }


        ResizePlan finish(ResizeAction action, long oldSize, long newSize, long newFileSize, int commit)
                throws ResizeError {
            if (action == ResizeAction.SHRINK && newFileSize < fileSize) {
                plan.note("the file is cut after its last cluster in use, at " + newFileSize + " bytes");
            }
            return plan.finalLength(0, newFileSize).build(action, oldSize, newSize);
        }

        static byte[] entriesBytes(long[] entries, long length) {
            ByteBuffer b = ByteBuffer.allocate((int) length);
            for (int i = 0; i < entries.length; i++) {
                b.putLong(i * 8, entries[i]);
            }
            return b.array();
        }
    }
}
