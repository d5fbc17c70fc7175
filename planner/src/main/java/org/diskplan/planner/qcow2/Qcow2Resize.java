package org.diskplan.planner.qcow2;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.diskplan.abi.ErrorCode;
import org.diskplan.abi.ImageFormat;
import org.diskplan.abi.ResizeAction;
import org.diskplan.planner.FormatOptions;
import org.diskplan.planner.PlanBuilder;
import org.diskplan.planner.PlanReader;
import org.diskplan.planner.ResizeError;
import org.diskplan.planner.ResizePatch;
import org.diskplan.planner.ResizePatch.Write;
import org.diskplan.planner.ResizePlan;
import org.diskplan.planner.ResizeRequest;
import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.RegionKind;
import org.diskplan.probe.qcow2.Qcow2Header;
import org.diskplan.probe.qcow2.Qcow2Layout;

// No lambdas or streams here: this class runs on the command line's start-up path (see ReadWatch / issue 20).
/**
 * One qcow2 plan being built: the image, its tables as read, the refcount model, the
 * plan's phases, and what grow and shrink share (reading the L1 and L2 tables, the
 * refcount table's links and size, the phases, the result). {@link Qcow2Grow} and
 * {@link Qcow2Shrink} add the two directions.
 */
abstract class Qcow2Resize {
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
    /** Clusters to decrement after the removals. */
    final List<ClusterRange> decrements = new ArrayList<>();

    /**
     * The external data file (null: none). Its clusters sit at the guest offsets and are
     * not counted by the image's refcounts: a grow lengthens it before the commit, a shrink
     * cuts it to the new size after.
     */
    final java.nio.file.Path dataFile;
    /**
     * A raw data file (data-file-raw): qemu maps its new range cluster for cluster onto the
     * same offsets of the data file, as its creation does.
     */
    final boolean rawDataFile;

    /** The data file's length now, as a file of the plan. */
    long dataFileLength() throws ResizeError {
        try {
            return java.nio.file.Files.size(dataFile);
        } catch (java.io.IOException e) {
            throw new ResizeError(ErrorCode.READ_FAILED, "Could not open '" + dataFile + "': " + e.getMessage());
        }
    }

    /** Host clusters {@code first..last}, both included. */
    record ClusterRange(long first, long last) {
    }

    Qcow2Resize(ProbedImage image, PlanReader reader, ResizeRequest request, Qcow2Header h, Qcow2Geometry g,
           FormatOptions.Qcow2 options, boolean zeroNewRange, java.nio.file.Path dataFile) throws ResizeError {
        this.zeroNewRange = zeroNewRange;
        this.dataFile = dataFile;
        this.rawDataFile = dataFile != null && (h.autoclearFeatures() & Qcow2Header.AUTOCLEAR_DATA_FILE_RAW) != 0;
        this.image = image;
        this.reader = reader;
        this.request = request;
        this.h = h;
        this.g = g;
        this.options = options;
        this.cs = g.clusterSize();
        this.fileSize = reader.size();
        this.header = reader.read(0, Qcow2Planner.HEADER_CHECKED, "qcow2 header");
        this.plan = new PlanBuilder(ImageFormat.QCOW2, options, request, image.path(), fileSize);
        this.model = RefcountModel.load(g, reader, h.refcountTableOffset(), h.refcountTableClusters());
        protectMetadata();
        this.clearDirty = h.dirty();
        if (clearDirty) {
            checkDirty();
        }
    }

    /**
     * The image is marked dirty (incompatible bit 0) and qemu's check, which its read-write
     * open runs with repairs, would find nothing: the commit also clears the bit, as qemu's
     * open does (qcow2_mark_clean).
     */
    final boolean clearDirty;

    /**
     * A dirty image: qemu's read-write open runs its check with repairs (refcounts rebuilt
     * where they differ from what the tables use, leaks freed, copied flags set right), then
     * clears the bit. DiskPlan resizes it only where that check would change nothing but the
     * bit: every cluster the header, refcount table and blocks, L1 and L2 tables and guest
     * data use is used once and has refcount 1, every other cluster refcount 0, every L1 and
     * L2 entry has the copied flag and no other flag but zero. {@link Qcow2Planner#checkOpen}
     * leaves only images without snapshots, bitmaps, encryption, a data file, extended L2
     * entries; compressed clusters are refused here.
     */
    private void checkDirty() throws ResizeError {
        byte[] incompat = reader.read(Qcow2Layout.OFF_INCOMPATIBLE, 8, "incompatible_features");
        String why = ByteBuffer.wrap(incompat).getLong() != h.incompatibleFeatures() ? "the header changed"
                : dirtyRepair();
        if (!why.isEmpty()) {
            throw new ResizeError(ErrorCode.NEEDS_REPAIR, "qcow2 image '" + image.path() + "' is marked dirty and "
                    + "qemu's check would repair it (" + why + "): repair it first with `qemu-img check -r all "
                    + image.path() + "`", ResizeError.Location.of(ResizeError.Kind.NEEDS_REPAIR));
        }
        plan.note("the image was marked dirty (incompatible_features at offset 72, bit 0); its refcounts are what "
                + "its tables use, so qemu's check repairs nothing: the commit clears the bit, as qemu's open does");
    }

