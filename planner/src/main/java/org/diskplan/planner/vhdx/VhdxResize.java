package org.diskplan.planner.vhdx;

import static org.diskplan.probe.vhdx.VhdxLayout.*;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeMap;
import java.util.UUID;
import org.diskplan.abi.ErrorCode;
import org.diskplan.abi.ImageFormat;
import org.diskplan.planner.FormatOptions;
import org.diskplan.planner.PlanBuilder;
import org.diskplan.planner.PlanReader;
import org.diskplan.planner.Planners;
import org.diskplan.planner.ResizeError;
import org.diskplan.planner.ResizePatch;
import org.diskplan.planner.ResizePatch.Copy;
import org.diskplan.planner.ResizePatch.Extend;
import org.diskplan.planner.ResizePatch.Write;
import org.diskplan.planner.ResizePatch.ZeroFill;
import org.diskplan.planner.ResizePlan;
import org.diskplan.planner.ResizeRequest;
import org.diskplan.probe.Guids;
import org.diskplan.probe.ImageReader;
import org.diskplan.probe.ProbeException;
import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.RegionKind;
import org.diskplan.probe.vhdx.VhdxHeader;
import org.diskplan.probe.vhdx.VhdxLog;

// No lambdas or streams here: this class runs on the command line's start-up path (see ReadWatch / issue 20).
/**
 * One VHDX resize, planned the way the format intends metadata to change: through its log.
 *
 * <ol>
 *   <li>New structures nothing refers to yet: the file extended to the last_file_offset of a
 *       log left to replay (as its replay does), a bigger BAT region at a 1 MiB-aligned offset
 *       past everything in use when the old one is too small (the old entries copied, new
 *       ones written or left as sparse zeros), a fixed image's new blocks (sparse zeros);
 *       zeros over an allocated last block's bytes past the old size. Barrier.</li>
 *   <li>One log entry at the start of the log with every changed 4 KiB sector of the
 *       metadata region (virtual disk size), the BAT and both region tables, as data
 *       sectors or zero runs. Barrier.</li>
 *   <li><b>Commit:</b> the non-current header with sequence + 1, new file and data write
 *       GUIDs and a new log GUID: from here qemu and Hyper-V replay the entry on open.
 *       Barrier.</li>
 *   <li>The logged sectors written in place. Barrier.</li>
 *   <li>The other header with sequence + 2 and a zero log GUID (the log is empty again).</li>
 *   <li>A shrink cuts the file where its tail is no longer used.</li>
 * </ol>
 */
final class VhdxResize {
    /** BAT entries DiskPlan holds in memory (128 MiB). */
    static final long MAX_BAT_IN_MEMORY = 16L << 20;
    private static final int CHUNK = 1 << 20;
    /** Bytes of a pending log DiskPlan folds into its own entry (more: replay with qemu first). */
    static final long MAX_REPLAYED = 16L << 20;

    private final ProbedImage image;
    private final VhdxHeader h;
    private final PlanReader reader;
    private final ResizeRequest request;
    private final FormatOptions.Vhdx options;
    private final long bs;
    private final long ratio;
    private final boolean fixed;
    /** The image's own log left to replay (a crashed Hyper-V or qemu), or empty. */
    private final java.util.Optional<VhdxLog.Replay> replay;
    /** The image as it reads once that log is replayed (the image itself when there is none). */
    private final ImageReader view;

