package org.diskplan.probe.vdi;

import static org.diskplan.probe.vdi.VdiLayout.*;

import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.function.LongFunction;
import org.diskplan.abi.ErrorCode;
import org.diskplan.abi.ImageFormat;
import org.diskplan.probe.RegionMap;
import org.diskplan.probe.FieldReader;
import org.diskplan.probe.FormatProbe;
import org.diskplan.probe.HeaderField;
import org.diskplan.probe.ImageReader;
import org.diskplan.probe.ProbeException;
import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.RegionKind;

/**
 * VirtualBox Disk Image (VDI 1.1), little-endian. Layout per VirtualBox {@code VDICore.h}
 * ({@code VDIPREHEADER}, {@code VDIHEADER1PLUS}) and qemu {@code block/vdi.c}: a 64-byte text,
 * the signature 0xbeda107f at 64, the header, the block map (u32 per block: host block index,
 * 0xffffffff free, 0xfffffffe zero) at offBlocks, and the data blocks from offData on.
 */
public final class VdiProbe implements FormatProbe {
    // No lambdas or streams here: this class runs on every command's start-up path (see ReadWatch / issue 20).

    /** How a field's value is shown, beyond FieldReader's decimal and hex. */
    private enum Shown implements LongFunction<String> {
        VERSION, IMAGE_TYPE;

        @Override
        public String apply(long v) {
            switch (this) {
                case VERSION:
                    return (v >>> 16) + "." + (v & 0xffff) + " (0x" + FieldReader.hexDigits(v, 8) + ")";
                case IMAGE_TYPE:
                    return v + " (" + typeName(v) + ")";
                default:
                    throw new IllegalStateException("no rendering for " + this);
            }
        }
    }

    // Offsets, signature, types, block map values and limits: VdiLayout (imported statically).
    private static final int MAP_CHUNK = 16 << 20;

    @Override
    public ImageFormat format() {
        return ImageFormat.VDI;
    }

