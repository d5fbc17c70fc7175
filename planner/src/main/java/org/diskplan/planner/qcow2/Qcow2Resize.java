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

    /** Host clusters {@code first..last}, both included. */
    record ClusterRange(long first, long last) {
    }

    Qcow2Resize(ProbedImage image, PlanReader reader, ResizeRequest request, Qcow2Header h, Qcow2Geometry g,
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
        this.header = reader.read(0, Qcow2Planner.HEADER_CHECKED, "qcow2 header");
        this.plan = new PlanBuilder(ImageFormat.QCOW2, options, request, image.path(), fileSize);
        this.model = RefcountModel.load(g, reader, h.refcountTableOffset(), h.refcountTableClusters());
        protectMetadata();
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
        model.protect(h.l1TableOffset(), h.l1Size() * 8, "active L1 table");
        for (long e : readL1()) {
            long off = e & Qcow2Header.L1E_OFFSET_MASK;
            if (off != 0) {
                model.protect(off, cs, "L2 table");
            }
        }
        if (h.nbSnapshots() > 0) {
            long tableEnd = h.snapshotsOffset();
            for (Qcow2Header.Snapshot s : h.snapshots()) {
                tableEnd = Math.max(tableEnd, s.offset() + s.entryLength());
                model.protect(s.l1TableOffset(), s.l1Size() * 8, "L1 table of snapshot " + s.id());
            }
            model.protect(h.snapshotsOffset(), tableEnd - h.snapshotsOffset(), "snapshot table");
        }
        for (Qcow2Header.Bitmap b : h.bitmaps()) {
            model.protect(b.offset(), 1, "bitmap directory");
            model.protect(b.tableOffset(), b.tableSize() * 8, "bitmap table of '" + b.name() + "'");
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