    VhdxResize(ProbedImage image, VhdxHeader h, PlanReader reader, ResizeRequest request,
               FormatOptions.Vhdx options) throws ResizeError {
        this.image = image;
        this.h = h;
        this.reader = reader;
        this.request = request;
        this.options = options;
        this.bs = h.blockSize();
        this.ratio = h.chunkRatio();
        this.fixed = h.leaveBlocksAllocated(); // LeaveBlockAllocated, never "every block is present"
        ImageReader raw = reader.probeView();
        java.util.Optional<VhdxLog.Replay> r = java.util.Optional.empty();
        if (h.logNeedsReplay()) {
            try {
                byte[] head = raw.read(h.headers().get(h.currentHeaderIndex()).offset(), HEADER_SIZE, "VHDX header");
                r = VhdxLog.search(raw, h.logOffset(), h.logLength(),
                        Arrays.copyOfRange(head, H_LOG_GUID, H_LOG_GUID + 16));
            } catch (ProbeException e) {
                throw new ResizeError(ErrorCode.READ_FAILED, e.getMessage());
            }
            for (VhdxLog.Entry e : r.isPresent() ? r.get().entries() : List.<VhdxLog.Entry>of()) {
                // the probe flags these as corrupt (checkOpen refuses them); kept here so that the plan never relies on it
                long at = h.logOffset() + e.logPosition();
                if (Long.compareUnsigned(e.flushedFileOffset(), image.fileSize()) > 0) {
                    throw ResizeError.atField(ErrorCode.NEEDS_REPAIR, ResizeError.Kind.CORRUPT, "VHDX log entry",
                            "flushed_file_offset", at + VhdxLog.E_FLUSHED_FILE_OFFSET, ": " + Long.toUnsignedString(e.flushedFileOffset())
                            + " is past the end of the file (" + image.fileSize() + " bytes): the log cannot be "
                            + "replayed");
                }
                if (Long.compareUnsigned(e.lastFileOffset(), VhdxLog.MAX_FILE_LENGTH) > 0) {
                    throw ResizeError.atField(ErrorCode.NEEDS_REPAIR, ResizeError.Kind.CORRUPT, "VHDX log entry",
                            "last_file_offset", at + VhdxLog.E_LAST_FILE_OFFSET, ": " + Long.toUnsignedString(e.lastFileOffset())
                            + " is past any VHDX file");
                }
            }
        }
        this.replay = r;
        this.view = r.isPresent() ? r.get().overlay(raw) : raw;
    }

    /** Reads the image as it reads once its log is replayed. */
    private byte[] replayed(long offset, int length, String what) throws ResizeError {
        try {
            return view.read(offset, length, what);
        } catch (ProbeException e) {
            throw new ResizeError(e.code() == ErrorCode.READ_FAILED ? ErrorCode.READ_FAILED : ErrorCode.NEEDS_REPAIR,
                    e.getMessage());
        }
    }