    @Override
    public ProbedImage probe(Path path, ImageReader reader) throws ProbeException {
        long fileSize = reader.size();
        if (fileSize < HEADER_READ) {
            throw new ProbeException(ErrorCode.PARSE_FAILED, "header", 0, "VDI header at offset 0: the file has "
                    + fileSize + " bytes, fewer than the " + HEADER_READ + "-byte header");
        }
        byte[] head = reader.read(0, HEADER_READ, "VDI header");
        List<HeaderField> fields = new ArrayList<>();
        List<String> flags = new ArrayList<>();

        FieldReader pre = new FieldReader("VDI pre-header", 0, head, ByteOrder.LITTLE_ENDIAN, fields);
        String text = pre.ascii("szFileInfo", OFF_TEXT, 64,
                "free text identifying the creator, e.g. '<<< Oracle VM VirtualBox Disk Image >>>\\n'");
        long signature = pre.u32("u32Signature", OFF_SIGNATURE, "VDI signature, always 0xbeda107f",
                FieldReader.HEX);
        long version = pre.u32("u32Version", OFF_VERSION,
                "header version: major in the high 16 bits, minor in the low (1.1 = 0x00010001)",
                Shown.VERSION);
        if (signature != SIGNATURE) {
            throw err("u32Signature", OFF_SIGNATURE, "0x" + Long.toHexString(signature)
                    + " is not the VDI signature 0xbeda107f");
        }
        if (version != VERSION_1_1) {
            throw err("u32Version", OFF_VERSION, "version " + (version >>> 16) + "." + (version & 0xffff)
                    + " is not supported (only 1.1, as qemu)");
        }

        FieldReader h = new FieldReader("VDI header v1.1", 0, head, ByteOrder.LITTLE_ENDIAN, fields);
        long headerSize = h.u32("cbHeader", OFF_HEADER_SIZE,
                "bytes of header after the 72-byte pre-header (qemu writes 384, VirtualBox 400 with LCHS geometry)");
        long type = h.u32("u32Type", OFF_IMAGE_TYPE, "image type: 1 dynamic (blocks allocated on write), "
                + "2 fixed (all blocks allocated), 3 undo, 4 differencing", Shown.IMAGE_TYPE);
        long imageFlags = h.u32("fFlags", OFF_IMAGE_FLAGS, "image flags (VD_VDI_IMAGE_FLAGS_*)",
                FieldReader.HEX);
        String description = h.ascii("szComment", OFF_DESCRIPTION, DESCRIPTION_SIZE,
                "user comment (NUL-terminated)");
        long offBlocks = h.u32("offBlocks", OFF_BLOCKS, "byte offset of the block map (sector-aligned)");
        long offData = h.u32("offData", OFF_DATA, "byte offset of the first data block (sector-aligned)");
        long legCyl = h.u32("LegacyGeometry.cCylinders", OFF_LEGACY_CYLINDERS,
                "legacy (physical) geometry: cylinders; informational");
        long legHeads = h.u32("LegacyGeometry.cHeads", OFF_LEGACY_HEADS, "legacy geometry: heads");
        long legSectors = h.u32("LegacyGeometry.cSectors", OFF_LEGACY_SECTORS,
                "legacy geometry: sectors per track");
        long sectorSize = h.u32("LegacyGeometry.cbSector", OFF_SECTOR_SIZE,
                "bytes per sector; must be 512");
        h.u32("u32Dummy", OFF_DUMMY, "unused (was the translation mode)");
        long cbDisk = h.u64("cbDisk", OFF_DISK_SIZE, "virtual disk size in bytes (qemu rounds it up to 512)");
        long cbBlock = h.u32("cbBlock", OFF_BLOCK_SIZE,
                "bytes of guest data per block (1 MiB; the only size qemu opens)");
        long cbBlockExtra = h.u32("cbBlockExtra", OFF_BLOCK_EXTRA,
                "bytes of per-block metadata stored before each block's data (0 in practice)");
        long cBlocks = h.u32("cBlocks", OFF_BLOCK_COUNT, "entries in the block map (blocks in the virtual disk)");
        long cAllocated = h.u32("cBlocksAllocated", OFF_BLOCKS_ALLOCATED,
                "blocks with data in the file (map entries below 0xfffffffe)");
        String uuidCreate = h.guid("uuidCreate", OFF_UUID_CREATE, "UUID of the image, set at creation");
        String uuidModify = h.guid("uuidModify", OFF_UUID_MODIFY, "UUID changed on every modification");
        String uuidLinkage = h.guid("uuidLinkage", OFF_UUID_LINKAGE,
                "UUID of the parent image (differencing images); all zero otherwise");
        String uuidParentModify = h.guid("uuidParentModify", OFF_UUID_PARENT_MODIFY,
                "the parent's uuidModify when the link was made; all zero otherwise");
        boolean hasLchs = headerSize >= HEADER_SIZE_1PLUS;
        long lc = 0;
        long lh = 0;
        long ls = 0;
        long lb = 0;
        if (hasLchs) {
            lc = h.u32("LCHSGeometry.cCylinders", OFF_LCHS_CYLINDERS, "BIOS (logical CHS) geometry: cylinders");
            lh = h.u32("LCHSGeometry.cHeads", OFF_LCHS_HEADS, "logical CHS geometry: heads");
            ls = h.u32("LCHSGeometry.cSectors", OFF_LCHS_SECTORS, "logical CHS geometry: sectors per track");
            lb = h.u32("LCHSGeometry.cbSector", OFF_LCHS_SECTOR_SIZE, "logical CHS geometry: bytes per sector");
        }
        int headerEnd = hasLchs ? OFF_HEADER_END_1PLUS : OFF_LCHS_CYLINDERS;
        int padFrom = hasLchs ? OFF_HEADER_END_1PLUS : OFF_LCHS_CYLINDERS;
        if (padFrom < HEADER_READ) {
            boolean zero = true;
            for (int i = padFrom; i < HEADER_READ; i++) {
                zero &= head[i] == 0;
            }
            h.bytes("padding", padFrom, HEADER_READ - padFrom, zero ? "all zero" : "not all zero",
                    "reserved bytes up to the 512-byte header qemu reads");
        }

        // Validation: what qemu's vdi_open refuses, and what the map arithmetic needs.
        if (headerSize < HEADER_SIZE_QEMU) {
            flags.add("header size " + headerSize + " is shorter than a 1.1 header (" + HEADER_SIZE_QEMU + ")");
        }
        if (offBlocks % SECTOR != 0) {
            throw err("offBlocks", OFF_BLOCKS, "unaligned block map offset 0x" + Long.toHexString(offBlocks)
                    + " (must be a multiple of 512)");
        }
        if (offData % SECTOR != 0) {
            throw err("offData", OFF_DATA, "unaligned data offset 0x" + Long.toHexString(offData)
                    + " (must be a multiple of 512)");
        }
        // Overlaps qemu's vdi_open does not check (it opens such files, reading the map from
        // the header, zeros past the end of the file, or data over the map); VirtualBox
        // refuses them and a resize would write one structure over the other: flagged
        // corrupt, so that info shows the file and the planner refuses it.
        List<String> overlaps = new ArrayList<>();
        if (offBlocks < headerEnd) {
            overlaps.add(corrupt("offBlocks", OFF_BLOCKS, "block map offset " + offBlocks
                    + " overlaps the header (ends at " + headerEnd + "); VirtualBox refuses it"));
        }
        if (sectorSize != SECTOR) {
            throw err("LegacyGeometry.cbSector", OFF_SECTOR_SIZE, "sector size " + sectorSize + " is not 512");
        }
        if (cbBlock < SECTOR || cbBlock > MAX_BLOCK_SIZE || Long.bitCount(cbBlock) != 1) {
            throw err("cbBlock", OFF_BLOCK_SIZE, "block size " + cbBlock
                    + " is not a power of two between 512 and 1 GiB");
        }
        if (cbBlockExtra % SECTOR != 0 || cbBlockExtra > MAX_BLOCK_SIZE) {
            throw err("cbBlockExtra", OFF_BLOCK_EXTRA, "block extra " + cbBlockExtra
                    + " is not a multiple of 512 up to 1 GiB");
        }
        if (cBlocks > MAX_BLOCKS) {
            throw err("cBlocks", OFF_BLOCK_COUNT, cBlocks + " blocks exceed the maximum " + MAX_BLOCKS);
        }
        if (Long.compareUnsigned(cbDisk, cBlocks * cbBlock) > 0) {
            throw err("cbDisk", OFF_DISK_SIZE, "disk size " + Long.toUnsignedString(cbDisk)
                    + " exceeds what the block map covers (" + cBlocks + " blocks of " + cbBlock + " = "
                    + cBlocks * cbBlock + " bytes)");
        }
        long mapBytes = mapBytes(cBlocks);
        long mapEntries = cBlocks;
        if (offBlocks > fileSize || fileSize - offBlocks < mapBytes) {
            mapEntries = offBlocks >= fileSize ? 0 : (fileSize - offBlocks) / MAP_ENTRY_SIZE;
            overlaps.add(corrupt("cBlocks", OFF_BLOCK_COUNT, "block map of " + cBlocks + " entries at offset "
                    + offBlocks + " (" + mapBytes + " bytes) runs past the end of the file (" + fileSize
                    + " bytes; qemu reads zeros there); " + mapEntries + " entries are inside it"));
        }
        if (offData < offBlocks + mapBytes) {
            overlaps.add(corrupt("offData", OFF_DATA, "the data area from offset " + offData
                    + " overlaps the block map [" + offBlocks + ", " + (offBlocks + mapBytes) + "); VirtualBox refuses it"));
        }
        long virtualSize = roundUpToSector(cbDisk);

        // Block map: streamed in chunks, host block indices marked in a bit set bounded by the file.
        long stride = cbBlock + cbBlockExtra;
        long hostSlots = offData >= fileSize ? 0 : (fileSize - offData) / stride;
        BitSet used = new BitSet(); // grows only with entries that point inside the file
        long allocated = 0;
        long zero = 0;
        long free = 0;
        long beyondEnd = 0;
        long duplicates = 0;
        long highest = -1;
        long firstBad = -1;
        for (long done = 0; done < mapEntries; ) {
            int n = (int) Math.min(mapEntries - done, MAP_CHUNK / 4);
            byte[] chunk = reader.read(offBlocks + done * 4, n * 4, "VDI block map");
            java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(chunk).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < n; i++) {
                long e = Integer.toUnsignedLong(b.getInt(i * 4));
                if (e == BLOCK_FREE) {
                    free++;
                } else if (e == BLOCK_ZERO) {
                    zero++;
                } else {
                    allocated++;
                    highest = Math.max(highest, e);
                    if (e >= hostSlots || e > Integer.MAX_VALUE - 8) {
                        beyondEnd++;
                        if (firstBad < 0) {
                            firstBad = done + i;
                        }
                    } else if (used.get((int) e)) {
                        duplicates++;
                    } else {
                        used.set((int) e);
                    }
                }
            }
            done += n;
        }
        long dataEnd = blockOffset(offData, highest + 1, stride); // offData when no block is allocated

