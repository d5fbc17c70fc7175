package org.diskplan.planner.qcow2;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.diskplan.abi.ErrorCode;
import org.diskplan.planner.ResizeError;
import org.diskplan.planner.ResizePatch.Write;
import org.diskplan.planner.PlanReader;
import org.diskplan.probe.ProbeException;
import org.diskplan.probe.RegionKind;
import org.diskplan.probe.qcow2.Qcow2Header;
import org.diskplan.probe.qcow2.Qcow2Layout;

// No lambdas or streams here: this class runs on the command line's start-up path (see ReadWatch / issue 20).
/**
 * The image's refcounts as the plan changes them: the refcount table, every refcount
 * block (read once, in offset order, coalescing neighbours into large reads), the new
 * blocks and the new table the plan adds. Changes are grouped in phases: {@link #dirtyWrites}
 * turns what changed in existing blocks since the last call into writes of just the
 * changed byte ranges, so increments can be written before the commit and decrements after.
 *
 * <p>Clusters are allocated first-fit (as qemu's alloc_clusters_noref does), never reusing a
 * cluster the plan frees: frees only happen after the commit. A new refcount block counts
 * itself, in its own range or in another block, new or old.
 */
final class RefcountModel {
    /** Largest single read when loading blocks. */
    private static final int READ_CHUNK = 8 << 20;

    private final Qcow2Geometry g;
    private final int order;
    private final int blockBits;
    private final long clusterSize;
    private final long fileSize;
    /** The live table: where it is and how many entries it has (the plan may switch it). */
    private long tableOffset;
    private int tableEntries;
    private final long[] oldTable;

    /** Block contents by table index; null where no block exists (yet). */
    private byte[][] blocks;
    /** Host offset of each block, -1 for a new block whose place is not chosen yet. */
    private long[] offsets;
    private boolean[] isNew;
    private int[] dirtyLo;
    private int[] dirtyHi;
    private int[] dirtyList = new int[16];
    private int dirtyCount;
    private final List<Integer> pending = new ArrayList<>();
    private final List<Integer> newBlocks = new ArrayList<>();
    /** First cluster that may be free. */
    private long hint;
    /**
     * Clusters that hold metadata the image already uses, by first cluster: one past the
     * last cluster and what it is. A cluster among them with refcount 0 (a broken refcount,
     * a wrong refcount_order) is never handed out: qemu's overlap check refuses such writes.
     */
    private final java.util.TreeMap<Long, Object[]> inUse = new java.util.TreeMap<>();
    /** The ranges given to {@link #protect}, merged into {@link #inUse} on the first allocation. */
    private final List<Object[]> toProtect = new ArrayList<>();
    /** One past the last cluster the plan allocated, 0 if none. */
    private long allocatedEnd;
    private long allocatedClusters;

    private RefcountModel(Qcow2Geometry g, long fileSize, long tableOffset, long[] table) {
        this.g = g;
        this.order = g.refcountOrder();
        this.blockBits = g.refblockBits();
        this.clusterSize = g.clusterSize();
        this.fileSize = fileSize;
        this.tableOffset = tableOffset;
        this.tableEntries = table.length;
        this.oldTable = table;
        // sized to the last block in use (the arrays grow with createBlock): most tables are
        // mostly empty, and one 2 MiB cluster of table is 262,144 entries
        int last = table.length - 1;
        while (last >= 0 && (table[last] & Qcow2Header.REFT_OFFSET_MASK) == 0) {
            last--;
        }
        int n = Math.max(last + 1, 1);
        blocks = new byte[n][];
        offsets = new long[n];
        isNew = new boolean[n];
        dirtyLo = new int[n];
        dirtyHi = new int[n];
    }