    /** What qemu's check of a dirty image would repair, empty when nothing. */
    private String dirtyRepair() throws ResizeError {
        long fileClusters = (fileSize + cs - 1) / cs;
        long last = Math.max(model.lastUsedCluster(), fileClusters - 1);
        if (last >= 1L << 28) { // a 32 MiB bitmap: 16 TiB of 64 KiB clusters
            return "more clusters than DiskPlan checks";
        }
        ClusterUse use = new ClusterUse(last);
        java.util.BitSet used = use.used;
        List<String> twice = use.twice;
        use.accept(0L, "the header");
        long rtClusters = h.refcountTableClusters();
        for (long c = 0; c < rtClusters; c++) {
            use.accept(model.tableOffset() / cs + c, "the refcount table");
        }
        for (int b = 0; b < model.tableEntries(); b++) {
            if (model.existingBlock(b)) {
                use.accept(model.blockOffset(b) / cs, "refcount block " + b);
            }
        }
        if (h.l1Size() > 0) {
            for (long c = h.l1TableOffset() / cs; c <= (h.l1TableOffset() + h.l1Size() * 8 - 1) / cs; c++) {
                use.accept(c, "the L1 table");
            }
        }
        long[] l1 = readL1();
        long budget = DATA_CHECK_BUDGET;
        int es = g.l2EntrySize();
        for (int i = 0; i < l1.length && twice.isEmpty(); i++) {
            long l2 = l1[i] & Qcow2Header.L1E_OFFSET_MASK;
            if (l1[i] == 0) {
                continue;
            }
            if (l1[i] != (l2 | Qcow2Header.OFLAG_COPIED)) {
                return "L1 entry " + i + " (" + Long.toHexString(l1[i]) + ") lacks the copied flag or has other flags";
            }
            use.accept(l2 / cs, "the L2 table of L1 entry " + i);
            if ((budget -= cs) < 0) {
                return "L2 tables past " + (DATA_CHECK_BUDGET >> 20) + " MiB are not checked";
            }
            ByteBuffer t = ByteBuffer.wrap(reader.read(l2, (int) cs, "L2 table"));
            for (int j = 0; j + es <= cs; j += es) {
                long e = t.getLong(j);
                long host = e & Qcow2Header.L2E_OFFSET_MASK;
                if (e == 0 || e == 1) { // unallocated, or zero without a cluster
                    continue;
                }
                if ((e & Qcow2Header.OFLAG_COMPRESSED) != 0) {
                    return "compressed clusters, which DiskPlan does not count";
                }
                if (host == 0 || (e & ~(Qcow2Header.L2E_OFFSET_MASK | 1L)) != Qcow2Header.OFLAG_COPIED) {
                    return "L2 entry " + i + "/" + (j / es) + " (" + Long.toHexString(e) + ") lacks the copied flag "
                            + "or has other flags";
                }
                use.accept(host / cs, "L2 entry " + i + "/" + (j / es));
            }
        }
        if (!twice.isEmpty()) {
            return twice.get(0);
        }
        for (long c = 0; c <= last; c++) {
            long want = used.get((int) c) ? 1 : 0;
            long rc = model.get(c);
            if (rc != want) {
                return "cluster " + c + " (offset " + (c * cs) + ") has refcount " + rc + " but is used " + want
                        + " time" + (want == 1 ? "" : "s");
            }
        }
        return "";
    }

    /** The clusters {@link #dirtyRepair} has seen used, and what it found used twice or past the refcounts. */
    private static final class ClusterUse {
        final long last;
        final java.util.BitSet used;
        final List<String> twice = new ArrayList<>();

        ClusterUse(long last) {
            this.last = last;
            this.used = new java.util.BitSet((int) last + 1);
        }

        void accept(long c, String what) {
            if (c > last || c < 0) {
                twice.add(what + " at cluster " + c + " has no refcount");
            } else if (used.get((int) c)) {
                twice.add("cluster " + c + " is used twice (" + what + ")");
            } else {
                used.set((int) c);
            }
        }
    }

    /**
     * The metadata qemu's overlap check guards (its default "cached" mode: header, active
     * L1 and L2 tables, refcount table and blocks, snapshot table, inactive L1 tables, and
     * the bitmap directory): a new structure never lands on it, even where a broken
     * refcount says it is free.
     */
    private void protectMetadata() throws ResizeError {
        model.protect(0, cs, "qcow2 header");
        model.protectOwn();
        model.protect(h.l1TableOffset(), h.l1Size() * 8, "active L1 table", "L1 table", "l1_table_offset",
                Qcow2Layout.OFF_L1_TABLE_OFFSET);
        long[] l1 = readL1();
        for (int i = 0; i < l1.length; i++) {
            long off = l1[i] & Qcow2Header.L1E_OFFSET_MASK;
            if (off != 0) {
                model.protect(off, cs, "L2 table", "L2 table", "L1 entry " + i, h.l1TableOffset() + 8L * i);
            }
        }
        if (h.nbSnapshots() > 0) {
            long tableEnd = h.snapshotsOffset();
            for (Qcow2Header.Snapshot s : h.snapshots()) {
                tableEnd = Math.max(tableEnd, s.offset() + s.entryLength());
                model.protect(s.l1TableOffset(), s.l1Size() * 8, "L1 table of snapshot " + s.id(), "snapshot L1 table",
                        "l1_table_offset of snapshot " + s.id(), s.offset());
                protectSnapshotL2Tables(s);
            }
            model.protect(h.snapshotsOffset(), tableEnd - h.snapshotsOffset(), "snapshot table", "snapshot table",
                    "snapshots_offset", Qcow2Layout.OFF_SNAPSHOTS_OFFSET);
        }
        Qcow2Header.Extension bitmapsExt = bitmapsExtension();
        long dirField = bitmapsExt == null ? -1 : bitmapsExt.offset() + 24; // bitmap_directory_offset
        for (Qcow2Header.Bitmap b : h.bitmaps()) {
            model.protect(b.offset(), 1, "bitmap directory", "bitmap directory", "bitmap_directory_offset", dirField);
            model.protect(b.tableOffset(), b.tableSize() * 8, "bitmap table of '" + b.name() + "'", "bitmap table",
                    "bitmap_table_offset of '" + b.name() + "'", b.offset());
            protectBitmapData(b);
        }
        model.checkOverlaps(image.path().toString());
        if (dataFile == null && (h.incompatibleFeatures() & Qcow2Header.INCOMPAT_DATA_FILE) == 0) {
            checkDataClusters(l1);
        }
    }

