package org.diskplan.planner.vdi;

import static org.diskplan.probe.vdi.VdiLayout.*;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
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
import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.RegionKind;
import org.diskplan.probe.vdi.VdiHeader;

/**
 * One VDI resize being planned. Host blocks are numbered from offData (block i at
 * offData + i × stride) and, in an image qemu-img check finds clean, are exactly
 * 0..cBlocksAllocated-1; every plan keeps them so, and keeps cBlocksAllocated at or above
 * the highest host block in use at every step (qemu allocates the next block at
 * cBlocksAllocated, so a smaller value would let it write over a block in use).
 *
 * <p><b>Grow, map fits before offData:</b> the new map entries (free; for a fixed image
 * the new host blocks, the file lengthened sparsely) past the old cBlocks, unreferenced;
 * barrier; the header (cbDisk, cBlocks, cBlocksAllocated, LCHS) is the commit.
 *
 * <p><b>Grow, map does not fit:</b> offData must move up by k whole blocks. The blocks at
 * host 0..k-1 are copied past the last block ({@link Copy}, unreferenced: should qemu
 * allocate a block there after a crash, it only overwrites a copy nothing refers to);
 * barrier; then one write from offData's header field through the end of the bigger map is
 * the commit: offData + k × stride, every host index less k (the moved entries pointing at
 * their copies), the new entries over the freed space, cbDisk and cBlocks. There is no
 * separate remap step: offData and every index change together, so the remap must be
 * part of the commit write, and a remap before it would leave holes below
 * cBlocksAllocated that qemu-img check counts as corruption.
 *
 * <p>Why the commit of that grow is one multi-sector write and not a header sector:
 * VirtualBox (VDI.cpp vdiValidateHeader) requires offData ≥ offBlocks + cBlocks × 4, so the
 * map must lie before the data, and every host index counts from offData. A bigger map
 * therefore either shifts offData (every index changes with it) or moves to a new offBlocks
 * still before offData, i.e. over blocks 0..k-1, which are in use until the commit. Vacating
 * them first (remapping their entries to the copies) would leave entries at or past
 * cBlocksAllocated: qemu allocates its next block exactly there and VirtualBox's discard
 * table (vdiImageBackResolvTblCreate) refuses such an entry. So no layout both readers accept
 * lets a header-only write switch to the bigger map; a torn commit write is repaired from the
 * undo journal ({@code diskplan recover}). The moved blocks' old place left between the new
 * map and the new offData is zeroed after the commit (VirtualBox zeroes it as it moves each
 * block).
 *
 * <p><b>Shrink:</b> when every kept block lies below the count of kept blocks, one header
 * write (cbDisk, cBlocks, cBlocksAllocated) is the commit; the dropped entries (past cBlocks
 * now) are freed and the file cut after the last block. Otherwise (compaction: dropped
 * entries hold host blocks below kept ones) the commit changes only cbDisk: cBlocks and
 * cBlocksAllocated stay, so the dropped entries, now beyond the disk, are still counted and
 * the image stays clean. Then the highest kept blocks are copied over the dropped entries'
 * blocks, barrier, and one write from cBlocks through the last remapped map entry shrinks
 * cBlocks and cBlocksAllocated and remaps the kept entries together (qemu-img check counts
 * allocated entries below cBlocks against cBlocksAllocated, and a lone remap would leave two
 * entries on one block or one at or past cBlocksAllocated). Then the dropped entries are
 * freed and the file is cut.
 */
final class VdiResize {
    /** Largest block map held in memory (256 MiB, 64 Mi entries: 64 TiB of 1 MiB blocks). */
    static final long MAX_MAP_IN_MEMORY = 64L << 20;

    private final ProbedImage image;
    private final VdiHeader h;
    private final PlanReader reader;
    private final ResizeRequest request;
    private final FormatOptions.Vdi options;
    private final long stride;
    private final long offData;
    private final long offBlocks;
    private final boolean fixed;

