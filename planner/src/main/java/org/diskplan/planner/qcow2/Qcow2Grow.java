package org.diskplan.planner.qcow2;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.diskplan.abi.ErrorCode;
import org.diskplan.abi.Preallocation;
import org.diskplan.abi.ResizeAction;
import org.diskplan.planner.FormatOptions;
import org.diskplan.planner.PlanReader;
import org.diskplan.planner.ResizeError;
import org.diskplan.planner.ResizePatch.Extend;
import org.diskplan.planner.ResizePatch.Write;
import org.diskplan.planner.ResizePatch.ZeroFill;
import org.diskplan.planner.ResizePlan;
import org.diskplan.planner.ResizeRequest;
import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.RegionKind;
import org.diskplan.probe.qcow2.Qcow2Header;

/**
 * A qcow2 grow, as qcow2_co_truncate does it: a bigger L1 table when the new size needs one
 * (old entries copied, switched in the same header write as the size), refcount blocks and
 * a bigger refcount table when the new clusters need them, and with preallocation the new
 * range mapped to fresh data clusters past the end of the file (sparse, reserved or zeroed).
 * New structures first, then increments and links, the header write (the commit), then the
 * decrements of what the old tables held.
 */
final class Qcow2Grow extends Qcow2Resize {
    Qcow2Grow(ProbedImage image, PlanReader reader, ResizeRequest request, Qcow2Header h, Qcow2Geometry g,
               FormatOptions.Qcow2 options, boolean zeroNewRange, java.nio.file.Path dataFile) throws ResizeError {
        super(image, reader, request, h, g, options, zeroNewRange, dataFile);
    }



    // ---------------------------------------------------------------- grow

    /**
     * The new range is mapped onto the same offsets of the external data file: always for a
     * raw data file, and for any preallocation (qemu maps a data file's clusters one for one
     * and preallocates the data file itself, not the image file).
     */
    private boolean identityMapped() {
        return dataFile != null && (rawDataFile || request.preallocation() != Preallocation.OFF);
    }