    /**
     * A snapshot's L2 tables, of the same kind as the active ones (they share them): over
     * other metadata, a shrink or grow that changes that metadata changes the snapshot.
     */
    private void protectSnapshotL2Tables(Qcow2Header.Snapshot s) throws ResizeError {
        long n = s.l1Size();
        if (n == 0 || n * 8 > Qcow2Geometry.MAX_L1_BYTES || (s.l1TableOffset() & (cs - 1)) != 0
                || s.l1TableOffset() < 0 || s.l1TableOffset() > fileSize - n * 8) {
            return; // the probe flags a misplaced snapshot L1 table
        }
        ByteBuffer l1 = ByteBuffer.wrap(reader.read(s.l1TableOffset(), (int) (n * 8), "snapshot L1 table"));
        for (int i = 0; i < n; i++) {
            long off = l1.getLong(i * 8) & Qcow2Header.L1E_OFFSET_MASK;
            if (off != 0) {
                model.protect(off, cs, "L2 table of snapshot " + s.id(), "L2 table",
                        "L1 entry " + i + " of snapshot " + s.id(), s.l1TableOffset() + 8L * i);
            }
        }
    }

    /** A bitmap's data clusters: metadata qemu writes when it stores the bitmap. */
    private void protectBitmapData(Qcow2Header.Bitmap b) throws ResizeError {
        long n = b.tableSize();
        if (n == 0 || n > BME_MAX_TABLE_SIZE || (b.tableOffset() & (cs - 1)) != 0 || b.tableOffset() < 0
                || b.tableOffset() > fileSize - n * 8) {
            return; // refused where the bitmap is resized
        }
        ByteBuffer t = ByteBuffer.wrap(reader.read(b.tableOffset(), (int) (n * 8), "bitmap table"));
        for (int i = 0; i < n; i++) {
            long off = t.getLong(i * 8) & BME_ENTRY_OFFSET_MASK;
            if (off != 0) {
                model.protect(off, cs, "bitmap data of '" + b.name() + "'", "bitmap data",
                        "bitmap table entry " + i + " of '" + b.name() + "'", b.tableOffset() + 8L * i);
            }
        }
    }

    /** One past the last host cluster an active L2 entry maps with a refcount of 0 on disk, 0 if none. */
    long zeroRefcountDataEnd;

    /**
     * Refuses a file length that would cut off metadata or mapped guest data whose refcount
     * is 0 on disk (the length comes from the last cluster with a refcount, as qemu's).
     */
    void checkCut(long newFileSize) throws ResizeError {
        long from = (newFileSize + cs - 1) / cs;
        long meta = model.zeroRefcountMetadataFrom(from);
        if (meta >= 0 || zeroRefcountDataEnd > from) {
            long c = meta >= 0 ? meta : zeroRefcountDataEnd - 1;
            throw new ResizeError(ErrorCode.NEEDS_REPAIR, "'" + image.path() + "' is damaged and DiskPlan will not "
                    + "resize it: host cluster " + c + " (offset " + c * cs + ") holds " + (meta >= 0
                    ? "the " + model.metadataIn(c, c + 1) : "guest data") + " but its refcount is 0, and cutting the "
                    + "file after the last counted cluster would cut it off; repair it first with `qemu-img check -r "
                    + "all`", new ResizeError.Location(ResizeError.Kind.CORRUPT, "refcount of host cluster " + c,
                    model.refcountEntryOffset(c)));
        }
    }

    /** Bytes of active L2 tables {@link #checkDataClusters} reads at most; past that it stops. */
    static final long DATA_CHECK_BUDGET = 256L << 20;

    /**
     * Refuses an image where an active L2 entry maps guest data onto metadata (an L2 or L1
     * table, the refcount table or a block, the header, the snapshot table, a bitmap
     * table): what the resize writes there (refcounts, L1 entries, the header) would change
     * the guest's data, and a shrink that frees the cluster would free the metadata. qemu
     * opens such an image; its overlap check marks it corrupt on the first write.
     */
    private void checkDataClusters(long[] l1) throws ResizeError {
        long budget = DATA_CHECK_BUDGET;
        int es = g.l2EntrySize();
        long fileClusters = (fileSize + cs - 1) / cs;
        java.util.BitSet copied = fileClusters <= (1L << 28) ? new java.util.BitSet((int) fileClusters) : null;
        java.util.BitSet mapped = copied != null ? new java.util.BitSet((int) fileClusters) : null;
        java.util.Set<Long> seen = new java.util.HashSet<>();
        for (int i = 0; i < l1.length && budget > 0; i++) {
            long l2Off = l1[i] & Qcow2Header.L1E_OFFSET_MASK;
            if (l2Off == 0 || !seen.add(l2Off)) {
                continue;
            }
            budget -= cs;
            byte[] l2 = readL2(l2Off);
            // the entries copied out in bulk: ByteBuffer.getLong per entry is ten nested calls
            // in the interpreter, where a short command runs (a seventh of a small plan)
            long[] words = new long[l2.length / 8];
            ByteBuffer.wrap(l2).asLongBuffer().get(words);
            for (int j = 0; j + es <= l2.length; j += es) {
                long e = words[j / 8];
                long first;
                long end;
                if ((e & Qcow2Header.OFLAG_COMPRESSED) != 0) {
                    first = Qcow2Layout.compressedOffset(e, g.clusterBits()) >>> g.clusterBits();
                    end = ((Qcow2Layout.compressedEnd(e, g.clusterBits()) - 1) >>> g.clusterBits()) + 1;
                } else {
                    long host = e & Qcow2Header.L2E_OFFSET_MASK;
                    if (host == 0) {
                        continue;
                    }
                    first = host >>> g.clusterBits();
                    end = first + 1;
                    if ((host & (cs - 1)) != 0) {
                        first = Long.MAX_VALUE >>> g.clusterBits(); // refused below as unaligned
                    }
                }
                if (first << g.clusterBits() >= fileSize) {
                    // qemu-img check calls it an error; the clusters a grow adds at the end would be mapped
                    long at = l2Off + j;
                    String field = "L2 entry " + i + "/" + (j / es);
                    throw new ResizeError(ErrorCode.NEEDS_REPAIR, "'" + image.path() + "' is damaged and DiskPlan "
                            + "will not resize it: " + field + " (at offset " + at + ": " + Long.toHexString(e)
                            + ") is unaligned or points past the end of the file",
                            new ResizeError.Location(ResizeError.Kind.CORRUPT, field, at));
                }
                if (copied != null && (e & Qcow2Header.OFLAG_COMPRESSED) == 0) { // COPIED: refcount 1
                    if (copied.get((int) first) || (e < 0 && mapped.get((int) first))) {
                        long at = l2Off + j;
                        String field = "L2 entry " + i + "/" + (j / es);
                        throw new ResizeError(ErrorCode.NEEDS_REPAIR, "'" + image.path() + "' is damaged and "
                                + "DiskPlan will not resize it: " + field + " (at offset " + at + ") maps host "
                                + "offset " + (first << g.clusterBits()) + ", which another L2 entry maps too, one of "
                                + "them with the copied flag (refcount 1); freeing one would free the other",
                                new ResizeError.Location(ResizeError.Kind.CORRUPT, field, at));
                    }
                    mapped.set((int) first);
                    if (e < 0) {
                        copied.set((int) first);
                    }
                }
                if (end > zeroRefcountDataEnd && model.get(first) == 0) {
                    zeroRefcountDataEnd = end;
                }
                String what = model.metadataIn(first, end);
                if (what != null) {
                    long at = l2Off + j;
                    String field = "L2 entry " + i + "/" + (j / es);
                    throw new ResizeError(ErrorCode.NEEDS_REPAIR, "'" + image.path() + "' is damaged and DiskPlan "
                            + "will not resize it: " + field + " (at offset " + at + ") maps guest data onto the "
                            + what + " at host offset " + (first << g.clusterBits()) + "; qemu's metadata overlap "
                            + "check refuses writes there",
                            new ResizeError.Location(ResizeError.Kind.CORRUPT, field, at));
                }
            }
        }
    }

