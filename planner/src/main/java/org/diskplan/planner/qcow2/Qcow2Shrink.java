package org.diskplan.planner.qcow2;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.diskplan.abi.ResizeAction;
import org.diskplan.planner.FormatOptions;
import org.diskplan.planner.PlanReader;
import org.diskplan.planner.ResizeError;
import org.diskplan.planner.ResizePatch;
import org.diskplan.planner.ResizePatch.Write;
import org.diskplan.planner.ResizePlan;
import org.diskplan.planner.ResizeRequest;
import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.RegionKind;
import org.diskplan.probe.qcow2.Qcow2Header;

/**
 * A qcow2 shrink: every cluster mapped only past the new end is released (compressed entries
 * release every host cluster they touch), L2 tables wholly past the end are dropped from the
 * L1 table, a partly cut L2 table shared with a snapshot is copied first, refcount blocks left
 * empty are dropped, and the file is cut after its last cluster in use. The header write is
 * the commit; everything that goes away goes after it.
 */
final class Qcow2Shrink extends Qcow2Resize {
    Qcow2Shrink(ProbedImage image, PlanReader reader, ResizeRequest request, Qcow2Header h, Qcow2Geometry g,
               FormatOptions.Qcow2 options, boolean zeroNewRange, java.nio.file.Path dataFile) throws ResizeError {
        super(image, reader, request, h, g, options, zeroNewRange, dataFile);
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
        long discardEnd = bitmapMode == BitmapMode.LEGACY ? 0 : qemuDiscardEnd(l1, oldSize, newSize);
        if (bitmapMode != BitmapMode.LEGACY && partial < 0 && firstTable < newL1 && firstTable < l1.length
                && firstTable * e < cutCluster && cutCluster < g.clustersFor(oldSize) && l1[(int) firstTable] == 0) {
            // qemu's discard gets the L2 table the new end cuts part-way as for a write: without one
            // it makes an empty one, which stays (the first allocation of the shrink, as qemu's)
            long at = model.allocate(1, false);
            fresh.add(new Write(at, new byte[(int) cs], "empty L2 table " + firstTable + " (qemu's discard of the "
                    + "range past the new end makes it)", RegionKind.TABLE));
            removals.add(new Write(h.l1TableOffset() + firstTable * 8,
                    ByteBuffer.allocate(8).putLong(at | Qcow2Header.OFLAG_COPIED).array(),
                    "L1 entry " + firstTable + ": the empty L2 table", RegionKind.TABLE));
        }
        resizeBitmaps(newSize);
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
        int commit = plan.commit(new Write(Qcow2Header.OFF_SIZE, commitBytes(hb.array(), end),
                "qcow2 header: size" + (tableGrows ? ", refcount_table_offset, refcount_table_clusters" : "")
                        + (bitmapDirField >= 0 ? ", bitmap directory offset" : "") + " (commit)", RegionKind.HEADER));
        emitPhase(removals);
        applyDecrements();
        emitPhase(model.dirtyWrites("refcount decrements for the released clusters"));
        if (!tableGrows) {
            shrinkRefcountTable();
        }
        long last = tempFloor == Long.MAX_VALUE ? model.lastUsedCluster() : model.lastUsedClusterBelow(tempFloor);
        long newFileSize = last < 0 ? fileSize : Math.min(fileSize, (last + 1) * cs);
        if (bitmapMode != BitmapMode.LEGACY) {
            // qemu cuts after the last cluster in use when that is shorter than the file as its
            // discard left it (lengthened by the L2 tables it made), in whole sectors
            long grown = Math.max(fileSize, discardEnd);
            long sectors = (grown + 511) / 512 * 512;
            newFileSize = last >= 0 && (last + 1) * cs < sectors ? (last + 1) * cs : grown;
        }
        newFileSize = Math.max(newFileSize, freshEnd);
        if (newFileSize < fileSize) {
            checkCut(newFileSize);
        }
        if (dataFile != null) {
            // qemu cuts the data file to the new size (never longer), after the commit
            long length = dataFileLength();
            int df = plan.file(dataFile, org.diskplan.planner.PlanFile.Role.DATA_FILE, length);
            if (length > newSize) {
                plan.finalLength(df, newSize);
                plan.note("the external data file is cut to the new size, " + newSize + " bytes");
            }
        }
        newFileSize = storeBitmaps(newFileSize, newSize);
        return finish(ResizeAction.SHRINK, oldSize, newSize, newFileSize, commit);
    }