    /** Reads the refcount table and every block it points at, checking each entry. */
    static RefcountModel load(Qcow2Geometry g, PlanReader reader, long tableOffset, long tableClusters)
            throws ResizeError {
        long cs = g.clusterSize();
        long bytes = tableClusters * cs;
        if (tableClusters <= 0 || bytes > Qcow2Geometry.MAX_REFTABLE_BYTES || (tableOffset & (cs - 1)) != 0) {
            throw Qcow2Planner.corrupt("the refcount table (" + tableClusters + " clusters at " + tableOffset
                    + ") is empty, too large or unaligned");
        }
        byte[] raw = reader.read(tableOffset, (int) bytes, "refcount table");
        long[] table = new long[(int) (bytes / 8)];
        java.nio.ByteBuffer.wrap(raw).asLongBuffer().get(table);
        RefcountModel m = new RefcountModel(g, reader.size(), tableOffset, table);
        m.checkTable();
        m.reader = reader;
        m.diskReader = reader;
        return m;
    }

    /**
     * Checks every table entry and records where each block is; their contents are read
     * on first use ({@link #loaded}), so a plan that touches no refcount (a grow within the
     * L1 table) reads none of them.
     */
    private void checkTable() throws ResizeError {
        for (int i = 0; i < offsets.length; i++) {
            long off = oldTable[i] & Qcow2Header.REFT_OFFSET_MASK;
            if (off == 0) {
                continue;
            }
            if ((off & (clusterSize - 1)) != 0 || off > fileSize - clusterSize || off < 0) {
                throw Qcow2Planner.corrupt("refcount table entry " + i + " (" + Long.toUnsignedString(off)
                        + ") is unaligned or lies past the end of the file");
            }
            offsets[i] = off;
        }
    }

    /** Where the blocks are read from, until they are. */
    private PlanReader reader;
    /** The file as it is before the plan (null for a model built in memory). */
    private PlanReader diskReader;
    private final java.util.Map<Long, byte[]> diskBlocks = new java.util.HashMap<>();

    /** Reads every existing block, once, before the first use of any block's contents. */
    private void loaded() throws ResizeError {
        if (reader != null) {
            PlanReader r = reader;
            reader = null;
            loadBlocks(r);
        }
    }

    /** Whether block {@code b} exists: before the blocks are read, whether the table points at one. */
    private boolean exists(int b) {
        return b < blocks.length && (reader != null ? offsets[b] > 0 : blocks[b] != null);
    }

    private void loadBlocks(PlanReader reader) throws ResizeError {
        int n = offsets.length;
        long[] sorted = new long[n];
        int count = 0;
        for (int i = 0; i < n; i++) {
            long off = offsets[i]; // checked by checkTable; no block has been added yet
            if (off == 0) {
                continue;
            }
            // offset in the high bits, index in the low 21 (the table has at most 2^20 entries)
            sorted[count++] = (off >>> g.clusterBits() << 21) | i;
        }
        Arrays.sort(sorted, 0, count);
        for (int k = 0; k < count; ) {
            int runEnd = k + 1;
            long first = (sorted[k] >>> 21) << g.clusterBits();
            while (runEnd < count && ((sorted[runEnd] >>> 21) << g.clusterBits()) == first + (runEnd - k) * clusterSize
                    && (runEnd - k + 1) * clusterSize <= READ_CHUNK) {
                runEnd++;
            }
            byte[] chunk = reader.read(first, (int) ((runEnd - k) * clusterSize), "refcount blocks");
            for (int j = k; j < runEnd; j++) {
                int index = (int) (sorted[j] & ((1 << 21) - 1));
                blocks[index] = runEnd == k + 1 ? chunk // a block read alone is not copied again
                        : Arrays.copyOfRange(chunk, (int) ((j - k) * clusterSize), (int) ((j - k + 1) * clusterSize));
            }
            k = runEnd;
        }
    }

    long tableOffset() {
        return tableOffset;
    }

    int tableEntries() {
        return tableEntries;
    }

    /** The plan has made a new table live: links and growth checks refer to it from now on. */
    void switchTable(long offset, int entries) {
        tableOffset = offset;
        tableEntries = entries;
    }