    long[] readL1() throws ResizeError {
        long n = h.l1Size();
        if (n == 0) {
            return new long[0];
        }
        if (n * 8 > Qcow2Geometry.MAX_L1_BYTES || (h.l1TableOffset() & (cs - 1)) != 0) {
            throw Qcow2Planner.corrupt("the L1 table (" + n + " entries at " + h.l1TableOffset()
                    + ") is too large or unaligned");
        }
        byte[] raw = reader.read(h.l1TableOffset(), (int) (n * 8), "L1 table");
        long[] l1 = new long[(int) n];
        ByteBuffer.wrap(raw).asLongBuffer().get(l1);
        for (int i = 0; i < l1.length; i++) {
            long off = l1[i] & Qcow2Header.L1E_OFFSET_MASK;
            if (off == 0 && l1[i] != 0) {
                // qemu-img check reads cluster 0 (the header) as this L2 table, and a write asserts
                long at = h.l1TableOffset() + 8L * i;
                throw new ResizeError(ErrorCode.NEEDS_REPAIR, "'" + image.path() + "' is damaged and DiskPlan will "
                        + "not resize it: L1 entry " + i + " (at offset " + at + ": " + Long.toHexString(l1[i])
                        + ") has flags but no L2 table offset, which puts its L2 table over the header",
                        new ResizeError.Location(ResizeError.Kind.CORRUPT, "L1 entry " + i, at));
            }
            if (off != 0 && ((off & (cs - 1)) != 0 || off > fileSize - cs)) {
                throw Qcow2Planner.corrupt("L1 entry " + i + " (" + Long.toHexString(l1[i]) + ") is unaligned or points past "
                        + "the end of the file");
            }
        }
        return l1;
    }

