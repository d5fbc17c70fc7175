package org.diskplan.planner.vmdk;

import static org.diskplan.probe.vmdk.VmdkLayout.*;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
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
import org.diskplan.planner.ResizePatch.Extend;
import org.diskplan.planner.ResizePatch.Write;
import org.diskplan.planner.ResizePatch.ZeroFill;
import org.diskplan.planner.ResizePlan;
import org.diskplan.planner.ResizeRequest;
import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.RegionKind;
import org.diskplan.probe.vmdk.VmdkDescriptor;
import org.diskplan.probe.vmdk.VmdkExtent;
import org.diskplan.probe.vmdk.VmdkHeader;

// No lambdas or streams here: this class runs on the command line's start-up path (see ReadWatch / issue 20).
/**
 * One monolithicSparse resize being planned.
 *
 * <p><b>Grow:</b> (1) bytes past the old end that become visible are cleared while still
 * invisible: the tail of a partly used last grain, and grain table entries past the old last
 * grain in the last grain table (primary and redundant). (2) Grain tables for the new range
 * — all zero, so every new grain is unallocated — are placed at the end of the file as a
 * sparse extension, redundant ones first, as qemu and VMware preallocate every grain table
 * (qemu's writer refuses to write into a range whose grain directory entry is 0: it fails
 * with EINVAL, so the tables must exist). The grain directory entries pointing at them are
 * written into the spare bytes of the directory's last sector when they fit, past the old
 * entry count and so unread; otherwise both directories are copied, extended, to the end
 * of the file. The file ends on a whole grain. (3) The commit is one write: the header's
 * capacity (and gdOffset / rgdOffset when the directories moved) and, when the embedded
 * descriptor follows the header, the descriptor with the new extent size,
 * {@code ddb.geometry.cylinders} and a new CID.
 *
 * <p><b>Shrink:</b> the commit first (header and descriptor), then the bytes now past the
 * end are cleared as above, so a later grow cannot bring old data back; at the final step
 * the file is cut after the last grain or grain table still in use (when the kept tables
 * are at most {@link #MAX_TABLES_READ} bytes to read). Structures past the end that lie
 * below one still in use stay, unused.
 */
final class SparseResize {
    /** Most grain table bytes a shrink reads to find where the file can be cut (64 MiB). */
    static final long MAX_TABLES_READ = 64L << 20;
    private final ProbedImage image;
    private final VmdkHeader h;
    private final PlanReader reader;
    private final ResizeRequest request;
    private final FormatOptions.Vmdk options;
    private final long gtBytes;
    private final long gtSectors;

    SparseResize(ProbedImage image, VmdkHeader h, PlanReader reader, ResizeRequest request,
                 FormatOptions.Vmdk options) {
        this.image = image;
        this.h = h;
        this.reader = reader;
        this.request = request;
        this.options = options;
        this.gtBytes = h.grainTableBytes();
        this.gtSectors = sectorsFor(gtBytes);
    }

    ResizePlan plan() throws ResizeError {
        long newSize = request.newSize();
        long newCap = newSize / SECTOR;
        long oldE = h.grainDirectoryEntries();
        long newE = gdEntries(newCap, h.grainSize(), h.numGTEsPerGT());
        if (newE > MAX_GD_ENTRIES) {
            throw new ResizeError(ErrorCode.INVALID_NEW_SIZE, "a grain directory of " + newE
                    + " entries is more than qemu opens (L1 size too big, at most " + MAX_GD_ENTRIES + ")");
        }
        byte[] head = reader.read(0, HEADER_SIZE, "VMDK4 header");
        int[] gd = directory(h.gdOffsetBytes(), oldE, "grain directory");
        int[] rgd = h.hasRedundantGrainDirectory() ? directory(h.rgdOffsetBytes(), oldE, "redundant grain directory")
                : null;
        PlanBuilder plan = new PlanBuilder(ImageFormat.VMDK4, options, request, image.path(), image.fileSize());
        VmdkDescriptor d = h.descriptor().orElseThrow();
        DescriptorEdit edit = new DescriptorEdit(d.text());
        for (VmdkExtent e : d.extents()) {
            if (e.countedByQemu()) {
                edit.extentSectors(e.lineNumber(), newCap);
            }
        }
        var cylinders = edit.cylinders(newSize, d.ddb());
        String cid = DescriptorEdit.newCid(d.cid(), new SecureRandom());
        boolean cidSet = edit.cid(cid);
        byte[] text = edit.bytes();
        long descStart = h.descriptorOffset() * SECTOR;
        long descRoom = h.descriptorSize() * SECTOR;
        int oldTextLength = d.text().getBytes(StandardCharsets.ISO_8859_1).length;
        if (text.length + 1 > descRoom) {
            throw ResizeError.atField(ErrorCode.INVALID_NEW_SIZE, ResizeError.Kind.REFUSED, "VMDK4 header",
                    "descriptorSize", OFF_DESCRIPTOR_SIZE, ": the edited embedded descriptor (" + text.length
                    + " bytes) does not fit the " + descRoom + " bytes reserved for it");
        }
        byte[] descriptor = Arrays.copyOf(text, Math.max(text.length + 1, oldTextLength));
        plan.note("embedded descriptor: the extent line's sector count becomes " + newCap
                + (cylinders.isPresent() ? ", ddb.geometry.cylinders " + cylinders.getAsLong() : "")
                + (cidSet ? ", CID " + d.cid() + " -> " + cid + " (a new random content ID, as VMware and qemu give "
                + "a disk whose content changed; parentCID kept)" : "")
                + "; every other line is kept byte for byte");
        return newSize > image.virtualSize()
                ? grow(plan, head, gd, rgd, newCap, oldE, newE, descStart, descriptor)
                : shrink(plan, head, gd, rgd, newCap, descStart, descriptor);
    }