    ResizePlan plan() throws ResizeError {
        long oldSize = h.virtualDiskSize();
        long newSize = request.newSize();
        long oldPayload = payloadBlocks(oldSize, bs);
        long newPayload = payloadBlocks(newSize, bs);
        long oldEntries = batEntries(oldPayload, ratio, false);
        long newEntries = batEntries(newPayload, ratio, false);
        if (oldEntries > MAX_BAT_IN_MEMORY) {
            throw new ResizeError(ErrorCode.INVALID_NEW_SIZE, "a VHDX BAT of " + oldEntries
                    + " entries is more than DiskPlan plans in memory (" + MAX_BAT_IN_MEMORY + ")");
        }
        long[] bat = readBat(oldEntries);
        boolean grow = newSize > oldSize;
        long fileLength = image.fileSize();
        // the file as the pending log's replay leaves it: extended to its last_file_offset
        long replayedLength = replay.isPresent() ? replay.get().fileLength(fileLength) : fileLength;
        long maxEnd = Math.max(usedEnd(bat, bat.length), replayedLength);

        // where a fixed image's new blocks and a relocated BAT go
        boolean relocate = newEntries * BAT_ENTRY_SIZE > h.batLength();
        for (int attempt = 0; attempt < 2; attempt++) {
            PlanBuilder plan = new PlanBuilder(ImageFormat.VHDX, options, request, image.path(), fileLength);
            Sectors edits = new Sectors();
            long newBatOffset = h.batOffset();
            long newBatLength = h.batLength();
            long freeAt = roundUp(maxEnd, MIB);
            if (relocate) {
                newBatOffset = freeAt;
                newBatLength = roundUp(newEntries * BAT_ENTRY_SIZE, MIB);
                freeAt = newBatOffset + newBatLength;
            }
            long firstNewBlock = freeAt;
            long[] entries = newEntries(bat, oldEntries, newEntries, firstNewBlock);
            long newBlocks = fixed && grow ? newPayload - oldPayload : 0;

            // 1. tail of the old last block, then the new structures
            if (grow && oldSize % bs != 0) {
                long e = bat[(int) batIndex(oldPayload - 1, ratio)];
                int st = batEntryState(e);
                if ((st == STATE_FULLY_PRESENT || st == STATE_PARTIALLY_PRESENT) && batEntryOffsetMiB(e) != 0) {
                    long from = (e & BAT_OFFSET_MASK) + oldSize % bs;
                    long to = Math.min((e & BAT_OFFSET_MASK) + bs, fileLength);
                    if (from < to) {
                        plan.phase(List.of(new ZeroFill(from, to - from, false, "zeros in the last block past "
                                + "the old size (they become guest data)", RegionKind.DATA)));
                    }
                }
            }
            List<ResizePatch> fresh = new ArrayList<>();
            if (replayedLength > fileLength) {
                fresh.add(new Extend(fileLength, replayedLength - fileLength, "the file extended to the pending "
                        + "log's last_file_offset (" + Long.toUnsignedString(replay.get().lastFileOffset())
                        + "), as its replay does (zeros)", RegionKind.DATA));
            }
            if (relocate) {
                long kept = Math.min(oldEntries, newEntries);
                if (replay.isEmpty()) {
                    fresh.add(new Copy(ResizePatch.IMAGE, newBatOffset, ResizePatch.IMAGE, h.batOffset(),
                            kept * BAT_ENTRY_SIZE, "BAT: the old entries copied to the new BAT region",
                            RegionKind.TABLE));
                } else {
                    // the pending log may change BAT entries: write them as they read replayed
                    ByteBuffer old = ByteBuffer.allocate((int) (kept * BAT_ENTRY_SIZE)).order(ORDER);
                    for (int i = 0; i < kept; i++) {
                        old.putLong(bat[i]);
                    }
                    fresh.add(new Write(newBatOffset, old.array(), "BAT: the old entries (as replayed) in the new "
                            + "BAT region", RegionKind.TABLE));
                }
                long written = writeEntries(fresh, entries, oldEntries, newEntries, newBatOffset);
                long end = newBatOffset + newBatLength;
                long from = Math.max(newBatOffset + written, newBatOffset + Math.min(oldEntries, newEntries) * 8);
                if (end > from) {
                    fresh.add(new Extend(from, end - from, "BAT region: the rest of the new region (zeros: not "
                            + "present)", RegionKind.TABLE));
                }
            }
            if (fixed && grow && oldPayload > 0) {
                // the old last block must lie in the file as far as the new size reaches into it
                long e = bat[(int) batIndex(oldPayload - 1, ratio)];
                long need = (e & BAT_OFFSET_MASK) + Math.min(bs, newSize - (oldPayload - 1) * bs);
                if (batEntryState(e) == STATE_FULLY_PRESENT && need > replayedLength) {
                    fresh.add(new Extend(replayedLength, need - replayedLength, "the fixed image's last block, as "
                            + "far as the new size reaches (sparse zeros)", RegionKind.DATA));
                }
            }
            if (newBlocks > 0) {
                long end = firstNewBlock + newBlocks * bs;
                fresh.add(new Extend(firstNewBlock, end - firstNewBlock, newBlocks + " new payload block(s) of "
                        + "the fixed image (sparse zeros)", RegionKind.DATA));
            }
            plan.freshPhase(fresh);

            // 2. the changed sectors, in the log
            if (!relocate) {
                batSectors(edits, entries, oldEntries, newEntries);
            } else {
                regionTables(edits, newBatOffset, newBatLength);
            }
            byte[] vds = ByteBuffer.allocate(8).order(ORDER).putLong(newSize).array();
            edits.put(h.virtualDiskSizeOffset(), vds);
            edits.pendingLog();
            List<VhdxLog.Change> changes = edits.changes();
            long entryLength = VhdxLog.entryLength(changes);
            if (entryLength > h.logLength() - VhdxLog.SECTOR) {
                if (!relocate && grow) {
                    relocate = true;
                    continue;
                }
                long hdr = h.headers().get(h.currentHeaderIndex()).offset();
                throw ResizeError.atField(ErrorCode.UNSUPPORTED_SUBFORMAT, ResizeError.Kind.REFUSED, "VHDX header",
                        "log_length", hdr + H_LOG_LENGTH, ": the log (" + h.logLength() + " bytes) is too small for the "
                        + "resize's log entry (" + entryLength + " bytes, " + changes.size() + " changes)");
            }
            return finish(plan, changes, relocate, newBatOffset, newBlocks, bat, newEntries, oldSize, newSize);
        }
        throw new IllegalStateException("unreachable");
    }

