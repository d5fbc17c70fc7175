package org.diskplan.probe.vmdk;

import static org.diskplan.probe.vmdk.VmdkLayout.SECTOR;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.diskplan.abi.ErrorCode;
import org.diskplan.abi.ImageFormat;
import org.diskplan.probe.RegionMap;
import org.diskplan.probe.FieldReader;
import org.diskplan.probe.FormatProbe;
import org.diskplan.probe.HeaderField;
import org.diskplan.probe.ImageReader;
import org.diskplan.probe.LayoutRegion;
import org.diskplan.probe.ProbeException;
import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.RegionKind;

/**
 * VMDK3 / ESX "COWD" sparse extents (vmfsSparse). Grain directory of {@code numGDEntries} u32
 * sector offsets, grain tables of 4096 u32 grain sector offsets. The virtual size is
 * {@code numSectors × 512}, as qemu's {@code vmdk_open_vmfs_sparse} reports it.
 */
public final class Vmdk3Probe implements FormatProbe {
    static final int HEADER_SIZE = 2048;
    /** Bytes qemu reads: the magic and ten u32 fields. */
    static final int QEMU_HEADER_SIZE = 44;
    static final byte[] MAGIC = {'C', 'O', 'W', 'D'};

    static final int OFF_MAGIC = 0;
    static final int OFF_VERSION = 4;
    static final int OFF_FLAGS = 8;
    static final int OFF_NUM_SECTORS = 12;
    static final int OFF_GRAIN_SIZE = 16;
    static final int OFF_GD_OFFSET = 20;
    static final int OFF_NUM_GD_ENTRIES = 24;
    static final int OFF_FREE_SECTOR = 28;
    static final int OFF_CYLINDERS = 32;
    static final int OFF_HEADS = 36;
    static final int OFF_SECTORS = 40;
    static final int OFF_PARENT_FILE_NAME = 32;
    static final int PARENT_FILE_NAME_SIZE = 1024;
    static final int OFF_PARENT_GENERATION = 1056;
    static final int OFF_GENERATION = 1060;
    static final int OFF_NAME = 1064;
    static final int NAME_SIZE = 60;
    static final int OFF_DESCRIPTION = 1124;
    static final int DESCRIPTION_SIZE = 512;
    static final int OFF_SAVED_GENERATION = 1636;
    static final int OFF_RESERVED = 1640;
    static final int OFF_UNCLEAN_SHUTDOWN = 1648;
    static final int OFF_PADDING = 1652;

    @Override
    public ImageFormat format() {
        return ImageFormat.VMDK3;
    }