    private ResizePlan grow(PlanBuilder plan, byte[] head, int[] gd, int[] rgd, long newCap, long oldE, long newE,
                            long descStart, byte[] descriptor) throws ResizeError {
        List<ResizePatch> prep = new ArrayList<>(clearPast(gd, rgd, h.capacity(), "old"));
        long gdOff = h.gdOffsetBytes();
        long rgdOff = h.rgdOffsetBytes();
        long end = image.fileSize();
        List<ResizePatch> fresh = new ArrayList<>();
        if (newE > oldE) {
            boolean inPlace = newE * ENTRY_SIZE <= roundUpToSector(oldE * ENTRY_SIZE);
            long cursor = sectorsFor(image.fileSize());
            long dirSectors = sectorsFor(newE * ENTRY_SIZE);
            long newRgd = 0;
            long rgtStart = 0;
            if (rgd != null) {
                if (!inPlace) {
                    newRgd = cursor;
                    cursor += dirSectors;
                }
                rgtStart = cursor;
                cursor += (newE - oldE) * gtSectors;
            }
            long newGd = 0;
            if (!inPlace) {
                newGd = cursor;
                cursor += dirSectors;
            }
            long gtStart = cursor;
            cursor += (newE - oldE) * gtSectors;
            end = roundUp(cursor * SECTOR, h.grainBytes());
            if (end / SECTOR > 0xffffffffL) {
                throw new ResizeError(ErrorCode.INVALID_NEW_SIZE, "the grain tables for " + newCap
                        + " sectors would end past sector 2^32, which a VMDK grain directory entry cannot address");
            }
            byte[] gdNew = entries(gtStart, oldE, newE);
            byte[] rgdNew = rgd == null ? null : entries(rgtStart, oldE, newE);
            if (inPlace) {
                prep.add(new Write(gdOff + oldE * ENTRY_SIZE, gdNew, "grain directory: " + (newE - oldE)
                        + " new entries in its last sector (past the old count, unread until the commit)",
                        RegionKind.TABLE));
                if (rgd != null) {
                    prep.add(new Write(rgdOff + oldE * ENTRY_SIZE, rgdNew, "redundant grain directory: "
                            + (newE - oldE) + " new entries in its last sector", RegionKind.TABLE));
                }
                plan.note("grain directory grows in place from " + oldE + " to " + newE + " entries (" + (newE - oldE)
                        + " grain tables of " + gtBytes + " bytes added" + (rgd != null ? ", and their redundant copies"
                        : "") + ", zero: sparse at the end of the file)");
            } else {
                if (rgd != null) {
                    fresh.add(new Write(newRgd * SECTOR, concat(rgd, rgdNew), "redundant grain directory, moved and "
                            + "extended to " + newE + " entries", RegionKind.TABLE));
                }
                fresh.add(new Write(newGd * SECTOR, concat(gd, gdNew), "grain directory, moved and extended to "
                        + newE + " entries", RegionKind.TABLE));
                gdOff = newGd * SECTOR;
                rgdOff = newRgd * SECTOR;
                plan.note("the grain directory of " + newE + " entries does not fit where the " + oldE
                        + " entries were: both directories are copied to the end of the file with the new entries "
                        + "(gdOffset " + h.gdOffset() + " -> " + newGd + (rgd != null ? ", rgdOffset " + h.rgdOffset()
                        + " -> " + newRgd : "") + "); the old copies become unused");
            }
            long last = image.fileSize();
            for (ResizePatch p : fresh) {
                last = Math.max(last, p.end());
            }
            if (end > last) {
                fresh.add(new Extend(last, end - last, (newE - oldE) + " new grain tables" + (rgd != null
                        ? " (and redundant copies)" : "") + ", all zero (sparse)", RegionKind.TABLE));
            }
        }
        plan.phase(prep);
        plan.freshPhase(fresh);
        commit(plan, head, newCap, gdOff, rgdOff, descStart, descriptor);
        plan.finalLength(ResizePatch.IMAGE, Math.max(end, image.fileSize()));
        return plan.build(Planners.actionFor(image.virtualSize(), request.newSize()), image.virtualSize(),
                request.newSize());
    }