        List<HeaderField> mapFields = fields; // "block map" summary group
        byte[] none = new byte[0];
        mapFields.add(new HeaderField("block map", "offset", offBlocks, 0, none, Long.toString(offBlocks),
                "byte offset of the map (offBlocks)"));
        mapFields.add(new HeaderField("block map", "entries", offBlocks, 0, none, Long.toString(cBlocks),
                "u32 entries, one per " + cbBlock + "-byte block of the virtual disk"));
        mapFields.add(new HeaderField("block map", "allocated entries", offBlocks, 0, none,
                Long.toString(allocated), "entries holding a host block index (data = offData + index × "
                + stride + ")"));
        mapFields.add(new HeaderField("block map", "zero entries", offBlocks, 0, none, Long.toString(zero),
                "entries 0xfffffffe: the block reads as zeros without data in the file"));
        mapFields.add(new HeaderField("block map", "free entries", offBlocks, 0, none, Long.toString(free),
                "entries 0xffffffff: block never written"));
        mapFields.add(new HeaderField("block map", "highest host block", offBlocks, 0, none,
                Long.toString(highest), "largest host block index in use (-1: none)"));

        // Flags.
        flags.addAll(overlaps);
        if (type == TYPE_DIFF || !isNull(uuidLinkage) || !isNull(uuidParentModify)) {
            flags.add("has parent " + uuidLinkage + " (differencing image; qemu refuses non-null link/parent UUIDs)");
        }
        if (type != TYPE_DYNAMIC && type != TYPE_FIXED) {
            flags.add("image type " + type + " (" + typeName(type) + ")");
        }
        if (cbBlock != QEMU_BLOCK_SIZE) {
            flags.add("block size " + cbBlock + " (qemu opens only 1 MiB blocks)");
        }
        if (cbBlockExtra != 0) {
            flags.add("block extra " + cbBlockExtra + " bytes");
        }
        if (cbDisk % SECTOR != 0) {
            flags.add("disk size " + cbDisk + " is not a multiple of 512; qemu reads it as " + virtualSize);
        }
        if (allocated != cAllocated) {
            flags.add("cBlocksAllocated says " + cAllocated + " but the map has " + allocated + " allocated entries");
        }
        if (beyondEnd > 0) {
            flags.add("corrupt: " + beyondEnd + " map entries point beyond the end of the file (first: block "
                    + firstBad + ")");
        }
        if (duplicates > 0) {
            flags.add("corrupt: " + duplicates + " map entries share a host block with another entry");
        }
        if (!description.isEmpty() && !FieldReader.printable(description.getBytes(StandardCharsets.ISO_8859_1))
                .isEmpty()) {
            flags.add("comment: " + FieldReader.printable(description.getBytes(StandardCharsets.ISO_8859_1)));
        }