    private ResizePlan finish(PlanBuilder plan, List<VhdxLog.Change> changes, boolean relocated, long newBatOffset,
                              long newBlocks, long[] bat, long newEntries, long oldSize, long newSize)
            throws ResizeError {
        byte[] logGuid = Guids.mixedEndian(UUID.randomUUID());
        long length = plan.length(ResizePatch.IMAGE);
        long pos = 0;
        if (replay.isPresent()) {
            // after the pending sequence, which must stay readable until the commit
            VhdxLog.Entry first = replay.get().entries().get(0);
            VhdxLog.Entry lastEntry = replay.get().entries().get(replay.get().entries().size() - 1);
            long end = lastEntry.logPosition() + lastEntry.entryLength();
            long need = VhdxLog.entryLength(changes);
            if (lastEntry.logPosition() < first.logPosition() || end + need > h.logLength()) {
                long hdr = h.headers().get(h.currentHeaderIndex()).offset();
                throw ResizeError.atField(ErrorCode.NEEDS_REPAIR, ResizeError.Kind.NEEDS_REPAIR, "VHDX header",
                        "log_length", hdr + H_LOG_LENGTH, ": the log has no room after the entries left to replay for the "
                        + "resize's entry (" + need + " bytes); replay it first with `qemu-img check -r all "
                        + image.path() + "`");
            }
            pos = end;
            plan.note("the image's log holds " + replay.get().entries().size() + " entr"
                    + (replay.get().entries().size() == 1 ? "y" : "ies") + " left to replay (a crashed Hyper-V or "
                    + "qemu): this resize replays them, as qemu does on a read-write open: their sectors are part of "
                    + "its own log entry, written after them in the log, and in place after the commit");
        }
        byte[] entry = VhdxLog.encodeEntry(logGuid, 1, pos, length, length, changes);
        plan.phase(List.of(new Write(h.logOffset() + pos, entry, "log entry (sequence 1): " + changes.size()
                + " change(s) of the metadata, BAT and region tables", RegionKind.LOG)));

        int cur = h.currentHeaderIndex();
        long curAt = h.headers().get(cur).offset();
        long otherAt = h.headers().get(1 - cur).offset();
        byte[] raw = reader.read(curAt, HEADER_SIZE, "VHDX current header");
        byte[] fileWrite = Guids.mixedEndian(UUID.randomUUID());
        byte[] dataWrite = Guids.mixedEndian(UUID.randomUUID());
        long seq = h.currentSequenceNumber();
        plan.commit(new Write(otherAt, header(raw, seq + 1, fileWrite, dataWrite, logGuid), "VHDX header (commit): "
                + "sequence " + Long.toUnsignedString(seq + 1) + ", log GUID set: the log entry is now replayed "
                + "on open", RegionKind.HEADER));

        List<ResizePatch> apply = new ArrayList<>();
        for (VhdxLog.Change c : changes) {
            if (c instanceof VhdxLog.Data d) {
                apply.add(new Write(d.fileOffset(), d.sector(), "logged sector applied in place: " + what(
                        d.fileOffset()), region(d.fileOffset())));
            } else {
                apply.add(new ZeroFill(c.fileOffset(), c.length(), false, "logged zeros applied in place: "
                        + what(c.fileOffset()), region(c.fileOffset())));
            }
        }
        plan.phase(apply);
        plan.phase(List.of(new Write(curAt, header(raw, seq + 2, fileWrite, dataWrite, new byte[16]),
                "VHDX header: sequence " + Long.toUnsignedString(seq + 2) + ", log GUID zero (the log is empty)",
                RegionKind.HEADER)));

        if (newSize < oldSize) {
            long replayedLength = replay.isPresent() ? replay.get().fileLength(image.fileSize()) : image.fileSize();
            long keep = Math.min(replayedLength, roundUp(usedEnd(bat, newEntries), MIB));
            if (keep < plan.length(ResizePatch.IMAGE)) {
                plan.finalLength(ResizePatch.IMAGE, keep);
                plan.note("the file is cut to " + keep + " bytes: nothing past it is used any more");
            }
        }
        plan.note("through the VHDX log: one entry of " + entry.length + " bytes (log GUID "
                + Guids.mixedEndianText(logGuid, 0) + "); a crash after the header commit is replayed by qemu "
                + "(read-write open, `qemu-img check -r all`) and Hyper-V");
        if (relocated) {
            plan.note("the BAT of " + newEntries + " entries does not fit its region (" + h.batLength()
                    + " bytes at " + h.batOffset() + "): a new region at " + newBatOffset
                    + ", both region tables rewritten");
        }
        if (newBlocks > 0) {
            plan.note("fixed image: " + newBlocks + " new block(s) allocated as sparse zeros and mapped");
        }
        plan.note("new file write and data write GUIDs, as a writer of the file sets them");
        return plan.build(Planners.actionFor(image.virtualSize(), newSize), image.virtualSize(), newSize);
    }