    VdiResize(ProbedImage image, VdiHeader h, PlanReader reader, ResizeRequest request, FormatOptions.Vdi options) {
        this.image = image;
        this.h = h;
        this.reader = reader;
        this.request = request;
        this.options = options;
        this.stride = h.blockStride();
        this.offData = h.dataOffset();
        this.offBlocks = h.blocksOffset();
        this.fixed = h.imageType() == TYPE_FIXED;
    }

    ResizePlan plan() throws ResizeError {
        long newSize = request.newSize();
        long newBlocks = blocksFor(newSize, h.blockSize());
        if (newBlocks > MAX_MAP_IN_MEMORY || h.blockCount() > MAX_MAP_IN_MEMORY) {
            throw new ResizeError(ErrorCode.INVALID_NEW_SIZE, "a VDI block map of " + Math.max(newBlocks,
                    h.blockCount()) + " entries is more than DiskPlan plans in memory (" + MAX_MAP_IN_MEMORY + ")");
        }
        long[] map = readMap();
        byte[] head = reader.read(0, HEADER_READ, "VDI header");
        PlanBuilder plan = new PlanBuilder(ImageFormat.VDI, options, request, image.path(), image.fileSize());
        plan.note("uuidCreate and uuidModify are kept, as VirtualBox's own resize keeps them (VDResize; measured "
                + "with vbox-img 7.2.22); so are the comment, the pre-header text and the flags");
        if (h.hasLchsGeometry()) {
            plan.note("LCHS geometry set to 0/0/0 (not calculated), as VirtualBox's resize stores the geometry "
                    + "it is given and its medium resize gives none: VirtualBox derives it from the new size");
        }
        // A map may have more entries than cbDisk needs (qemu and VirtualBox accept that): a
        // grow keeps them all.
        return newSize > image.virtualSize() ? grow(plan, map, head, newSize, Math.max(newBlocks, h.blockCount()))
                : shrink(plan, map, head, newSize, newBlocks);
    }