    private ResizePlan shrink(PlanBuilder plan, byte[] head, int[] gd, int[] rgd, long newCap, long descStart,
                              byte[] descriptor) throws ResizeError {
        commit(plan, head, newCap, h.gdOffsetBytes(), h.rgdOffsetBytes(), descStart, descriptor);
        plan.phase(clearPast(gd, rgd, newCap, "new"));
        plan.note("the grain table entries past the new end are cleared so a later grow reads zeros there");
        long newE = gdEntries(newCap, h.grainSize(), h.numGTEsPerGT());
        if (newE * gtBytes * (rgd == null ? 1 : 2) > MAX_TABLES_READ) {
            plan.note("the file is not cut: the kept grain tables are more than DiskPlan reads to find the last "
                    + "structure in use (" + MAX_TABLES_READ + " bytes)");
        } else {
            long used = lastUsed(gd, rgd, newCap, newE);
            if (used < image.fileSize()) {
                plan.finalLength(ResizePatch.IMAGE, used);
                plan.note("file cut after the last grain or grain table still in use: " + image.fileSize() + " -> "
                        + used + " bytes (grains and grain tables past it only served the dropped range)");
            } else {
                plan.note("grains and grain tables past the new end lie below structures still in use: they stay "
                        + "in the file, unused");
            }
        }
        return plan.build(Planners.actionFor(image.virtualSize(), request.newSize()), image.virtualSize(),
                request.newSize());
    }

    /** The header fields and, when it follows the header, the embedded descriptor: one write. */
    private void commit(PlanBuilder plan, byte[] head, long newCap, long gdOff, long rgdOff, long descStart,
                        byte[] descriptor) {
        ByteBuffer hb = ByteBuffer.wrap(head.clone()).order(ORDER);
        hb.putLong(OFF_CAPACITY, newCap);
        hb.putLong(OFF_GD_OFFSET, gdOff / SECTOR);
        if (h.hasRedundantGrainDirectory()) {
            hb.putLong(OFF_RGD_OFFSET, rgdOff / SECTOR);
        }
        byte[] header = hb.array();
        String what = "VMDK4 header: capacity " + newCap + " sectors" + (gdOff != h.gdOffsetBytes() ? ", gdOffset "
                + gdOff / SECTOR + ", rgdOffset " + rgdOff / SECTOR : "");
        if (descStart == HEADER_SIZE) {
            byte[] w = new byte[HEADER_SIZE - OFF_CAPACITY + descriptor.length];
            System.arraycopy(header, OFF_CAPACITY, w, 0, HEADER_SIZE - OFF_CAPACITY);
            System.arraycopy(descriptor, 0, w, HEADER_SIZE - OFF_CAPACITY, descriptor.length);
            plan.commit(new Write(OFF_CAPACITY, w, what + " and the embedded descriptor", RegionKind.HEADER));
        } else {
            plan.phase(List.of(new Write(descStart, descriptor, "embedded descriptor (qemu takes the size from "
                    + "the header)", RegionKind.METADATA)));
            plan.commit(new Write(OFF_CAPACITY, Arrays.copyOfRange(header, OFF_CAPACITY, OFF_OVERHEAD), what,
                    RegionKind.HEADER));
        }
    }