    byte[] readL2(long offset) throws ResizeError {
        return reader.read(offset, (int) cs, "L2 table");
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

    long tableClustersFor(int highestBlock) {
        long entries = highestBlock + 1L;
        long tc = g.clustersFor(entries * 8);
        // the table's own clusters and the blocks that count them need entries too
        long extra = tc / g.refblockEntries() + 3;
        return g.clustersFor((entries + extra) * 8);
    }

    void applyDecrements() throws ResizeError {
        for (ClusterRange r : decrements) {
            for (long c = r.first(); c <= r.last(); c++) {
                model.add(c, -1);
            }
        }
        decrements.clear();
    }

    // ---------------------------------------------------------------- bitmaps

    /** qemu's BME_MAX_TABLE_SIZE (entries) and BME_MAX_PHYS_SIZE (bytes of bitmap data). */
    static final long BME_MAX_TABLE_SIZE = 0x8000000L;
    static final long BME_MAX_PHYS_SIZE = 0x20000000L;
    /** A bitmap table entry: the data cluster's offset (bits 9..55), and bit 0 "all ones". */
    static final long BME_ENTRY_OFFSET_MASK = 0x00fffffffffffe00L;
    static final long BME_ENTRY_ALL_ONES = 1L;

    /**
     * How the persistent bitmaps are placed. LEGACY: resized where first fit finds room, released
     * after the commit. MEASURE: nothing temporary is placed; the plan only computes qemu's final
     * file length ({@link #measuredEnd}). EXACT: as qemu-img leaves them, in two commits (see
     * {@link #storeBitmaps}), the temporary copies the first commit needs placed at or past
     * {@link #exactEnd}.
     */
    enum BitmapMode { LEGACY, MEASURE, EXACT }

    BitmapMode bitmapMode = BitmapMode.LEGACY;

    /** MEASURE and EXACT also allocate as qemu does (its scan from free_cluster_index). */
    void bitmapMode(BitmapMode mode) {
        bitmapMode = mode;
        model.qemuMode(mode != BitmapMode.LEGACY);
    }

    /** EXACT: qemu's final file length, measured by a MEASURE plan. */
    long exactEnd;
    /** MEASURE and EXACT: the final file length qemu's store gives. */
    long measuredEnd = -1;
    /** MEASURE: the refcounts qemu's store starts from (clusters below {@link #digestLimit}); EXACT: expected. */
    long storeDigest;
    long digestLimit;
    /** First cluster of the temporary structures (EXACT), Long.MAX_VALUE otherwise. */
    long tempFloor = Long.MAX_VALUE;

    /** A bitmap as qemu's store on close writes it anew: its table at the new size. */
    private record Stored(Qcow2Header.Bitmap b, long need, long[] entries, int dirAt) {
    }

    private final List<Stored> stored = new ArrayList<>();
    /** The old bitmap structures (tables, data clusters, directory): released after the second commit. */
    private final List<ClusterRange> oldBitmapClusters = new ArrayList<>();
    /** The temporary ones the first commit names: released after the second commit. */
    private final List<ClusterRange> tempBitmapClusters = new ArrayList<>();
    private byte[] storedDir;
    private long storedDirField = -1;
    private long oldSizeForBits;

    /** Where the commit must also write the bitmaps extension's new directory offset (-1: nowhere). */
    long bitmapDirField = -1;
    long newBitmapDir;

    /** The header's first bitmaps extension, null when it has none. */
    private Qcow2Header.Extension bitmapsExtension() {
        for (Qcow2Header.Extension x : h.extensions()) {
            if (x.type() == Qcow2Layout.EXT_BITMAPS) {
                return x;
            }
        }
        return null;
    }

    /**
     * Persistent bitmaps follow the size, as qemu's truncate and its store on close leave
     * them. qemu loads a bitmap only when its table has exactly the entries the image size
     * needs, so a new copy of the bitmap directory names the resized tables and goes live in
     * the commit itself: the header write that sets the size also sets the bitmaps
     * extension's directory offset (one write in the first cluster).
     * <ul>
     * <li>Grow: the new entries read as clean clusters (0), as qemu's truncate leaves new
     * bits. A table whose clusters have room grows in place (its new entries are zeroed first,
     * past what the old directory names); otherwise a new one is written.</li>
     * <li>Shrink: a new table with the entries the new size needs; the bits past the last
     * granule the new size touches are cleared (hbitmap_truncate), which takes a new copy of
     * the last data cluster (or a 0 entry when nothing is left set in it); data clusters of the
     * dropped entries are released. The live table is never written: before the commit the
     * old size's bitmap stays whole.</li>
     * </ul>
     * Old tables, dropped data clusters and the old directory are released after the commit.
     */
    void resizeBitmaps(long newSize) throws ResizeError {
        if (!h.hasBitmaps() || h.bitmaps().isEmpty()) {
            return;
        }
        Qcow2Header.Extension ext = bitmapsExtension();
        if (ext == null) {
            throw Qcow2Planner.corrupt("bitmaps listed without a bitmaps extension");
        }
        ByteBuffer e = ByteBuffer.wrap(reader.read(ext.offset() + 8, 24, "bitmaps extension"));
        long dirSize = e.getLong(8);
        long dirOffset = e.getLong(16);
        if (dirSize <= 0 || dirSize > (64L << 20)) {
            throw Qcow2Planner.corrupt("the bitmap directory size " + dirSize + " at offset " + (ext.offset() + 16));
        }
        byte[] dir = reader.read(dirOffset, (int) dirSize, "bitmap directory");
        ByteBuffer d = ByteBuffer.wrap(dir);
        int changed = 0;
        if (bitmapMode != BitmapMode.LEGACY) {
            storedDir = dir.clone();
            storedDirField = ext.offset() + 8 + 16;
            oldSizeForBits = image.virtualSize();
            oldBitmapClusters.add(new ClusterRange(dirOffset / cs, (dirOffset + dirSize - 1) / cs));
            for (Qcow2Header.Bitmap b : h.bitmaps()) {
                long bytesPerEntry = Math.multiplyExact(cs * 8, 1L << b.granularityBits());
                long need = (newSize + bytesPerEntry - 1) / bytesPerEntry;
                if (need == 0 || need > BME_MAX_TABLE_SIZE || b.tableSize() <= 0
                        || b.tableSize() > BME_MAX_TABLE_SIZE || (b.tableOffset() & (cs - 1)) != 0
                        || b.tableOffset() <= 0 || b.tableOffset() > fileSize - b.tableSize() * 8) {
                    throw new RefcountModel.NotExact("bitmap table out of range");
                }
                byte[] raw = reader.read(b.tableOffset(), (int) (b.tableSize() * 8), "bitmap table");
                long[] old = new long[(int) b.tableSize()];
                ByteBuffer.wrap(raw).asLongBuffer().get(old);
                long first = b.tableOffset() / cs;
                oldBitmapClusters.add(new ClusterRange(first, first + g.clustersFor(b.tableSize() * 8) - 1));
                for (long x : old) {
                    long off = x & BME_ENTRY_OFFSET_MASK;
                    if (off != 0) {
                        oldBitmapClusters.add(new ClusterRange(off / cs, off / cs));
                    }
                }
                stored.add(new Stored(b, need, java.util.Arrays.copyOf(old, (int) Math.min(need, old.length)),
                        (int) (b.offset() - dirOffset)));
            }
            if (bitmapMode == BitmapMode.MEASURE) {
                return;
            }
        }
        for (Qcow2Header.Bitmap b : h.bitmaps()) {
            long bytesPerEntry = Math.multiplyExact(cs * 8, 1L << b.granularityBits());
            long need = (newSize + bytesPerEntry - 1) / bytesPerEntry;
            long tableOffset;
            if (need > b.tableSize()) {
                tableOffset = growBitmapTable(b, need);
            } else {
                tableOffset = shrinkBitmapTable(b, need, newSize);
                if (tableOffset < 0) {
                    continue;
                }
            }
            int at = (int) (b.offset() - dirOffset);
            d.putLong(at, tableOffset);
            d.putInt(at + 8, (int) need);
            changed++;
        }
        if (changed == 0) {
            return;
        }
        newBitmapDir = allocateBitmap(g.clustersFor(dirSize));
        fresh.add(new Write(newBitmapDir, dir, "bitmap directory (a copy naming the resized tables)",
                RegionKind.TABLE));
        long oldFirst = dirOffset / cs;
        if (bitmapMode == BitmapMode.LEGACY) {
            decrements.add(new ClusterRange(oldFirst, (dirOffset + dirSize - 1) / cs));
        }
        bitmapDirField = ext.offset() + 8 + 16;
        plan.note("persistent bitmaps: " + changed + " table(s) resized to cover the new size exactly, named by a "
                + "new bitmap directory that the commit switches to with the size; "
                + (newSize > image.virtualSize() ? "the new range is clean in every bitmap"
                        : "bits past the new end are cleared") + ", as after qemu-img resize");
    }

    /** A table grown to {@code need} entries (clean); returns its offset. */
    private long growBitmapTable(Qcow2Header.Bitmap b, long need) throws ResizeError {
        if (need > BME_MAX_TABLE_SIZE || need * cs > BME_MAX_PHYS_SIZE) {
            throw new ResizeError(ErrorCode.INVALID_NEW_SIZE, "Bitmap '" + b.name() + "' doesn't satisfy the "
                    + "constraints at the new size: a table of " + need + " entries of " + cs + "-byte clusters "
                    + "is past qemu's limits (" + BME_MAX_TABLE_SIZE + " entries, " + BME_MAX_PHYS_SIZE
                    + " bytes of bitmap)");
        }
        long room = g.clustersFor(b.tableSize() * 8) * cs / 8;
        long tableOffset = b.tableOffset();
        if (need <= room) {
            fresh.add(new Write(tableOffset + b.tableSize() * 8, new byte[(int) ((need - b.tableSize()) * 8)],
                    "bitmap '" + b.name() + "' table: " + (need - b.tableSize()) + " new entries (clean)",
                    RegionKind.TABLE));
        } else {
            byte[] old = reader.read(b.tableOffset(), (int) (b.tableSize() * 8), "bitmap table");
            tableOffset = allocateBitmap(g.clustersFor(need * 8));
            fresh.add(new Write(tableOffset, java.util.Arrays.copyOf(old, (int) (need * 8)), "bitmap '"
                    + b.name() + "' table: " + b.tableSize() + " entries copied, " + (need - b.tableSize())
                    + " new (clean)", RegionKind.TABLE));
            releaseBitmapTable(b);
        }
        return tableOffset;
    }

    /**
     * A table cut to {@code need} entries, its last data cluster without the bits past the
     * new end; returns the new table's offset, or -1 when the table stays as it is.
     */
    private long shrinkBitmapTable(Qcow2Header.Bitmap b, long need, long newSize) throws ResizeError {
        if (need == 0) {
            throw new ResizeError(ErrorCode.INVALID_NEW_SIZE, "Bitmap '" + b.name() + "' would have no table at "
                    + "size 0, which qemu cannot open; remove it first (`qemu-img bitmap --remove`)");
        }
        byte[] raw = reader.read(b.tableOffset(), (int) (b.tableSize() * 8), "bitmap table of '" + b.name() + "'");
        long[] entries = new long[(int) b.tableSize()];
        ByteBuffer.wrap(raw).asLongBuffer().get(entries);
        for (int i = 0; i < entries.length; i++) {
            if (!validBitmapEntry(entries[i])) {
                throw Qcow2Planner.corrupt("bitmap '" + b.name() + "' table entry " + i + " (at offset "
                        + (b.tableOffset() + i * 8L) + ": " + Long.toHexString(entries[i]) + ") is invalid");
            }
        }
        // hbitmap_truncate keeps the bits of every granule the new size touches
        long bitsKept = (newSize + (1L << b.granularityBits()) - 1) >>> b.granularityBits();
        int last = (int) need - 1;
        long keepInLast = bitsKept - last * cs * 8;
        long lastEntry = entries[last];
        byte[] lastData = null;
        if (keepInLast < cs * 8 && lastEntry != 0) {
            byte[] data = bitmapCluster(lastEntry, b, last);
            byte[] cut = data.clone();
            clearBitsFrom(cut, keepInLast);
            if (!java.util.Arrays.equals(cut, data)) {
                lastData = cut;
            }
        }
        if (need == b.tableSize() && lastData == null) {
            return -1;
        }
        long[] kept = java.util.Arrays.copyOf(entries, (int) need);
        if (lastData != null) {
            if (isZero(lastData, 0, lastData.length)) {
                kept[last] = 0;
            } else {
                long at = allocateBitmap(1);
                fresh.add(new Write(at, lastData, "bitmap '" + b.name() + "' data cluster " + last
                        + " without the bits past the new end", RegionKind.TABLE));
                kept[last] = at;
            }
            releaseBitmapData(lastEntry);
        }
        for (int i = (int) need; i < entries.length; i++) {
            releaseBitmapData(entries[i]);
        }
        long tableOffset = allocateBitmap(g.clustersFor(need * 8));
        fresh.add(new Write(tableOffset, entriesBytes(kept, need * 8), "bitmap '" + b.name() + "' table: "
                + need + " of " + b.tableSize() + " entries kept" + (lastData != null ? ", the last one cut" : ""),
                RegionKind.TABLE));
        releaseBitmapTable(b);
        return tableOffset;
    }

    /** A bitmap table entry as the spec allows it: offset aligned, inside the file, "all ones" only with offset 0. */
    private boolean validBitmapEntry(long entry) {
        long off = entry & BME_ENTRY_OFFSET_MASK;
        return (entry & ~(BME_ENTRY_OFFSET_MASK | BME_ENTRY_ALL_ONES)) == 0 && (off & (cs - 1)) == 0
                && off <= fileSize - cs && (off == 0 || (entry & BME_ENTRY_ALL_ONES) == 0);
    }

    /** The bits a nonzero bitmap table entry stands for: its data cluster, or a cluster of ones (offset 0, bit 0 set). */
    private byte[] bitmapCluster(long entry, Qcow2Header.Bitmap b, int index) throws ResizeError {
        long off = entry & BME_ENTRY_OFFSET_MASK;
        if (off != 0) {
            return reader.read(off, (int) cs, "bitmap '" + b.name() + "' data cluster " + index);
        }
        byte[] ones = new byte[(int) cs];
        java.util.Arrays.fill(ones, (byte) 0xff);
        return ones;
    }

    /**
     * Clusters for a new bitmap structure: first fit (LEGACY), or, in EXACT mode, a temporary
     * one at or past qemu's final end, released after the second commit.
     */
    private long allocateBitmap(long n) throws ResizeError {
        if (bitmapMode == BitmapMode.LEGACY) {
            return model.allocate(n, false);
        }
        long at = model.allocateFrom(tempFloor, n);
        tempBitmapClusters.add(new ClusterRange(at / cs, at / cs + n - 1));
        return at;
    }

    /**
     * qemu's store of the persistent bitmaps when it closes the image
     * (qcow2_store_persistent_dirty_bitmaps), simulated on the refcounts as the first commit
     * and its releases leave them, which are qemu's right after its truncate: for every
     * bitmap in directory order, a new data cluster for each cluster of the bitmap with a bit
     * set, then a new table; then a new directory; all allocated as qemu's
     * alloc_clusters_noref does (scanning from free_cluster_index). MEASURE: only records the
     * final length. EXACT: writes them there (clusters free after the first commit, below
     * qemu's end), switches the bitmaps extension's directory offset (the second commit),
     * then releases the old and temporary structures. Returns the final file length:
     * {@code truncatedLength} (the file as qemu's truncate leaves it) or the end of the last
     * structure the store writes, whichever is longer.
     */
    long storeBitmaps(long truncatedLength, long newSize) throws ResizeError {
        if (bitmapMode == BitmapMode.LEGACY || stored.isEmpty()) {
            return truncatedLength;
        }
        // every new refcount block is written and linked by now: later changes are dirty ranges
        model.markNewBlocksWritten();
        if (bitmapMode == BitmapMode.MEASURE) {
            digestLimit = model.lastUsedCluster() + 1;
            storeDigest = model.digest(digestLimit);
        } else if (model.digest(digestLimit) != storeDigest) {
            throw new RefcountModel.NotExact("the refcounts before the store differ from the measured ones");
        }
        List<ResizePatch> writes = new ArrayList<>();
        long end = truncatedLength;
        ByteBuffer dir = ByteBuffer.wrap(storedDir.clone());
        long bitsLimitSize = Math.min(oldSizeForBits, newSize);
        for (Stored s : stored) {
            Qcow2Header.Bitmap b = s.b();
            long[] table = new long[(int) s.need()];
            long bitsValid = (bitsLimitSize + (1L << b.granularityBits()) - 1) >>> b.granularityBits();
            for (int i = 0; i < s.entries().length; i++) {
                long entry = s.entries()[i];
                if (entry == 0) {
                    continue;
                }
                if (!validBitmapEntry(entry)) {
                    throw new RefcountModel.NotExact("invalid bitmap entry");
                }
                byte[] data = bitmapCluster(entry, b, i);
                long keep = bitsValid - i * cs * 8;
                if (keep < cs * 8) {
                    clearBitsFrom(data, Math.max(0, keep));
                }
                if (isZero(data, 0, data.length)) {
                    continue;
                }
                long at = model.allocate(1, false);
                table[i] = at;
                writes.add(new Write(at, data, "bitmap '" + b.name() + "' data cluster " + i
                        + " (where qemu's store puts it)", RegionKind.TABLE));
                end = Math.max(end, at + cs);
            }
            long tableOffset = model.allocate(g.clustersFor(s.need() * 8), false);
            writes.add(new Write(tableOffset, entriesBytes(table, s.need() * 8), "bitmap '" + b.name()
                    + "' table, " + s.need() + " entries (where qemu's store puts it)", RegionKind.TABLE));
            end = Math.max(end, tableOffset + s.need() * 8);
            dir.putLong(s.dirAt(), tableOffset);
            dir.putInt(s.dirAt() + 8, (int) s.need());
        }
        long dirOffset = model.allocate(g.clustersFor(storedDir.length), false);
        writes.add(new Write(dirOffset, dir.array(), "bitmap directory (where qemu's store puts it)",
                RegionKind.TABLE));
        end = Math.max(end, dirOffset + storedDir.length);
        if (model.tableTooSmall()) {
            throw new RefcountModel.NotExact("the store needs a bigger refcount table");
        }
        List<Write> blocks = model.newBlockWrites();
        for (Write w : blocks) {
            end = Math.max(end, w.end());
        }
        if (bitmapMode == BitmapMode.MEASURE) {
            measuredEnd = end;
            return end;
        }
        if (end != exactEnd || end > tempFloor * cs) {
            throw new RefcountModel.NotExact("the store ends at " + end + ", not " + exactEnd);
        }
        writes.addAll(blocks);
        plan.freshPhase(writes);
        emitPhase(model.dirtyWrites("refcount increments for the bitmaps as qemu stores them"));
        emitPhase(tableLinks());
        model.markNewBlocksWritten();
        emitPhase(List.of(new Write(storedDirField, ByteBuffer.allocate(8).putLong(dirOffset).array(),
                "qcow2 header: bitmap directory offset (second commit: the bitmaps where qemu-img puts them)",
                RegionKind.HEADER)));
        java.util.Set<Long> released = new java.util.HashSet<>();
        for (List<ClusterRange> list : List.of(oldBitmapClusters, tempBitmapClusters)) {
            for (ClusterRange r : list) {
                for (long c = r.first(); c <= r.last(); c++) {
                    if (released.add(c)) {
                        model.add(c, -1);
                    }
                }
            }
        }
        emitPhase(model.dirtyWrites("refcount decrements for the old and temporary bitmap structures"));
        // refcount blocks that only counted temporary structures (past qemu's end) leave the table
        List<ResizePatch> clears = new ArrayList<>();
        List<Long> selves = new ArrayList<>();
        for (int k = 0; k < model.blockCount(); k++) {
            if (model.hasBlock(k) && model.blockOffset(k) >= tempFloor * cs) {
                if (!model.unusedBlock(k) || ((long) k << g.refblockBits()) < tempFloor) {
                    throw new RefcountModel.NotExact("refcount block " + k + " past qemu's end is still in use");
                }
                clears.add(new Write(model.tableOffset() + k * 8L, new byte[8], "refcount table entry " + k
                        + ": drop the refcount block of the temporary bitmap structures", RegionKind.REFCOUNT));
                selves.add(model.blockOffset(k) / cs);
                model.drop(k);
            }
        }
        emitPhase(clears);
        for (long self : selves) {
            if (model.hasBlock((int) (self >>> g.refblockBits()))) {
                model.add(self, -1);
            }
        }
        emitPhase(model.dirtyWrites("refcount decrements for the dropped refcount blocks"));
        plan.note("persistent bitmaps: written again where qemu-img's store on close puts them (second header "
                + "write), the file ending at " + end + " bytes as qemu-img's");
        return end;
    }

    private void releaseBitmapTable(Qcow2Header.Bitmap b) {
        if (bitmapMode != BitmapMode.LEGACY) {
            return; // released with every old bitmap structure after the second commit
        }
        long first = b.tableOffset() / cs;
        decrements.add(new ClusterRange(first, first + g.clustersFor(b.tableSize() * 8) - 1));
    }

    private void releaseBitmapData(long entry) {
        if (bitmapMode != BitmapMode.LEGACY) {
            return;
        }
        long off = entry & BME_ENTRY_OFFSET_MASK;
        if (off != 0) {
            decrements.add(new ClusterRange(off / cs, off / cs));
        }
    }

    /** Clears bit {@code from} and every later bit (bit k: byte k/8, least significant first). */
    static void clearBitsFrom(byte[] data, long from) {
        int at = (int) (from >>> 3);
        int bit = (int) (from & 7);
        if (bit != 0) {
            data[at] &= (byte) ((1 << bit) - 1);
            at++;
        }
        java.util.Arrays.fill(data, at, data.length, (byte) 0);
    }

    /**
     * The commit's bytes: the header from {@code size} through {@code end}, or, when the
     * bitmap directory switches, through the bitmaps extension's directory offset: the
     * extensions as they are on disk, the header fields from {@code size} through
     * {@code refcount_table_clusters} from {@code headerAsPlanned}, and the new directory
     * offset.
     */
    byte[] commitBytes(byte[] headerAsPlanned, int end) throws ResizeError {
        if (clearDirty) { // (a dirty image with bitmaps is refused) through incompatible_features
            byte[] b = java.util.Arrays.copyOf(headerAsPlanned, Math.max(end, Qcow2Layout.OFF_INCOMPATIBLE + 8));
            ByteBuffer.wrap(b).putLong(Qcow2Layout.OFF_INCOMPATIBLE,
                    h.incompatibleFeatures() & ~Qcow2Header.INCOMPAT_DIRTY);
            return java.util.Arrays.copyOfRange(b, Qcow2Header.OFF_SIZE, b.length);
        }
        if (bitmapDirField < 0) {
            return java.util.Arrays.copyOfRange(headerAsPlanned, Qcow2Header.OFF_SIZE, end);
        }
        byte[] head = reader.read(0, (int) (bitmapDirField + 8), "qcow2 header and extensions");
        System.arraycopy(headerAsPlanned, Qcow2Header.OFF_SIZE, head, Qcow2Header.OFF_SIZE,
                Qcow2Header.OFF_REFCOUNT_TABLE_CLUSTERS + 4 - Qcow2Header.OFF_SIZE);
        ByteBuffer.wrap(head).putLong((int) bitmapDirField, newBitmapDir);
        return java.util.Arrays.copyOfRange(head, Qcow2Header.OFF_SIZE, head.length);
    }

    // ------------------------------------------------------------- patches

    List<ResizePatch> tableLinks() {
        List<ResizePatch> out = new ArrayList<>();
        for (RefcountModel.BlockLink link : model.newBlockLinks()) {
            out.add(new Write(model.tableOffset() + link.block() * 8L,
                    ByteBuffer.allocate(8).putLong(link.offset()).array(),
                    "refcount table entry " + link.block() + ": new refcount block", RegionKind.REFCOUNT));
        }
        return out;
    }

    /** The new structures, in offset order, with sparse extensions over any gap. */
    void emitFresh() {
        for (ResizePatch p : fresh) {
            if (p.offset() < tempFloor * cs || tempFloor == Long.MAX_VALUE) {
                freshEnd = Math.max(freshEnd, p.end()); // temporary bitmap structures past qemu's end aside
            }
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

    static boolean isZero(byte[] b, int from, int to) {
        for (int i = from; i < to; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        return true;
    }

    static long getLong(byte[] b, int at) {
        return ((long) (b[at] & 0xff) << 56) | ((long) (b[at + 1] & 0xff) << 48) | ((long) (b[at + 2] & 0xff) << 40)
                | ((long) (b[at + 3] & 0xff) << 32) | ((long) (b[at + 4] & 0xff) << 24) | ((b[at + 5] & 0xff) << 16)
                | ((b[at + 6] & 0xff) << 8) | (b[at + 7] & 0xff);
    }
}