    private ResizePlan grow(PlanBuilder plan, long[] map, byte[] head, long newSize, long newBlocks)
            throws ResizeError {
        long oldBlocks = h.blockCount();
        long alloc = h.mapAllocated();
        long mapEnd = offBlocks + mapBytes(newBlocks);
        long k = mapEnd <= offData ? 0 : (mapEnd - offData + stride - 1) / stride;
        long newOffData = offData + k * stride;
        if (newOffData > VdiPlanner.MAX_OFFSET) {
            throw new ResizeError(ErrorCode.INVALID_NEW_SIZE, "the block map of " + newBlocks
                    + " entries would push offData past 4 GiB");
        }
        long next = Math.max(alloc, k); // first free host block (old numbering)
        int moved = 0;
        if (k > 0) {
            // copies of host blocks 0..k-1 past the last block: unreferenced until the commit
            List<ResizePatch> copies = new ArrayList<>();
            long length = image.fileSize();
            long destStart = offData + next * stride;
            if (destStart > length) {
                copies.add(new Extend(length, destStart - length, "lengthen to the moved blocks' new place",
                        RegionKind.FREE));
            }
            long[] byHost = hostToEntry(map, Math.min(k, alloc));
            for (int host = 0; host < byHost.length; host++) {
                long entry = byHost[host];
                long to = next + moved;
                copies.add(new Copy(ResizePatch.IMAGE, offData + to * stride, ResizePatch.IMAGE,
                        offData + host * stride, stride, "move guest block " + entry + " from host block " + host
                        + " to " + to + " (frees room for the bigger map)", RegionKind.DATA));
                map[(int) entry] = to; // written by the commit, with every index less k
                moved++;
            }
            plan.phase(copies);
            plan.note("the map of " + newBlocks + " entries does not fit before offData " + offData + ": " + moved
                    + " data block(s) moved to the end of the file and remapped (" + moved * stride
                    + " bytes copied), then offData moves to " + newOffData + " and every host index drops by " + k
                    + ", as VirtualBox does; relocating the map instead is not possible (VirtualBox and DiskPlan "
                    + "require the map before offData)");
        }
        // host blocks of the new entries of a fixed image (old numbering), after the moved ones
        long firstNew = next + moved;
        long added = fixed ? newBlocks - oldBlocks : 0;
        long finalAlloc = alloc + added;
        List<ResizePatch> prep = new ArrayList<>();
        long oldSize = image.virtualSize();
        long tail = oldSize % h.blockSize();
        if (tail != 0 && isAllocated(map[(int) (oldBlocks - 1)])) {
            // guest bytes past the old end inside the last block must read as zeros once visible
            prep.add(new ZeroFill(offData + map[(int) (oldBlocks - 1)] * stride + tail, h.blockSize() - tail, false,
                    "zeros in the last block past the old size", RegionKind.DATA));
        }
        if (fixed && added > 0) {
            long end = offData + (firstNew + added) * stride;
            long length = plan.length(ResizePatch.IMAGE);
            if (end > length) {
                prep.add(new Extend(length, end - length, "the new blocks of the fixed image (sparse zeros)",
                        RegionKind.DATA));
            }
        }
        ByteBuffer entries = ByteBuffer.allocate((int) mapBytes(newBlocks - oldBlocks)).order(ORDER);
        for (long e = oldBlocks; e < newBlocks; e++) {
            entries.putInt(fixed ? (int) (firstNew - k + (e - oldBlocks)) : (int) BLOCK_FREE);
        }
        byte[] header = header(head, newSize, newBlocks, finalAlloc, newOffData);
        if (k == 0) {
            if (entries.capacity() > 0) {
                prep.add(new Write(offBlocks + mapBytes(oldBlocks), entries.array(),
                        "block map: " + (newBlocks - oldBlocks) + " new entries (past cBlocks until the commit)",
                        RegionKind.TABLE));
            }
            plan.phase(prep);
            plan.commit(new Write(OFF_DATA, Arrays.copyOfRange(header, OFF_DATA, headerEnd()),
                    "VDI header: cbDisk " + newSize + ", cBlocks " + newBlocks + ", cBlocksAllocated " + finalAlloc,
                    RegionKind.HEADER));
        } else {
            plan.phase(prep);
            // one write: header fields from offData on, the gap up to the map, the whole new map
            ByteBuffer w = ByteBuffer.allocate((int) (mapEnd - OFF_DATA)).order(ORDER);
            w.put(header, OFF_DATA, headerEnd() - OFF_DATA);
            w.put(gap(head));
            for (long e = 0; e < oldBlocks; e++) {
                long v = map[(int) e];
                w.putInt((int) (isAllocated(v) ? v - k : v));
            }
            w.put(entries.array());
            plan.commit(new Write(OFF_DATA, w.array(), "VDI header and block map: offData " + newOffData
                    + ", host indices less " + k + ", " + newBlocks + " entries, cbDisk " + newSize, RegionKind.TABLE));
            if (newOffData > mapEnd) {
                // what is left of the moved blocks' old place between the map and the data: zeros, as
                // VirtualBox zeroes a block's old place when it moves it
                plan.phase(List.of(new ZeroFill(mapEnd, newOffData - mapEnd, false,
                        "zeros over the moved blocks' old place after the map", RegionKind.FREE)));
            }
        }
        if (fixed) {
            plan.note("fixed image: " + added + " new block(s) allocated as sparse zeros and mapped");
        }
        return plan.build(Planners.actionFor(image.virtualSize(), newSize), image.virtualSize(), newSize);
    }