    /** The refcount of {@code cluster} as the file holds it, before any change of the plan. */
    private long originalRefcount(long cluster) throws ResizeError {
        if (diskReader == null) {
            return get(cluster); // a model built in memory (tests): nothing on disk to consult
        }
        long bi = cluster >>> blockBits;
        if (bi >= oldTable.length || (oldTable[(int) bi] & Qcow2Header.REFT_OFFSET_MASK) == 0) {
            return 0;
        }
        long at = oldTable[(int) bi] & Qcow2Header.REFT_OFFSET_MASK;
        byte[] block = diskBlocks.get(at);
        if (block == null) {
            block = diskReader.read(at, (int) clusterSize, "refcount block");
            diskBlocks.put(at, block);
        }
        return Qcow2Layout.refcount(block, (int) (cluster & ((1L << blockBits) - 1)), order);
    }

    /** The refcount of host cluster {@code cluster}. */
    long get(long cluster) throws ResizeError {
        loaded();
        long bi = cluster >>> blockBits;
        if (bi >= blocks.length || blocks[(int) bi] == null) {
            return 0;
        }
        return Qcow2Layout.refcount(blocks[(int) bi], (int) (cluster & ((1L << blockBits) - 1)), order);
    }

    /** Adds {@code delta} (negative: a decrement) to the refcount of {@code cluster}. */
    void add(long cluster, long delta) throws ResizeError {
        loaded();
        long bi = cluster >>> blockBits;
        if (bi >= Integer.MAX_VALUE / 2) {
            throw new ResizeError(ErrorCode.INVALID_NEW_SIZE, "cluster " + cluster + " is beyond any refcount table");
        }
        int b = (int) bi;
        if (b >= blocks.length || blocks[b] == null) {
            if (delta < 0) {
                throw Qcow2Planner.corrupt("host cluster " + cluster + " is in use but has no refcount block");
            }
            createBlock(b);
        }
        int index = (int) (cluster & ((1L << blockBits) - 1));
        byte[] block = blocks[b];
        long v = Qcow2Layout.refcount(block, index, order);
        long nv = v + delta;
        long max = Qcow2Layout.maxRefcount(order);
        if (delta < 0 && Long.compareUnsigned(v, -delta) < 0) {
            throw Qcow2Planner.corrupt("the refcount of host cluster " + cluster + " (offset "
                    + (cluster << g.clusterBits()) + ") is " + v + ", too small for its references");
        }
        if (delta > 0 && (Long.compareUnsigned(nv, v) < 0 || (order < 6 && nv > max))) {
            throw new ResizeError(ErrorCode.INVALID_OPTION, "the refcount of host cluster " + cluster
                    + " would exceed " + Long.toUnsignedString(max) + " (refcount_bits=" + (1 << order) + ")");
        }
        Qcow2Layout.setRefcount(block, index, order, nv);
        if (nv == 0 && cluster < hint) {
            hint = cluster; // freed before a later allocation of the same plan (a staged L1 switch)
        }
        if (nv == 0 && cluster < qemuIndex) {
            qemuIndex = cluster; // as update_refcount lowers free_cluster_index
        }
        if (!isNew[b]) {
            int lo = Qcow2Layout.refcountByte(index, order);
            int hi = lo + Qcow2Layout.refcountByteSpan(order);
            if (dirtyHi[b] == 0) {
                if (dirtyCount == dirtyList.length) {
                    dirtyList = Arrays.copyOf(dirtyList, dirtyCount * 2);
                }
                dirtyList[dirtyCount++] = b;
                dirtyLo[b] = lo;
                dirtyHi[b] = hi;
            } else {
                dirtyLo[b] = Math.min(dirtyLo[b], lo);
                dirtyHi[b] = Math.max(dirtyHi[b], hi);
            }
        }
    }

    private void createBlock(int b) {
        if (b >= blocks.length) {
            int n = Math.max(b + 1, blocks.length * 2);
            blocks = Arrays.copyOf(blocks, n);
            offsets = Arrays.copyOf(offsets, n);
            isNew = Arrays.copyOf(isNew, n);
            dirtyLo = Arrays.copyOf(dirtyLo, n);
            dirtyHi = Arrays.copyOf(dirtyHi, n);
        }
        blocks[b] = new byte[(int) clusterSize];
        offsets[b] = -1;
        isNew[b] = true;
        pending.add(b);
        newBlocks.add(b);
    }