        // Layout.
        RegionMap map = new RegionMap(fileSize);
        map.structure(RegionKind.HEADER, 0, headerEnd, "VDI pre-header and header");
        map.structure(RegionKind.TABLE, offBlocks, mapBytes, "block map (" + cBlocks + " entries)");
        long[] starts = new long[(int) Math.min(used.cardinality(), Integer.MAX_VALUE - 8)];
        int n = 0;
        for (int i = used.nextSetBit(0); i >= 0 && n < starts.length; i = used.nextSetBit(i + 1)) {
            starts[n++] = blockOffset(offData, i, stride);
        }
        for (long[] run : RegionMap.runs(starts, n, stride, RegionMap.MAX_RUNS)) {
            map.data(RegionKind.DATA, run[0], run[1] - run[0], "data blocks");
        }
        List<org.diskplan.probe.LayoutRegion> regions = map.build(RegionKind.FREE, "unused");

        String subformat = switch ((int) type) {
            case TYPE_DYNAMIC -> "dynamic";
            case TYPE_FIXED -> "static";
            case TYPE_UNDO -> "undo";
            case TYPE_DIFF -> "diff";
            default -> "type " + type;
        };
        VdiHeader header = new VdiHeader(FieldReader.printable(text.getBytes(StandardCharsets.ISO_8859_1)),
                signature, version, headerSize, type, imageFlags,
                FieldReader.printable(description.getBytes(StandardCharsets.ISO_8859_1)), offBlocks, offData,
                legCyl, legHeads, legSectors, sectorSize, cbDisk, cbBlock, cbBlockExtra, cBlocks, cAllocated,
                uuidCreate, uuidModify, uuidLinkage, uuidParentModify, hasLchs, lc, lh, ls, lb, allocated, zero,
                free, highest, dataEnd);
        return new ProbedImage(path, ImageFormat.VDI, subformat, virtualSize, fileSize, cbBlock, flags, fields,
                regions, header);
    }

    static String typeName(long type) {
        return switch ((int) type) {
            case TYPE_DYNAMIC -> "dynamic";
            case TYPE_FIXED -> "fixed";
            case TYPE_UNDO -> "undo";
            case TYPE_DIFF -> "differencing";
            default -> "unknown";
        };
    }

    private static boolean isNull(String uuid) {
        return uuid.equals("00000000-0000-0000-0000-000000000000");
    }

    private static String corrupt(String field, int offset, String what) {
        return "corrupt: VDI header field " + field + " at offset " + offset + ": " + what + " (qemu opens it)";
    }

    private static ProbeException err(String field, int offset, String what) {
        return new ProbeException(ErrorCode.PARSE_FAILED, field, offset,
                "VDI header field " + field + " at offset " + offset + ": " + what);
    }
}