    @Override
    public ProbedImage probe(Path path, ImageReader reader) throws ProbeException {
        long fileSize = reader.size();
        if (fileSize < QEMU_HEADER_SIZE) {
            throw new ProbeException(ErrorCode.PARSE_FAILED, "header", 0, "COWD header at offset 0: the file has "
                    + fileSize + " bytes, fewer than the " + QEMU_HEADER_SIZE + " bytes of header fields");
        }
        int headLen = (int) Math.min(HEADER_SIZE, fileSize);
        byte[] head = reader.read(0, headLen, "COWD header");
        List<HeaderField> fields = new ArrayList<>();
        List<String> flags = new ArrayList<>();
        FieldReader h = new FieldReader("COWD header", 0, head, ByteOrder.LITTLE_ENDIAN, fields);
        byte[] magic = h.bytes("magicNumber", OFF_MAGIC, 4, "'" + FieldReader.printable(
                Arrays.copyOf(head, 4)) + "'", "ESX sparse extent magic 'COWD'");
        if (!Arrays.equals(magic, MAGIC)) {
            throw err("magicNumber", OFF_MAGIC, "'" + FieldReader.printable(magic) + "' is not 'COWD'");
        }
        long version = h.u32("version", OFF_VERSION, "header version (1)");
        long hflags = h.u32("flags", OFF_FLAGS, "header flags", FieldReader::hex);
        long numSectors = h.u32("numSectors", OFF_NUM_SECTORS, "extent size in 512-byte sectors");
        long grainSize = h.u32("grainSize", OFF_GRAIN_SIZE, "grain size in sectors");
        long gdOffset = h.u32("gdOffset", OFF_GD_OFFSET, "grain directory start in sectors");
        long numGd = h.u32("numGDEntries", OFF_NUM_GD_ENTRIES, "grain directory entries");
        long freeSector = h.u32("freeSector", OFF_FREE_SECTOR, "next free sector: where the next grain goes");
        long cyl = h.u32("u.root.cylinders", OFF_CYLINDERS, "root disk geometry: cylinders");
        long heads = h.u32("u.root.heads", OFF_HEADS, "root disk geometry: heads");
        long secs = h.u32("u.root.sectors", OFF_SECTORS, "root disk geometry: sectors per track");
        String parent = "";
        long generation = 0;
        long unclean = 0;
        if (headLen >= HEADER_SIZE) {
            FieldReader c = new FieldReader("COWD header (child view of the union)", 0, head,
                    ByteOrder.LITTLE_ENDIAN, fields);
            String raw = c.ascii("u.child.parentFileName", OFF_PARENT_FILE_NAME, PARENT_FILE_NAME_SIZE,
                    "child (redo log) disks: file name of the parent; overlays the root geometry");
            c.u32("u.child.parentGeneration", OFF_PARENT_GENERATION, "child disks: the parent's generation");
            int nul = raw.indexOf('\0');
            String name = nul < 0 ? raw : raw.substring(0, nul);
            if (name.length() > 1 && name.chars().allMatch(ch -> ch >= 0x20 && ch < 0x7f)) {
                parent = name;
            }
            FieldReader t = new FieldReader("COWD header", 0, head, ByteOrder.LITTLE_ENDIAN, fields);
            generation = t.u32("generation", OFF_GENERATION, "incremented on every change");
            t.ascii("name", OFF_NAME, NAME_SIZE, "disk name");
            t.ascii("description", OFF_DESCRIPTION, DESCRIPTION_SIZE, "disk description");
            t.u32("savedGeneration", OFF_SAVED_GENERATION, "generation when last saved");
            t.bytes("reserved", OFF_RESERVED, 8, FieldReader.printable(Arrays.copyOfRange(head, OFF_RESERVED,
                    OFF_RESERVED + 8)).isEmpty() ? "all zero" : "not all zero", "reserved");
            unclean = t.u32("uncleanShutdown", OFF_UNCLEAN_SHUTDOWN, "non-zero after a crash");
            t.bytes("padding", OFF_PADDING, HEADER_SIZE - OFF_PADDING, "padding", "padding to 2048 bytes");
        } else {
            flags.add("header shorter than 2048 bytes: only the fields qemu reads are shown");
        }

        if (grainSize == 0 || grainSize > VmdkLayout.MAX_GRAIN_SECTORS) {
            throw err("grainSize", OFF_GRAIN_SIZE, grainSize + " sectors: invalid granularity (1.."
                    + VmdkLayout.MAX_GRAIN_SECTORS + ")");
        }
        if (numGd > VmdkLayout.MAX_GD_ENTRIES) {
            throw err("numGDEntries", OFF_NUM_GD_ENTRIES, numGd + " entries: L1 size too big (qemu allows at most "
                    + VmdkLayout.MAX_GD_ENTRIES + ")");
        }
        long gdStart = gdOffset * SECTOR;
        long gdBytes = numGd * 4;
        if (gdStart + gdBytes > fileSize) {
            throw err("gdOffset", OFF_GD_OFFSET, "grain directory at sector " + gdOffset + " (" + numGd
                    + " entries) lies beyond the end of the file (" + fileSize + " bytes)");
        }
        if (numGd > 0 && gdStart < QEMU_HEADER_SIZE) {
            throw err("gdOffset", OFF_GD_OFFSET, "grain directory at sector 0 would overlap the header");
        }
        long gtBytes = VmdkLayout.grainTableBytes(Vmdk3Header.GTES_PER_GT);
        long grainBytes = grainSize * SECTOR;
        RegionMap map = new RegionMap(fileSize);
        map.structure(RegionKind.HEADER, 0, Math.min(HEADER_SIZE, fileSize), "COWD header");
        if (numGd > 0) {
            map.structure(RegionKind.TABLE, gdStart, VmdkLayout.roundUpToSector(gdBytes),
                    "grain directory (" + numGd + " entries)");
        }
        SparseExtentParser.Budget budget = SparseExtentParser.Budget.standard();
        long[] gtStarts = new long[(int) numGd];
        int gtCount = 0;
        long allocatedGts = 0;
        long allocatedGrains = 0;
        long beyond = 0;
        boolean complete = true;
        long[] grains = new long[1024];
        int grainCount = 0;
        ByteBuffer gd = gdBytes == 0 ? ByteBuffer.allocate(0)
                : reader.readBuffer(gdStart, (int) gdBytes, ByteOrder.LITTLE_ENDIAN, "COWD grain directory");
        for (int i = 0; i < numGd; i++) {
            long gt = Integer.toUnsignedLong(gd.getInt(i * 4));
            if (gt == 0) {
                continue;
            }
            allocatedGts++;
            long off = gt * SECTOR;
            if (off + gtBytes > fileSize) {
                beyond++;
                continue;
            }
            gtStarts[gtCount++] = off;
            if (budget.grainTableBytes < gtBytes) {
                complete = false;
                continue;
            }
            budget.grainTableBytes -= gtBytes;
            ByteBuffer t = reader.readBuffer(off, (int) gtBytes, ByteOrder.LITTLE_ENDIAN, "COWD grain table " + i);
            for (int k = 0; k < Vmdk3Header.GTES_PER_GT; k++) {
                long g = Integer.toUnsignedLong(t.getInt(k * 4));
                if (g == 0) {
                    continue;
                }
                allocatedGrains++;
                if (g * SECTOR + grainBytes > fileSize) {
                    beyond++;
                    continue;
                }
                if (grainCount == grains.length) {
                    grains = Arrays.copyOf(grains, grains.length * 2);
                }
                grains[grainCount++] = (g << 31) | grainSize;
            }
        }
        for (long[] run : RegionMap.runs(gtStarts, gtCount, gtBytes, RegionMap.MAX_RUNS)) {
            map.structure(RegionKind.TABLE, run[0], run[1] - run[0], "grain tables");
        }
        for (long[] run : RegionMap.runsPacked(grains, grainCount, RegionMap.MAX_RUNS)) {
            map.data(RegionKind.DATA, run[0], run[1] - run[0], "grains");
        }
        byte[] none = new byte[0];
        fields.add(new HeaderField("grain directory", "entries", gdStart, 0, none, Long.toString(numGd),
                "u32 sector offsets of grain tables of 4096 entries each"));
        fields.add(new HeaderField("grain directory", "allocated grain tables", gdStart, 0, none,
                Long.toString(allocatedGts), "entries that are not 0"));
        fields.add(new HeaderField("grain directory", "allocated grains", gdStart, 0, none,
                Long.toString(allocatedGrains), "grain table entries that are not 0"));
        fields.add(new HeaderField("grain directory", "scan", gdStart, 0, none, complete ? "complete" : "partial",
                "whether every grain table was read"));
        flags.add("a COWD extent: qemu opens it only through a descriptor file (vmfsSparse)");
        if (!parent.isEmpty()) {
            flags.add("backing file: " + parent);
        }
        if (unclean != 0) {
            flags.add("dirty (uncleanShutdown = " + unclean + ")");
        }
        if (beyond > 0) {
            flags.add("corrupt: " + beyond + " grain tables or grains lie beyond the end of the file");
        }
        if (!complete) {
            flags.add("grain tables scanned partially (read budget reached)");
        }
        List<LayoutRegion> regions = complete ? map.build(RegionKind.FREE, "unused")
                : map.build(RegionKind.DATA, "not scanned (grains or free space)");
        Vmdk3Header header = new Vmdk3Header(version, hflags, numSectors, grainSize, gdOffset, numGd, freeSector,
                cyl, heads, secs, parent, generation, unclean, allocatedGts, allocatedGrains, complete);
        return new ProbedImage(path, ImageFormat.VMDK3, "vmfsSparse", numSectors * SECTOR, fileSize, grainBytes,
                flags, fields, regions, header);
    }

    private static ProbeException err(String field, int offset, String what) {
        return new ProbeException(ErrorCode.PARSE_FAILED, field, offset,
                "COWD header field " + field + " at offset " + offset + ": " + what);
    }
}