    /**
     * Where the file ends after qemu's discard of the range past the new end
     * (qcow2_cluster_discard), 0 if it writes nothing past the end: the discard gets each L2
     * table of the range as for a write, so an L1 entry of 0 gets a new, empty L2 table
     * (written, allocated by qemu's scan, interleaved with the clusters the discard frees), and
     * qcow2_shrink_l1_table frees them all again. Simulated on a scratch copy of the refcounts;
     * only the length it leaves matters (qemu's cut compares with it).
     */
    private long qemuDiscardEnd(long[] l1, long oldSize, long newSize) throws ResizeError {
        if (h.nbSnapshots() > 0) {
            throw new RefcountModel.NotExact("snapshots: L2 tables shared");
        }
        RefcountModel scratch = RefcountModel.load(g, reader, h.refcountTableOffset(), h.refcountTableClusters());
        scratch.qemuMode(true);
        long e = g.l2Entries();
        int es = g.l2EntrySize();
        long cut = g.clustersFor(newSize);
        long oldClusters = g.clustersFor(oldSize);
        long end = 0;
        for (long i = cut / e; i * e < oldClusters && i < l1.length; i++) {
            long off = l1[(int) i] & Qcow2Header.L1E_OFFSET_MASK;
            if (off == 0) {
                // past the new L1 size freed again; the one the new end cuts part-way stays (see shrink)
                end = Math.max(end, scratch.allocate(1, false) + cs);
                continue;
            }
            if ((l1[(int) i] & Qcow2Header.OFLAG_COPIED) == 0) {
                throw new RefcountModel.NotExact("an L2 table without the copied flag");
            }
            byte[] l2 = readL2(off);
            long from = Math.max(cut, i * e) - i * e;
            long to = Math.min(oldClusters, (i + 1) * e) - i * e;
            for (long j = from; j < to; j++) {
                long entry = getLong(l2, (int) (j * es));
                if (entry == 0) {
                    continue;
                }
                if ((entry & Qcow2Header.OFLAG_COMPRESSED) != 0) {
                    for (long c = g.compressedFirstCluster(entry); c <= g.compressedLastCluster(entry); c++) {
                        scratch.add(c, -1);
                    }
                    continue;
                }
                long host = entry & Qcow2Header.L2E_OFFSET_MASK;
                if (host != 0 && dataFile == null) {
                    scratch.add(host >>> g.clusterBits(), -1);
                }
            }
        }
        if (scratch.tableTooSmall()) {
            throw new RefcountModel.NotExact("qemu's discard grows the refcount table");
        }
        for (Write w : scratch.newBlockWrites()) {
            end = Math.max(end, w.end());
        }
        return end;
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
                    throw Qcow2Planner.corrupt("compressed L2 entry " + table + "/" + j + " points outside the file");
                }
                for (long c = firstHost; c <= lastHost; c++) {
                    model.add(c, -1);
                }
                continue;
            }
            long off = entry & Qcow2Header.L2E_OFFSET_MASK;
            if (off == 0 || dataFile != null) {
                // a zero cluster without a host cluster, or one in the external data file
                // (which the image's refcounts do not count): nothing to release here
                continue;
            }
            if ((off & (cs - 1)) != 0 || off > fileSize - 1) {
                throw Qcow2Planner.corrupt("L2 entry " + table + "/" + j + " (" + Long.toHexString(entry)
                        + ") is unaligned or points past the end of the file");
            }
            model.add(off >>> g.clusterBits(), -1);
        }
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
}