    private String what(long offset) {
        if (offset >= h.batOffset() && offset < h.batOffset() + h.batLength()) {
            return "BAT";
        }
        if (offset >= h.metadataOffset() && offset < h.metadataOffset() + h.metadataLength()) {
            return "metadata (virtual disk size)";
        }
        if (offset < MIB) {
            return "region table";
        }
        return "offset " + offset;
    }

    private RegionKind region(long offset) {
        if (offset >= h.metadataOffset() && offset < h.metadataOffset() + h.metadataLength()) {
            return RegionKind.METADATA;
        }
        return RegionKind.TABLE;
    }

    /** A header copy: {@code raw} with a new sequence number, GUIDs and checksum. */
    private static byte[] header(byte[] raw, long seq, byte[] fileWrite, byte[] dataWrite, byte[] logGuid) {
        byte[] out = raw.clone();
        ByteBuffer b = ByteBuffer.wrap(out).order(ORDER);
        b.putLong(H_SEQUENCE, seq);
        b.put(H_FILE_WRITE_GUID, fileWrite);
        b.put(H_DATA_WRITE_GUID, dataWrite);
        b.put(H_LOG_GUID, logGuid);
        b.putInt(H_CHECKSUM, (int) crc32c(out, H_CHECKSUM));
        return out;
    }

    /** The BAT entries after the resize (old ones kept, new ones not present or, fixed, mapped). */
    private long[] newEntries(long[] bat, long oldEntries, long newEntries, long firstNewBlock) throws ResizeError {
        if (newEntries > MAX_BAT_IN_MEMORY && fixed) {
            throw new ResizeError(ErrorCode.INVALID_NEW_SIZE, "a fixed VHDX BAT of " + newEntries
                    + " entries is more than DiskPlan plans in memory (" + MAX_BAT_IN_MEMORY + ")");
        }
        int n = (int) Math.min(newEntries, Math.max(oldEntries, fixed ? newEntries : 0));
        long[] out = Arrays.copyOf(bat, n);
        if (fixed) {
            long oldPayload = payloadBlockOf(oldEntries - 1, ratio) + 1;
            for (long i = oldEntries; i < newEntries; i++) {
                out[(int) i] = isSectorBitmapEntry(i, ratio) ? 0
                        : batEntry(STATE_FULLY_PRESENT, firstNewBlock + (payloadBlockOf(i, ratio) - oldPayload) * bs);
            }
        }
        return out;
    }

    /** Entry {@code i} after the resize. */
    private static long entry(long[] entries, long i) {
        return i < entries.length ? entries[(int) i] : 0;
    }

    /** Writes the new entries of a relocated BAT that are not zero; returns the bytes covered from the region start. */
    private long writeEntries(List<ResizePatch> out, long[] entries, long oldEntries, long newEntries, long at) {
        long from = Math.min(oldEntries, newEntries);
        long to = Math.min(entries.length, newEntries);
        if (to <= from) {
            return 0;
        }
        ByteBuffer b = ByteBuffer.allocate((int) ((to - from) * BAT_ENTRY_SIZE)).order(ORDER);
        for (long i = from; i < to; i++) {
            b.putLong(entries[(int) i]);
        }
        out.add(new Write(at + from * BAT_ENTRY_SIZE, b.array(), "BAT: " + (to - from) + " new entries",
                RegionKind.TABLE));
        return to * BAT_ENTRY_SIZE;
    }