    private ResizePlan shrink(PlanBuilder plan, long[] map, byte[] head, long newSize, long newBlocks)
            throws ResizeError {
        long oldBlocks = h.blockCount();
        long alloc = h.mapAllocated();
        // host blocks in use by kept entries; the rest become free
        boolean[] keptHost = new boolean[(int) alloc];
        long kept = 0;
        for (long e = 0; e < newBlocks; e++) {
            if (isAllocated(map[(int) e])) {
                keptHost[(int) map[(int) e]] = true;
                kept++;
            }
        }
        // compaction: the highest kept blocks into the lowest free host blocks
        long[] byHost = new long[(int) alloc];
        Arrays.fill(byHost, -1);
        for (long e = 0; e < newBlocks; e++) {
            if (isAllocated(map[(int) e])) {
                byHost[(int) map[(int) e]] = e;
            }
        }
        List<ResizePatch> copies = new ArrayList<>();
        int remaps = 0;
        long lastRemapped = -1;
        int hole = 0;
        for (int src = (int) alloc - 1; src >= kept; src--) {
            if (!keptHost[src]) {
                continue;
            }
            while (keptHost[hole]) {
                hole++;
            }
            long entry = byHost[src];
            copies.add(new Copy(ResizePatch.IMAGE, offData + hole * stride, ResizePatch.IMAGE, offData + src * stride,
                    stride, "compact: guest block " + entry + " from host block " + src + " to " + hole,
                    RegionKind.DATA));
            map[(int) entry] = hole; // written by step 3
            remaps++;
            lastRemapped = Math.max(lastRemapped, entry);
            keptHost[hole] = true;
        }
        if (copies.isEmpty()) {
            // every kept block lies below kept: one header write drops the entries past the new end
            // (cBlocks), frees their blocks (cBlocksAllocated) and sets the size
            byte[] header = header(head, newSize, newBlocks, kept, offData);
            plan.commit(new Write(OFF_DATA, Arrays.copyOfRange(header, OFF_DATA, headerEnd()),
                    "VDI header: cbDisk " + newSize + ", cBlocks " + newBlocks + ", cBlocksAllocated " + kept,
                    RegionKind.HEADER));
        } else {
            // 1. commit: only the size (and LCHS). cBlocks and cBlocksAllocated stay, so
            //    qemu-img check still counts the dropped entries and finds them consistent; qemu and
            //    VirtualBox accept a map longer than cbDisk needs. The dropped blocks are now beyond
            //    the disk, unreadable.
            byte[] header = header(head, newSize, oldBlocks, alloc, offData);
            plan.commit(new Write(OFF_DATA, Arrays.copyOfRange(header, OFF_DATA, headerEnd()),
                    "VDI header: cbDisk " + newSize + " (cBlocks " + oldBlocks + " and cBlocksAllocated " + alloc
                            + " kept until the blocks are compacted)", RegionKind.HEADER));
            // 2. the kept blocks above the new end copied over blocks of dropped entries (unreadable now)
            plan.phase(copies);
            // 3. one write from cBlocks through the last remapped entry: the window shrinks to the new
            //    map (the dropped entries leave qemu-img check's count) with cBlocksAllocated = kept and
            //    the kept entries pointing at their compacted blocks. Separate writes cannot do this:
            //    a remap alone makes two entries share a block or leaves one at or past
            //    cBlocksAllocated, which qemu-img check (and VirtualBox's discard table) reject.
            ByteBuffer fixedHead = ByteBuffer.wrap(header(head, newSize, newBlocks, kept, offData)).order(ORDER);
            long mapEnd = offBlocks + mapBytes(lastRemapped + 1);
            ByteBuffer w = ByteBuffer.allocate((int) (mapEnd - OFF_BLOCK_COUNT)).order(ORDER);
            w.put(fixedHead.array(), OFF_BLOCK_COUNT, headerEnd() - OFF_BLOCK_COUNT);
            w.put(gap(head));
            for (long e = 0; e <= lastRemapped; e++) {
                w.putInt((int) map[(int) e]);
            }
            plan.phase(List.of(new Write(OFF_BLOCK_COUNT, w.array(), "VDI header and block map: cBlocks "
                    + newBlocks + ", cBlocksAllocated " + kept + ", " + remaps + " entr" + (remaps == 1 ? "y" : "ies")
                    + " remapped to the compacted blocks", RegionKind.TABLE)));
        }
        List<ResizePatch> last = new ArrayList<>();
        if (newBlocks < oldBlocks) {
            // past cBlocks now: nobody reads them; freed so that a later grow finds them free
            byte[] free = new byte[(int) mapBytes(oldBlocks - newBlocks)];
            Arrays.fill(free, (byte) 0xff);
            last.add(new Write(offBlocks + mapBytes(newBlocks), free, "block map: entries past the new end freed",
                    RegionKind.TABLE));
        }
        plan.phase(last);
        long end = offData + kept * stride;
        if (end < image.fileSize()) {
            plan.finalLength(ResizePatch.IMAGE, end);
        }
        plan.note("shrink: " + (alloc - kept) + " host block(s) freed; " + copies.size() + " block(s) moved down "
                + "to keep the data area compact (" + copies.size() * stride + " bytes copied); the file is "
                + (end < image.fileSize() ? "cut to " + end + " bytes" : "not cut"));
        return plan.build(Planners.actionFor(image.virtualSize(), newSize), image.virtualSize(), newSize);
    }