    /**
     * Clears what lies past {@code capacity} inside structures in use: the tail of the
     * last grain when it is partly used, and the entries past the last grain in its grain
     * table (primary and redundant).
     */
    private List<ResizePatch> clearPast(int[] gd, int[] rgd, long capacity, String which) throws ResizeError {
        List<ResizePatch> out = new ArrayList<>();
        long gs = h.grainSize();
        long n = h.numGTEsPerGT();
        long grains = capacity / gs + (capacity % gs == 0 ? 0 : 1);
        if (grains == 0) {
            return out;
        }
        long lastTable = (grains - 1) / n;
        if (capacity % gs != 0 && lastTable < gd.length && gd[(int) lastTable] != 0) {
            long entryAt = Integer.toUnsignedLong(gd[(int) lastTable]) * SECTOR + ((grains - 1) % n) * ENTRY_SIZE;
            long g = Integer.toUnsignedLong(ByteBuffer.wrap(reader.read(entryAt, ENTRY_SIZE,
                    "grain table entry of the last grain")).order(ORDER).getInt());
            boolean zeroed = g == 1 && (h.flags() & FLAG_ZEROED_GRAIN_GTE) != 0;
            if (g != 0 && !zeroed) {
                long from = g * SECTOR + (capacity % gs) * SECTOR;
                long to = Math.min(g * SECTOR + h.grainBytes(), image.fileSize());
                if (to > from) {
                    out.add(new ZeroFill(from, to - from, false, "zeros in the last grain past the " + which
                            + " end", RegionKind.DATA));
                }
            }
        }
        long firstUnused = grains % n;
        if (firstUnused != 0) {
            for (int[] dir : rgd == null ? List.of(gd) : List.of(gd, rgd)) {
                if (lastTable >= dir.length || dir[(int) lastTable] == 0) {
                    continue;
                }
                long at = Integer.toUnsignedLong(dir[(int) lastTable]) * SECTOR + firstUnused * ENTRY_SIZE;
                int len = (int) ((n - firstUnused) * ENTRY_SIZE);
                byte[] tail = reader.read(at, len, (dir == gd ? "" : "redundant ") + "grain table " + lastTable
                        + " past the " + which + " end");
                if (!allZero(tail)) {
                    out.add(new ZeroFill(at, len, false, (dir == gd ? "" : "redundant ") + "grain table " + lastTable
                            + ": entries past the " + which + " end cleared", RegionKind.TABLE));
                }
            }
        }
        return out;
    }

    /**
     * The end of the last structure a shrunken extent still uses: header, descriptor, the
     * metadata before the first grain, both directories (their old size), the grain tables of
     * the kept entries and every grain they map below the new capacity.
     */
    private long lastUsed(int[] gd, int[] rgd, long newCap, long newE) throws ResizeError {
        long used = Math.max(HEADER_SIZE, h.overHead() * SECTOR);
        used = Math.max(used, (h.descriptorOffset() + h.descriptorSize()) * SECTOR);
        long dirBytes = roundUpToSector(h.grainDirectoryEntries() * ENTRY_SIZE);
        used = Math.max(used, h.gdOffsetBytes() + dirBytes);
        if (rgd != null) {
            used = Math.max(used, h.rgdOffsetBytes() + dirBytes);
        }
        long n = h.numGTEsPerGT();
        long grains = newCap / h.grainSize() + (newCap % h.grainSize() == 0 ? 0 : 1);
        boolean zeroFlag = (h.flags() & FLAG_ZEROED_GRAIN_GTE) != 0;
        for (int i = 0; i < newE; i++) {
            if (rgd != null && rgd[i] != 0) {
                used = Math.max(used, Integer.toUnsignedLong(rgd[i]) * SECTOR + gtBytes);
            }
            if (gd[i] == 0) {
                continue;
            }
            long at = Integer.toUnsignedLong(gd[i]) * SECTOR;
            used = Math.max(used, at + gtBytes);
            ByteBuffer t = ByteBuffer.wrap(reader.read(at, (int) gtBytes, "grain table " + i)).order(ORDER);
            for (long j = 0; j < n && i * n + j < grains; j++) {
                long g = Integer.toUnsignedLong(t.getInt((int) (j * ENTRY_SIZE)));
                if (g > 1 || g == 1 && !zeroFlag) {
                    used = Math.max(used, g * SECTOR + h.grainBytes());
                }
            }
        }
        return Math.min(used, image.fileSize());
    }

    private int[] directory(long offset, long entries, String what) throws ResizeError {
        ByteBuffer b = ByteBuffer.wrap(reader.read(offset, (int) (entries * ENTRY_SIZE), what)).order(ORDER);
        int[] out = new int[(int) entries];
        b.asIntBuffer().get(out);
        return out;
    }

    private byte[] entries(long firstTable, long oldE, long newE) {
        ByteBuffer b = ByteBuffer.allocate((int) ((newE - oldE) * ENTRY_SIZE)).order(ORDER);
        for (long i = 0; i < newE - oldE; i++) {
            b.putInt((int) (firstTable + i * gtSectors));
        }
        return b.array();
    }

    private static byte[] concat(int[] old, byte[] added) {
        ByteBuffer b = ByteBuffer.allocate((int) roundUpToSector(old.length * (long) ENTRY_SIZE + added.length))
                .order(ORDER);
        for (int v : old) {
            b.putInt(v);
        }
        b.put(added);
        return b.array();
    }

    private static boolean allZero(byte[] b) {
        for (byte x : b) {
            if (x != 0) {
                return false;
            }
        }
        return true;
    }

    private static long roundUp(long v, long m) {
        return (v + m - 1) / m * m;
    }
}