    /** The BAT region's changed sectors for an in-place resize. */
    private void batSectors(Sectors edits, long[] entries, long oldEntries, long newEntries) throws ResizeError {
        long lo = Math.min(oldEntries, newEntries);
        long hi = Math.max(oldEntries, newEntries);
        // shrink: entries past the new end become not present; grow: the new range as planned
        long fromByte = h.batOffset() + lo * BAT_ENTRY_SIZE;
        long toByte = h.batOffset() + hi * BAT_ENTRY_SIZE;
        long first = fromByte / VhdxLog.SECTOR * VhdxLog.SECTOR;
        long last = roundUp(toByte, VhdxLog.SECTOR);
        for (long chunk = first; chunk < last; chunk += CHUNK) {
            int len = (int) Math.min(CHUNK, last - chunk);
            byte[] now = reader.read(chunk, len, "VHDX BAT");
            byte[] want = replayed(chunk, len, "VHDX BAT");
            ByteBuffer w = ByteBuffer.wrap(want).order(ORDER);
            for (long at = Math.max(chunk, fromByte); at < Math.min(chunk + len, toByte); at += BAT_ENTRY_SIZE) {
                long i = (at - h.batOffset()) / BAT_ENTRY_SIZE;
                w.putLong((int) (at - chunk), i < newEntries ? entry(entries, i) : 0);
            }
            edits.sectors(chunk, now, want);
        }
    }

    /** Both region tables with the BAT entry moved to the new region. */
    private void regionTables(Sectors edits, long newBatOffset, long newBatLength) throws ResizeError {
        byte[] used = replayed(h.regionTableOffset(), REGION_TABLE_SIZE, "VHDX region table");
        ByteBuffer b = ByteBuffer.wrap(used.clone()).order(ORDER);
        int count = b.getInt(R_ENTRY_COUNT);
        int found = -1;
        for (int i = 0; i < count; i++) {
            if (Guids.mixedEndianText(used, R_ENTRIES + i * R_ENTRY_SIZE).equals(BAT_GUID)) {
                found = R_ENTRIES + i * R_ENTRY_SIZE;
            }
        }
        if (found < 0 || newBatLength > 0xffff_ffffL) {
            throw new ResizeError(ErrorCode.HEADER_MISMATCH, "VHDX region table at offset " + h.regionTableOffset()
                    + ": no BAT entry to move (or a region over 4 GiB)");
        }
        b.putLong(found + 16, newBatOffset);
        b.putInt(found + 24, (int) newBatLength);
        byte[] table = b.array();
        ByteBuffer.wrap(table).order(ORDER).putInt(R_CHECKSUM, (int) crc32c(table, R_CHECKSUM));
        for (long at : new long[] {REGION_TABLE1_OFFSET, REGION_TABLE2_OFFSET}) {
            edits.sectors(at, reader.read(at, REGION_TABLE_SIZE, "VHDX region table"), table);
        }
    }

    /** Reads the first {@code entries} BAT entries. */
    private long[] readBat(long entries) throws ResizeError {
        long[] out = new long[(int) entries];
        for (long done = 0; done < entries; done += CHUNK / BAT_ENTRY_SIZE) {
            int n = (int) Math.min(CHUNK / BAT_ENTRY_SIZE, entries - done);
            ByteBuffer b = ByteBuffer.wrap(replayed(h.batOffset() + done * BAT_ENTRY_SIZE, n * BAT_ENTRY_SIZE,
                    "VHDX BAT")).order(ORDER);
            for (int i = 0; i < n; i++) {
                out[(int) done + i] = b.getLong(i * BAT_ENTRY_SIZE);
            }
        }
        return out;
    }

    /**
     * The end of everything in use: the first MiB, every region, the log, and the blocks of
     * the first {@code entries} BAT entries (for a shrink, those that stay).
     */
    private long usedEnd(long[] bat, long entries) {
        long end = Math.max(MIB, h.logOffset() + h.logLength());
        for (VhdxHeader.RegionEntry r : h.regionEntries()) {
            end = Math.max(end, r.fileOffset() + r.length());
        }
        long n = Math.min(entries, bat.length);
        for (int i = 0; i < n; i++) {
            long e = bat[i];
            int st = batEntryState(e);
            boolean bitmap = isSectorBitmapEntry(i, ratio);
            boolean allocated = bitmap ? st == STATE_FULLY_PRESENT
                    : st == STATE_FULLY_PRESENT || st == STATE_PARTIALLY_PRESENT;
            if (allocated && batEntryOffsetMiB(e) != 0) {
                end = Math.max(end, (e & BAT_OFFSET_MASK) + (bitmap ? MIB : bs));
            }
        }
        return end;
    }

    private static long roundUp(long v, long unit) {
        return (v + unit - 1) / unit * unit;
    }