    ResizePlan grow(long oldSize, long newSize) throws ResizeError {
        long newL1 = g.l1EntriesFor(newSize);
        if (newL1 > Integer.MAX_VALUE / 8 || newL1 * 8 > Qcow2Geometry.MAX_L1_BYTES) {
            throw new ResizeError(ErrorCode.INVALID_NEW_SIZE, "Failed to grow the L1 table: File too large");
        }
        Preallocation mode = request.preallocation();
        boolean l1Grows = newL1 > h.l1Size();
        boolean mapNewRange = mode != Preallocation.OFF || zeroNewRange || identityMapped();
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
        // falloc and full as qemu lays them out when the bitmaps are planned exactly: a refcount
        // area at the end of the file (qcow2_refcount_area), then the data, then the L2 tables
        boolean area = model.qemuMode() && (mode == Preallocation.FALLOC || mode == Preallocation.FULL)
                && dataFile == null && g.clustersFor(newSize) > oldSize / cs;
        // the refcount table the header names when the commit is written (a staged header write may move it)
        long liveTableOffset = h.refcountTableOffset();
        long liveTableClusters = h.refcountTableClusters();
        long l1LinkBase = h.l1TableOffset();
        if (staged) {
            fresh.add(new Write(newL1Offset, entriesBytes(newL1Entries, newL1 * 8), "new L1 table ("
                    + h.l1Size() + " entries copied, " + (newL1 - h.l1Size()) + " added)", RegionKind.TABLE));
            long blocksNeeded = blocksNeededAfter(oldSize, newSize);
            if (area && model.tableTooSmall()) {
                // qemu's alloc_refcount_block grows the table here, by a refcount area of its own
                throw new RefcountModel.NotExact("the bigger L1 table needs a bigger refcount table");
            }
            boolean preGrow = !area && (model.tableTooSmall() || blocksNeeded > model.tableEntries());
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
                liveTableOffset = preTableOffset;
                liveTableClusters = preTableClusters;
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
        if (area) {
            long[] live = refcountArea(g.clustersFor(newSize) - oldSize / cs, tableClusters);
            liveTableOffset = live[0];
            liveTableClusters = live[1];
            tableClusters = live[1];
        }
        List<Write> l2Links = new ArrayList<>();
        long[] l1Before = newL1Entries.clone();
        if (mapNewRange) {
            mapNewRange(oldSize, newSize, newL1Entries, l2Links);
        }
        resizeBitmaps(newSize);
        boolean tableGrows = false;
        long newTableOffset = h.refcountTableOffset();
        long newTableClusters = h.refcountTableClusters();
        if (model.tableTooSmall()) {
            if (area) {
                throw new RefcountModel.NotExact("the L2 tables need a bigger refcount table than the area's");
            }
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
            liveTableOffset = newTableOffset;
            liveTableClusters = newTableClusters;
            emitPhase(List.of(new Write(Qcow2Header.OFF_REFCOUNT_TABLE_OFFSET, rt.array(),
                    "qcow2 header: refcount_table_offset, "
                    + "refcount_table_clusters (the bigger refcount table; the size is unchanged)",
                    RegionKind.HEADER)));
        }
        emitPhase(references);
        if (dataFile != null) {
            // qemu truncates the data file to the new size (never shorter than it is): the
            // range reads as zeros either way, so it goes before the commit.
            long length = dataFileLength();
            int df = plan.file(dataFile, org.diskplan.planner.PlanFile.Role.DATA_FILE, length);
            // a raw data file covers the last mapped cluster whole, as qemu's preallocation of it
            long target = identityMapped() ? g.clustersFor(newSize) * cs : newSize;
            if (target > length) {
                String label = "external data file: the new length";
                emitPhase(List.of(mode == Preallocation.FALLOC || mode == Preallocation.FULL
                        ? new org.diskplan.planner.ResizePatch.ZeroFill(df, length, target - length,
                                mode == Preallocation.FALLOC, label + " (preallocation=" + mode.qemuName() + ")",
                                RegionKind.DATA)
                        : new org.diskplan.planner.ResizePatch.Extend(df, length, target - length,
                                label + " (sparse)", RegionKind.DATA)));
            }
        }
        // the commit: size, and the L1 and refcount table switches, in one header write
        boolean l1InCommit = l1Grows && !staged;
        int end = l1InCommit ? Qcow2Header.OFF_L1_TABLE_OFFSET + 8 : Qcow2Header.OFF_SIZE + 8;
        ByteBuffer hb = ByteBuffer.wrap(header.clone());
        hb.putLong(Qcow2Header.OFF_SIZE, newSize);
        if (l1Grows) {
            hb.putInt(Qcow2Header.OFF_L1_SIZE, (int) newL1);
            hb.putLong(Qcow2Header.OFF_L1_TABLE_OFFSET, newL1Offset);
        }
        // with the bitmap directory switching, the write reaches the bitmaps extension and carries
        // every header field as the earlier steps leave it: the final L1 table and the refcount
        // table a staged header write may have switched to
        hb.putLong(Qcow2Header.OFF_REFCOUNT_TABLE_OFFSET, liveTableOffset);
        hb.putInt(Qcow2Header.OFF_REFCOUNT_TABLE_CLUSTERS, (int) liveTableClusters);
        byte[] commitBytes = commitBytes(hb.array(), end);
        int commit = plan.commit(new Write(Qcow2Header.OFF_SIZE, commitBytes,
                "qcow2 header: size" + (l1InCommit ? ", l1_size, l1_table_offset" : "")
                + (bitmapDirField >= 0 ? ", bitmap directory offset" : "") + " (commit)", RegionKind.HEADER));
        if (l1InCommit && h.l1Size() > 0) {
            decrements.add(new ClusterRange(h.l1TableOffset() / cs, (h.l1TableOffset() + h.l1Size() * 8 - 1) / cs));
        }
        if (tableGrows) {
            decrements.add(new ClusterRange(model.tableOffset() / cs, model.tableOffset() / cs + tableClusters - 1));
        }
        applyDecrements();
        emitPhase(model.dirtyWrites("refcount decrements for the old tables"));
        long newFileSize = storeBitmaps(Math.max(fileSize, freshEnd), newSize);
        return finish(ResizeAction.GROW, oldSize, newSize, newFileSize, commit);
    }


    /** Where {@link #refcountArea} put the data of a falloc or full grow, -1 if it did not run. */
    private long areaData = -1;

    /**
     * qemu's qcow2_refcount_area before a falloc or full preallocation (qcow2_co_truncate): at
     * the end of the file's last cluster in use, the refcount blocks that the file plus
     * {@code dataClusters} data clusters and their L2 tables (one more for a head or tail) need
     * but lack, one after another, then a new refcount table of exactly the entries that needs
     * (whole clusters), all counted; the table switched in a header write of its own (the size
     * unchanged) and the old one freed (qemu's scan drops to it). Then the data area right
     * after it, counted as qcow2_alloc_clusters_at does (qemu's scan stays where it is: the L2
     * tables go where it finds room). Returns the live table's offset and clusters.
     */
    private long[] refcountArea(long dataClusters, long oldTableClusters) throws ResizeError {
        long fileLen = Math.max(fileSize, model.allocatedEndOffset());
        long start = model.lastUsedClusterBelow(g.clustersFor(fileLen)) + 1;
        long clusters = start + dataClusters + (dataClusters + g.l2Entries() - 1) / g.l2Entries() + 1;
        long perBlock = g.refblockEntries();
        long perTableCluster = cs / 8;
        // qcow2_refcount_metadata_size, exact: the fixed point of blocks and table clusters
        long blocks = 0;
        long table = 0;
        long n = 0;
        long last;
        do {
            last = n;
            blocks = (clusters + table + blocks + perBlock - 1) / perBlock;
            table = (blocks + perTableCluster - 1) / perTableCluster;
            n = clusters + blocks + table;
        } while (n != last);
        long tableClusters = (blocks + perTableCluster - 1) / perTableCluster;
        if (model.highestBlock() >= tableClusters * perTableCluster || blocks > Integer.MAX_VALUE / 2) {
            throw new RefcountModel.NotExact("the refcount area's table would drop a block");
        }
        checkTable(tableClusters);
        long at = start;
        for (long b = start / perBlock; b < blocks; b++) {
            if (!model.hasBlock((int) b)) {
                model.placeBlockAt((int) b, at * cs);
                at++;
            }
        }
        long tableAt = at;
        long end = tableAt + tableClusters;
        for (long c = start; c < end; c++) {
            if (model.get(c) != 0) {
                throw new RefcountModel.NotExact("cluster " + c + " of the refcount area is in use");
            }
            model.add(c, 1);
        }
        if (model.highestBlock() >= tableClusters * perTableCluster || dataClusters <= 0) {
            throw new RefcountModel.NotExact("the refcount area does not cover its blocks (start " + start + ", blocks "
                    + blocks + ", table " + tableAt + "+" + tableClusters + ", highest " + model.highestBlock() + ")");
        }
        model.allocateAt(end, dataClusters);
        areaData = end * cs;
        if (areaData < g.clustersFor(fileSize) * cs) {
            // inside the file: stale bytes there would show through a reservation
            throw new RefcountModel.NotExact("preallocated data inside the file");
        }
        fresh.addAll(model.newBlockWrites());
        fresh.add(new Write(tableAt * cs, model.tableBytes(tableClusters), "new refcount table (" + tableClusters
                + " clusters, after the refcount area's new blocks, as qemu's qcow2_refcount_area puts it)",
                RegionKind.REFCOUNT));
        emitFresh();
        fresh.clear();
        emitPhase(model.dirtyWrites("refcount increments for the refcount area and the preallocated data"));
        model.markNewBlocksWritten();
        emitPhase(List.of(new Write(Qcow2Header.OFF_REFCOUNT_TABLE_OFFSET, ByteBuffer.allocate(12)
                .putLong(tableAt * cs).putInt((int) tableClusters).array(), "qcow2 header: refcount_table_offset, "
                + "refcount_table_clusters (the refcount area's table; the size is unchanged)", RegionKind.HEADER)));
        long old = model.tableOffset() / cs;
        model.switchTable(tableAt * cs, (int) (tableClusters * perTableCluster));
        for (long c = old; c < old + oldTableClusters; c++) {
            model.add(c, -1);
        }
        emitPhase(model.dirtyWrites("refcount decrements for the old refcount table"));
        return new long[] {tableAt * cs, tableClusters};
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
        boolean data = mode != Preallocation.OFF || identityMapped();
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
        // a raw data file holds the data at the guest offsets: nothing is allocated here
        long dataClusters = data && !identityMapped() ? endCluster - firstCluster : 0;
        // L2 tables first (existing ones are filled in place), then the data area. As qemu's
        // metadata preallocation (preallocate_co), when its layout is followed: table by table, a
        // new L2 table then the table's data clusters, both by qemu's scan.
        boolean perTable = model.qemuMode() && mode == Preallocation.METADATA && dataClusters > 0;
        List<Long> chunks = new ArrayList<>();
        List<L2Slot> tables = new ArrayList<>();
        for (long i = firstCluster / e; i <= (endCluster - 1) / e; i++) {
            long entry = l1[(int) i];
            long off = entry & Qcow2Header.L1E_OFFSET_MASK;
            if (off != 0) {
                if ((entry & Qcow2Header.OFLAG_COPIED) == 0) {
                    throw new ResizeError(ErrorCode.PREALLOCATION_UNSUPPORTED, "the L2 table for the new range "
                            + "is shared with a snapshot; DiskPlan does not preallocate into it yet");
                }
                tables.add(new L2Slot(i, off, readL2(off), false));
            } else {
                long at = model.allocate(1, false);
                l1[(int) i] = at | Qcow2Header.OFLAG_COPIED;
                tables.add(new L2Slot(i, at, new byte[(int) cs], true));
            }
            if (perTable) {
                long n = Math.min(endCluster, (i + 1) * e) - Math.max(firstCluster, i * e);
                long at = model.allocate(n, false);
                if (at < g.clustersFor(fileSize) * cs) {
                    // inside the file: stale bytes there would show through (only past its end are they zeros)
                    throw new RefcountModel.NotExact("preallocated data inside the file");
                }
                chunks.add(at);
                fresh.add(new Extend(at, n * cs, "data clusters for the new range of L2 table " + i
                        + " (preallocation=" + mode.qemuName() + ")", RegionKind.DATA));
            }
        }
        long dataOffset = identityMapped() ? firstCluster * cs : areaData >= 0 ? areaData
                : dataClusters > 0 && !perTable ? model.allocate(dataClusters, true) : 0;
        long host = dataOffset;
        int chunk = 0;
        for (L2Slot t : tables) {
            if (perTable) {
                host = chunks.get(chunk++);
            }
            long i = t.index();
            ByteBuffer l2 = ByteBuffer.wrap(t.contents());
            long from = Math.max(firstCluster, i * e);
            long to = Math.min(endCluster, (i + 1) * e);
            for (long gc = from; gc < to; gc++) {
                int at = (int) ((gc - i * e) * es);
                if (l2.getLong(at) != 0 || (es == 16 && l2.getLong(at + 8) != 0)) {
                    throw Qcow2Planner.corrupt("guest cluster " + gc + " past the old end is already mapped");
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
            long off = t.offset();
            if (t.fresh()) {
                fresh.add(new Write(off, t.contents(), "new L2 table " + i + (identityMapped()
                        ? " (the data file's clusters, one for one)" : data ? " (preallocation)"
                        : " (zero clusters)"), RegionKind.TABLE));
            } else {
                int lo = (int) ((from - i * e) * es);
                int hi = (int) ((to - i * e) * es);
                l2Links.add(new Write(off + lo, java.util.Arrays.copyOfRange(t.contents(), lo, hi),
                        "L2 table " + i + (identityMapped() ? ": map the data file's new clusters, one for one"
                                : data ? ": map the new clusters (preallocation)"
                                : ": zero clusters for the new range"), RegionKind.TABLE));
            }
        }
        long length = perTable ? 0 : dataClusters * cs;
        if (length > 0) {
            String label = "data clusters for the new range (preallocation=" + mode.qemuName() + ")";
            fresh.add(mode == Preallocation.OFF || mode == Preallocation.METADATA
                    ? new Extend(dataOffset, length, label, RegionKind.DATA)
                    : new ZeroFill(dataOffset, length, mode == Preallocation.FALLOC, label, RegionKind.DATA));
        }
    }

    /**
     * One L2 table of the new range: its L1 index, where it lies, its contents as the grow
     * fills them, and whether the grow allocates it.
     */
    private record L2Slot(long index, long offset, byte[] contents, boolean fresh) {
    }
}