    private int headerEnd() {
        return h.hasLchsGeometry() ? OFF_HEADER_END_1PLUS : OFF_LCHS_CYLINDERS;
    }

    /** The header bytes (the first 512) with the new size fields; the UUIDs are kept. */
    private byte[] header(byte[] head, long cbDisk, long blocks, long allocated, long dataOffset) {
        ByteBuffer b = ByteBuffer.wrap(head.clone()).order(ORDER);
        b.putInt(OFF_DATA, (int) dataOffset);
        b.putLong(OFF_DISK_SIZE, cbDisk);
        b.putInt(OFF_BLOCK_COUNT, (int) blocks);
        b.putInt(OFF_BLOCKS_ALLOCATED, (int) allocated);
        if (h.hasLchsGeometry()) {
            b.putInt(OFF_LCHS_CYLINDERS, 0);
            b.putInt(OFF_LCHS_HEADS, 0);
            b.putInt(OFF_LCHS_SECTORS, 0);
            b.putInt(OFF_LCHS_SECTOR_SIZE, SECTOR);
        }
        return b.array();
    }

    /** The bytes between the header's end and the map, as they are. */
    private byte[] gap(byte[] head) throws ResizeError {
        int from = headerEnd();
        if (offBlocks <= HEADER_READ) {
            return Arrays.copyOfRange(head, from, (int) offBlocks);
        }
        ByteBuffer g = ByteBuffer.allocate((int) (offBlocks - from));
        g.put(head, from, HEADER_READ - from);
        g.put(reader.read(HEADER_READ, (int) (offBlocks - HEADER_READ), "bytes between the VDI header and map"));
        return g.array();
    }

    private long[] readMap() throws ResizeError {
        int n = (int) h.blockCount();
        long[] map = new long[n];
        int chunk = 4 << 20;
        for (int done = 0; done < n; ) {
            int m = Math.min(n - done, chunk);
            ByteBuffer b = ByteBuffer.wrap(reader.read(offBlocks + (long) done * MAP_ENTRY_SIZE, m * MAP_ENTRY_SIZE,
                    "VDI block map")).order(ORDER);
            for (int i = 0; i < m; i++) {
                map[done + i] = Integer.toUnsignedLong(b.getInt(i * MAP_ENTRY_SIZE));
            }
            done += m;
        }
        return map;
    }

    /** For host blocks 0..count-1: the map entry using each, in host order (all are used: the image is compact). */
    private static long[] hostToEntry(long[] map, long count) {
        long[] out = new long[(int) count];
        for (int e = 0; e < map.length; e++) {
            if (isAllocated(map[e]) && map[e] < count) {
                out[(int) map[e]] = e;
            }
        }
        return out;
    }

    static boolean isAllocated(long entry) {
        return entry < BLOCK_ZERO;
    }
}