    /** The 4 KiB sectors a resize changes, in file order, as log changes. */
    private final class Sectors {
        private final TreeMap<Long, byte[]> now = new TreeMap<>();
        private final TreeMap<Long, byte[]> want = new TreeMap<>();

        /** Bytes {@code bytes} at {@code offset}. */
        void put(long offset, byte[] bytes) throws ResizeError {
            for (long s = offset / VhdxLog.SECTOR * VhdxLog.SECTOR; s < offset + bytes.length; s += VhdxLog.SECTOR) {
                if (!want.containsKey(s)) {
                    now.put(s, reader.read(s, VhdxLog.SECTOR, what(s) + " sector"));
                    want.put(s, VhdxResize.this.replayed(s, VhdxLog.SECTOR, what(s) + " sector"));
                }
                byte[] w = want.get(s);
                long from = Math.max(s, offset);
                long to = Math.min(s + VhdxLog.SECTOR, offset + bytes.length);
                System.arraycopy(bytes, (int) (from - offset), w, (int) (from - s), (int) (to - from));
            }
        }

        /** Sectors from {@code at}: {@code current} now, {@code target} after. */
        void sectors(long at, byte[] current, byte[] target) {
            for (int i = 0; i + VhdxLog.SECTOR <= current.length; i += VhdxLog.SECTOR) {
                if (!Arrays.equals(current, i, i + VhdxLog.SECTOR, target, i, i + VhdxLog.SECTOR)) {
                    now.put(at + i, Arrays.copyOfRange(current, i, i + VhdxLog.SECTOR));
                    want.put(at + i, Arrays.copyOfRange(target, i, i + VhdxLog.SECTOR));
                }
            }
        }

        /** Every sector the image's own pending log changes, as it reads replayed (unless edited already). */
        void pendingLog() throws ResizeError {
            if (replay.isEmpty()) {
                return;
            }
            long total = 0;
            for (VhdxLog.Change c : replay.get().changes()) {
                total += c.length();
                if (c.fileOffset() + c.length() > image.fileSize() || total > MAX_REPLAYED) {
                    throw new ResizeError(ErrorCode.NEEDS_REPAIR, "the VHDX log left to replay changes "
                            + (total > MAX_REPLAYED ? "more than " + MAX_REPLAYED + " bytes" : "bytes past the end of "
                            + "the file (at " + c.fileOffset() + ")") + "; replay it first with `qemu-img check -r "
                            + "all " + image.path() + "`");
                }
                for (long s = c.fileOffset(); s < c.fileOffset() + c.length(); s += VhdxLog.SECTOR) {
                    if (!want.containsKey(s)) {
                        now.put(s, reader.read(s, VhdxLog.SECTOR, what(s) + " sector"));
                        want.put(s, VhdxResize.this.replayed(s, VhdxLog.SECTOR, what(s) + " sector"));
                    }
                }
            }
        }

        /** Changed sectors: all-zero runs as zero descriptors, the rest as data sectors. */
        List<VhdxLog.Change> changes() {
            List<VhdxLog.Change> out = new ArrayList<>();
            long zeroFrom = -1;
            long zeroTo = -1;
            byte[] zero = new byte[VhdxLog.SECTOR];
            for (var e : want.entrySet()) {
                long s = e.getKey();
                if (Arrays.equals(e.getValue(), now.get(s))) {
                    continue;
                }
                if (Arrays.equals(e.getValue(), zero)) {
                    if (zeroTo == s) {
                        zeroTo += VhdxLog.SECTOR;
                        continue;
                    }
                    if (zeroFrom >= 0) {
                        out.add(new VhdxLog.Zero(zeroFrom, zeroTo - zeroFrom));
                    }
                    zeroFrom = s;
                    zeroTo = s + VhdxLog.SECTOR;
                } else {
                    out.add(new VhdxLog.Data(s, e.getValue()));
                }
            }
            if (zeroFrom >= 0) {
                out.add(new VhdxLog.Zero(zeroFrom, zeroTo - zeroFrom));
            }
            out.sort(ChangeOrder.INSTANCE);
            return out;
        }
    }

    /** Log changes by file offset. */
    private static final class ChangeOrder implements java.util.Comparator<VhdxLog.Change> {
        static final ChangeOrder INSTANCE = new ChangeOrder();

        @Override
        public int compare(VhdxLog.Change a, VhdxLog.Change b) {
            return Long.compare(a.fileOffset(), b.fileOffset());
        }
    }
}