    /** Marks {@code length} bytes at {@code offset} as {@code what}, metadata in use. */
    void protect(long offset, long length, String what) {
        protect(offset, length, what, what, "", -1);
    }

    /**
     * Marks {@code length} bytes at {@code offset} as {@code what} (one of the structures of
     * {@code kind}), placed there by {@code field} at byte {@code fieldOffset} of the file.
     */
    void protect(long offset, long length, String what, String kind, String field, long fieldOffset) {
        if (length <= 0 || offset < 0) {
            return;
        }
        long first = offset >>> g.clusterBits();
        long end = (offset + length + clusterSize - 1) >>> g.clusterBits();
        toProtect.add(new Object[] {first, end, what, kind, field, fieldOffset});
    }

    /**
     * Refuses an image where two kinds of metadata share a cluster (an L1 table over the
     * refcount table, an L2 table over the header, a refcount block over an L1 table...).
     * qemu opens such an image, but its metadata overlap check refuses the writes a resize
     * makes there, and what DiskPlan would write to one structure changes the other. The
     * structure named is the one placed second in the file (by its field), over the one
     * placed before it.
     */
    void checkOverlaps(String path) throws ResizeError {
        List<Object[]> all = new ArrayList<>(toProtect);
        all.sort(ByStartThenLongestFirst.INSTANCE);
        Object[] cover = null;
        for (Object[] r : all) {
            if (cover != null && (long) r[0] < (long) cover[1] && !cover[3].equals(r[3])) {
                Object[] named = "".equals(r[4]) && !"".equals(cover[4]) ? cover : r;
                Object[] other = named == r ? cover : r;
                long at = Math.max((long) r[0], (long) cover[0]) << g.clusterBits();
                throw new ResizeError(ErrorCode.NEEDS_REPAIR, "'" + path + "' is damaged and DiskPlan will not "
                        + "resize it: the " + named[2] + " (" + named[4] + " at offset " + named[5] + ") overlaps the "
                        + other[2] + " at host offset " + at + "; qemu's metadata overlap check refuses writes there",
                        new ResizeError.Location(ResizeError.Kind.CORRUPT, (String) named[4], (long) named[5]));
            }
            if (cover == null || (long) r[1] > (long) cover[1]) {
                cover = r;
            }
        }
        List<long[]> runs = new ArrayList<>();
        List<String> whats = new ArrayList<>();
        for (Object[] r : all) {
            long a = (long) r[0];
            long b = (long) r[1];
            if (!runs.isEmpty() && a < runs.get(runs.size() - 1)[1]) {
                long[] last = runs.get(runs.size() - 1);
                last[1] = Math.max(last[1], b);
            } else {
                runs.add(new long[] {a, b});
                whats.add((String) r[2]);
            }
        }
        metaRuns = runs.toArray(new long[0][]);
        metaWhat = whats.toArray(new String[0]);
    }

    /**
     * The first metadata cluster at or after {@code from} whose refcount on disk is 0, or -1:
     * a shrink that cuts the file by the refcounts would cut it off.
     */
    long zeroRefcountMetadataFrom(long from) throws ResizeError {
        for (long[] r : metaRuns) {
            for (long c = Math.max(from, r[0]); c < r[1]; c++) {
                if (originalRefcount(c) == 0) {
                    return c;
                }
            }
        }
        return -1;
    }

    /** Where the file holds the refcount of {@code cluster} (the byte with its entry), or -1. */
    long refcountEntryOffset(long cluster) {
        long bi = cluster >>> blockBits;
        if (bi >= oldTable.length || (oldTable[(int) bi] & Qcow2Header.REFT_OFFSET_MASK) == 0) {
            return -1;
        }
        long index = cluster & ((1L << blockBits) - 1);
        return (oldTable[(int) bi] & Qcow2Header.REFT_OFFSET_MASK) + ((index << order) >>> 3);
    }

    /** The metadata runs (first cluster, one past the last) {@link #checkOverlaps} found, in order. */
    private long[][] metaRuns = new long[0][];
    private String[] metaWhat = new String[0];

    /**
     * What metadata lies in host clusters {@code first} up to (not including) {@code end}, or
     * null: for a guest data cluster, which must never share a cluster with metadata.
     */
    String metadataIn(long first, long end) {
        int lo = 0;
        int hi = metaRuns.length - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (metaRuns[mid][1] <= first) {
                lo = mid + 1;
            } else if (metaRuns[mid][0] >= end) {
                hi = mid - 1;
            } else {
                return metaWhat[mid];
            }
        }
        return null;
    }

    /** Merges the protected ranges into disjoint runs, so that one lookup finds any overlap. */
    private void mergeProtected() {
        if (toProtect.isEmpty()) {
            return;
        }
        toProtect.sort(ByStart.INSTANCE);
        long curStart = -1;
        long curEnd = -1;
        String curWhat = "";
        for (Object[] r : toProtect) {
            long a = (long) r[0];
            long b = (long) r[1];
            if (a < curEnd) {
                curEnd = Math.max(curEnd, b);
                continue;
            }
            if (curStart >= 0) {
                inUse.put(curStart, new Object[] {curEnd, curWhat});
            }
            curStart = a;
            curEnd = b;
            curWhat = (String) r[2];
        }
        inUse.put(curStart, new Object[] {curEnd, curWhat});
        toProtect.clear();
    }

    /** Marks every refcount block and the table itself as in use. */
    void protectOwn() {
        protect(tableOffset, tableEntries * 8L, "refcount table", "refcount table", "refcount_table_offset",
                Qcow2Layout.OFF_REFCOUNT_TABLE_OFFSET);
        for (int b = 0; b < offsets.length && b < oldTable.length; b++) {
            long off = oldTable[b] & Qcow2Header.REFT_OFFSET_MASK;
            if (off != 0) {
                protect(off, clusterSize, "refcount block " + b, "refcount block", "refcount table entry " + b,
                        tableOffset + 8L * b);
            }
        }
    }

    /**
     * Allocates {@code n} contiguous free clusters, first fit from the start of the file
     * (or, with {@code pastEnd}, only past the end of the file and of everything allocated
     * so far), counts them, and places the refcount blocks that needs. Returns the first
     * cluster's host offset.
     */
    long allocate(long n, boolean pastEnd) throws ResizeError {
        long c = pastEnd ? Math.max(allocatedEnd, g.clustersFor(fileSize)) : qemuMode ? qemuIndex : hint;
        long start = c;
        while (c - start < n) {
            if (get(c) != 0) {
                start = c + 1;
            }
            c++;
        }
        mergeProtected();
        var before = inUse.lowerEntry(start + n);
        if (before != null && (long) before.getValue()[0] > start) {
            // Metadata the plan itself freed may be reused; metadata whose refcount was 0 on
            // disk may not.
            long to = Math.min(start + n, (long) before.getValue()[0]);
            for (long c0 = Math.max(start, before.getKey()); c0 < to; c0++) {
                if (originalRefcount(c0) == 0) {
                    throw Qcow2Planner.corrupt("cluster " + c0 + " (offset " + (c0 << g.clusterBits())
                            + ") holds the " + before.getValue()[1] + " but its refcount is 0; qemu's metadata "
                            + "overlap check refuses to write there");
                }
            }
        }
        for (long i = 0; i < n; i++) {
            add(start + i, 1);
        }
        allocatedEnd = Math.max(allocatedEnd, start + n);
        allocatedClusters += n;
        qemuIndex = start + n;
        while (get(hint) != 0) {
            hint++;
        }
        placePending();
        return start << g.clusterBits();
    }

    /**
     * Gives every new refcount block a cluster. Placing one may need another new block;
     * that one is placed by the same loop, not by a nested call (the nesting was as deep
     * as the number of new blocks: a 512-byte-cluster image preallocated to 4 GiB
     * overflowed the stack). The order of placement is the nested one's.
     */
    private void placePending() throws ResizeError {
        if (placing) {
            return;
        }
        placing = true;
        try {
            while (!pending.isEmpty()) {
                // qemu places a block as it first counts a cluster in its range, in that order
                int b = pending.remove(qemuMode ? 0 : pending.size() - 1);
                offsets[b] = allocate(1, false);
            }
        } finally {
            placing = false;
        }
    }

    /**
     * A new refcount block {@code b} at {@code offset}, as qcow2_refcount_area places its new
     * blocks (one after another at the start of the area), counted by the caller.
     */
    void placeBlockAt(int b, long offset) throws ResizeError {
        loaded();
        if (exists(b)) {
            throw new NotExact("refcount block " + b + " exists already");
        }
        createBlock(b);
        pending.remove(Integer.valueOf(b));
        offsets[b] = offset;
    }

    /**
     * Counts {@code n} clusters from {@code first} on, as qcow2_alloc_clusters_at does (free
     * clusters, qemu's free_cluster_index left where it is); every one must be covered by a
     * block already in the table.
     */
    void allocateAt(long first, long n) throws ResizeError {
        for (long c = first; c < first + n; c++) {
            if (get(c) != 0 || !exists((int) (c >>> blockBits))) {
                throw new NotExact("cluster " + c + " of the preallocated area is in use or not covered");
            }
            add(c, 1);
        }
        allocatedEnd = Math.max(allocatedEnd, first + n);
        allocatedClusters += n;
    }

    /**
     * qemu's free_cluster_index as the plan's allocations and frees so far would leave it
     * (0 when the image is opened; past each allocation; lowered by a refcount dropping to 0).
     */
    private long qemuIndex;

    /**
     * Allocates {@code n} contiguous clusters first fit from {@code from}, leaving qemu's
     * free_cluster_index where it was (a structure that qemu would not allocate).
     */
    long allocateFrom(long from, long n) throws ResizeError {
        long savedHint = hint;
        long savedIndex = qemuIndex;
        boolean savedMode = qemuMode;
        int blocksBefore = newBlocks.size();
        hint = Math.max(hint, from);
        qemuMode = false;
        try {
            long at = allocate(n, false);
            for (int b : newBlocks.subList(blocksBefore, newBlocks.size())) {
                if (offsets[b] < from << g.clusterBits() || (long) b << blockBits < from) {
                    throw new NotExact("a temporary structure needs a refcount block below " + from);
                }
            }
            return at;
        } finally {
            hint = savedHint;
            qemuIndex = savedIndex;
            qemuMode = savedMode;
        }
    }

    /**
     * Allocation as qemu's alloc_clusters_noref does it: scanning from free_cluster_index
     * (0 when the image is opened), restarting after any cluster in use, and placing new
     * refcount blocks the same way, in the order their ranges are first counted. Otherwise
     * first fit from the first free cluster.
     */
    private boolean qemuMode;

    void qemuMode(boolean on) {
        qemuMode = on;
    }

    boolean qemuMode() {
        return qemuMode;
    }

    /**
     * A digest of the state qemu's next allocations depend on: the refcounts of clusters
     * {@code 0..limit-1}, the live refcount table, and free_cluster_index.
     */
    long digest(long limit) throws ResizeError {
        long h = tableOffset * 31 + tableEntries;
        h = h * 31 + qemuIndex;
        for (long c = 0; c < limit; c++) {
            h = h * 1_000_003 + get(c);
        }
        return h;
    }

    /** Whether {@code b} is a block in the table (existing or added by the plan). */
    boolean hasBlock(int b) {
        return exists(b);
    }

    int blockCount() {
        return blocks.length;
    }

    /** The last host cluster below {@code limit} with a non-zero refcount, -1 if none. */
    long lastUsedClusterBelow(long limit) throws ResizeError {
        for (long c = Math.min(limit, (long) blocks.length << blockBits) - 1; c >= 0; c--) {
            int b = (int) (c >>> blockBits);
            if (blocks[b] == null) {
                c = ((long) b << blockBits);
                continue;
            }
            if (get(c) != 0) {
                return c;
            }
        }
        return -1;
    }

    /** The plan cannot reproduce qemu's layout exactly; the caller falls back. */
    static final class NotExact extends RuntimeException {
        NotExact(String why) {
            super(why, null, false, false);
        }
    }

    /** Inside {@link #placePending}: a nested call leaves the work to the running loop. */
    private boolean placing;

    long allocatedClusters() {
        return allocatedClusters;
    }

    /** One past the last byte the plan allocated (0 if nothing). */
    long allocatedEndOffset() {
        return allocatedEnd << g.clusterBits();
    }

    /** Whether the current table lacks an entry for some block: the table must grow. */
    boolean tableTooSmall() {
        return highestBlock() >= tableEntries;
    }

    int highestBlock() {
        for (int b = blocks.length - 1; b >= 0; b--) {
            if (exists(b)) {
                return b;
            }
        }
        return -1;
    }

    /** Writes of the changed byte ranges of existing blocks since the last call. */
    List<Write> dirtyWrites(String label) {
        int[] list = Arrays.copyOf(dirtyList, dirtyCount);
        Arrays.sort(list);
        List<Write> out = new ArrayList<>();
        for (int b : list) {
            if (blocks[b] == null) {
                continue;
            }
            out.add(new Write(offsets[b] + dirtyLo[b], Arrays.copyOfRange(blocks[b], dirtyLo[b], dirtyHi[b]),
                    label, RegionKind.REFCOUNT));
            dirtyLo[b] = 0;
            dirtyHi[b] = 0;
        }
        dirtyCount = 0;
        return out;
    }

    /** Whole-cluster writes of the new blocks (their places chosen), in offset order. */
    List<Write> newBlockWrites() {
        List<Write> out = new ArrayList<>();
        for (int b : newBlocks) {
            out.add(new Write(offsets[b], blocks[b].clone(), "new refcount block " + b, RegionKind.REFCOUNT));
        }
        out.sort(WriteOrder.INSTANCE);
        return out;
    }

    /**
     * The new blocks so far have been written and linked: from now on they are changed
     * like existing blocks (dirty ranges), and later calls list only blocks added after.
     */
    void markNewBlocksWritten() {
        for (int b : newBlocks) {
            isNew[b] = false;
        }
        newBlocks.clear();
    }

    /**
     * New blocks with their offsets, in the order they may be linked into the live
     * table one by one: a block only after the new block that counts it (a block counted by
     * itself or by an existing block first), so that no prefix makes a block reachable whose
     * own refcount is not visible yet.
     */
    List<BlockLink> newBlockLinks() {
        List<BlockLink> out = new ArrayList<>();
        java.util.Set<Integer> done = new java.util.HashSet<>();
        List<Integer> sorted = new ArrayList<>(newBlocks);
        java.util.Collections.sort(sorted);
        for (int b : sorted) {
            link(b, done, out, new java.util.HashSet<>());
        }
        return out;
    }

    /** Refcount block {@code block}, at {@code offset} of the file. */
    record BlockLink(int block, long offset) {
    }

    private void link(int b, java.util.Set<Integer> done, List<BlockLink> out, java.util.Set<Integer> path) {
        if (done.contains(b) || !path.add(b)) {
            return;
        }
        int counter = (int) ((offsets[b] >>> g.clusterBits()) >>> blockBits);
        if (counter != b && isNew[counter] && newBlocks.contains(counter)) {
            link(counter, done, out, path);
        }
        done.add(b);
        out.add(new BlockLink(b, offsets[b]));
    }

    /**
     * The table as it must be for every block, new ones included, padded to
     * {@code clusters} clusters, big-endian.
     */
    byte[] tableBytes(long clusters) {
        java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate((int) (clusters * clusterSize));
        int n = Math.min(Math.max(blocks.length, oldTable.length), (int) (clusters * clusterSize / 8));
        for (int b = 0; b < n; b++) {
            if (exists(b)) {
                buf.putLong(b * 8, offsets[b]);
            } else if (b < oldTable.length) {
                buf.putLong(b * 8, oldTable[b]);
            }
        }
        return buf.array();
    }

    /** Whether block {@code b} exists and is one this plan did not add. */
    boolean existingBlock(int b) {
        return exists(b) && !isNew[b];
    }

    long blockOffset(int b) {
        return offsets[b];
    }

    /**
     * Whether existing block {@code b} now counts nothing but (possibly) itself, as
     * qcow2_shrink_reftable tests it.
     */
    boolean unusedBlock(int b) throws ResizeError {
        loaded();
        byte[] block = blocks[b];
        long self = offsets[b] >>> g.clusterBits();
        int selfIndex = (self >>> blockBits) == b ? (int) (self & ((1L << blockBits) - 1)) : -1;
        int skipLo = selfIndex < 0 ? -1 : Qcow2Layout.refcountByte(selfIndex, order);
        int skipHi = selfIndex < 0 ? -1 : skipLo + Qcow2Layout.refcountByteSpan(order);
        for (int i = 0; i < block.length; i++) {
            if (block[i] != 0) {
                if (i >= skipLo && i < skipHi) {
                    // the byte holding the self entry: zero apart from that entry?
                    if ((block[i] & ~Qcow2Layout.subByteMask(selfIndex, order) & 0xff) != 0) {
                        return false;
                    }
                    continue;
                }
                return false;
            }
        }
        return true;
    }

    /** Forgets block {@code b} (dropped from the table): its clusters read as free. */
    void drop(int b) throws ResizeError {
        loaded();
        blocks[b] = null;
        dirtyLo[b] = 0;
        dirtyHi[b] = 0;
    }

    /** The last host cluster with a non-zero refcount, -1 if none (qcow2_get_last_cluster). */
    long lastUsedCluster() throws ResizeError {
        loaded();
        for (int b = blocks.length - 1; b >= 0; b--) {
            byte[] block = blocks[b];
            if (block == null) {
                continue;
            }
            for (int at = block.length - 1; at >= 0; at--) {
                if (block[at] == 0) {
                    continue;
                }
                // the last entry with a bit in this byte that is set
                int perByte = order < 3 ? 8 >>> order : 1;
                int firstEntry = (int) (((long) at << 3) >>> order);
                for (int i = firstEntry + perByte - 1; i >= firstEntry; i--) {
                    if (Qcow2Layout.refcount(block, i, order) != 0) {
                        return ((long) b << blockBits) + i;
                    }
                }
            }
        }
        return -1;
    }

    static ResizeError readFailed(ProbeException e) {
        return new ResizeError(e.code(), e.getMessage());
    }

    /** Protected ranges ({@code {first, end, ...}}) by first cluster. */
    private static final class ByStart implements java.util.Comparator<Object[]> {
        static final ByStart INSTANCE = new ByStart();

        @Override
        public int compare(Object[] a, Object[] b) {
            return Long.compare((long) a[0], (long) b[0]);
        }
    }

    /** Protected ranges by first cluster, then the one reaching further first. */
    private static final class ByStartThenLongestFirst implements java.util.Comparator<Object[]> {
        static final ByStartThenLongestFirst INSTANCE = new ByStartThenLongestFirst();

        @Override
        public int compare(Object[] a, Object[] b) {
            int c = Long.compare((long) a[0], (long) b[0]);
            return c != 0 ? c : Long.compare(-(long) a[1], -(long) b[1]);
        }
    }

    /** Writes by offset. */
    private static final class WriteOrder implements java.util.Comparator<Write> {
        static final WriteOrder INSTANCE = new WriteOrder();

        @Override
        public int compare(Write x, Write y) {
            return Long.compare(x.offset(), y.offset());
        }
    }
}
