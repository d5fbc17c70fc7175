package org.diskplan.probe.dmg;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import org.diskplan.abi.ImageFormat;
import org.diskplan.probe.FieldReader;
import org.diskplan.probe.HeaderField;
import org.diskplan.probe.HeaderProbe;
import org.diskplan.probe.ImageReader;
import org.diskplan.probe.ProbeException;
import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.RegionKind;
import org.diskplan.probe.RunLayout;

/**
 * Apple disk images (UDIF) as qemu 7.2 reads them (block/dmg.c, read-only). A DMG is known by its
 * 512-byte "koly" trailer at the end of the file, which points at the data fork and at the block
 * tables (a resource fork, or an XML property list of base64 "mish" blocks). Virtual size =
 * {@code SectorCount} × 512. qemu's own probe only looks at the name (".dmg"); DiskPlan finds the
 * trailer, so a DMG is never taken for raw whatever its name.
 */
public final class DmgProbe extends HeaderProbe {
    static final ByteOrder ORDER = ByteOrder.BIG_ENDIAN;
    public static final int TRAILER_SIZE = 512;
    static final long VERSION = 4;
    /** qemu reads at most this much XML property list. */
    static final long MAX_XML = 16L << 20;
    static final long SECTOR = 512;
    /** qemu looks for "koly" from 1023 bytes before the end up to the last 512 bytes. */
    static final int SEARCH = 1023;

    public DmgProbe() {
        super(ImageFormat.DMG, "UDIF trailer", true);
    }

    /**
     * The offset of a UDIF trailer: "koly", version 4 and header size 512, looked for where qemu
     * looks (the last 1023 bytes, first match wins); empty when there is none.
     */
    public static OptionalLong findTrailer(ImageReader reader) throws ProbeException {
        long size = reader.size();
        if (size < TRAILER_SIZE) {
            return OptionalLong.empty();
        }
        long from = Math.max(0, size - SEARCH);
        byte[] tail = reader.read(from, (int) (size - from), "UDIF trailer");
        ByteBuffer b = ByteBuffer.wrap(tail).order(ORDER);
        for (int i = 0; i + TRAILER_SIZE <= tail.length; i++) {
            if (tail[i] == 'k' && tail[i + 1] == 'o' && tail[i + 2] == 'l' && tail[i + 3] == 'y'
                    && Integer.toUnsignedLong(b.getInt(i + 4)) == VERSION
                    && Integer.toUnsignedLong(b.getInt(i + 8)) == TRAILER_SIZE) {
                return OptionalLong.of(from + i);
            }
        }
        return OptionalLong.empty();
    }

    @Override
    protected ProbedImage parse(Path path, ImageReader reader) throws ProbeException {
        long fileSize = reader.size();
        OptionalLong found = findTrailer(reader);
        if (found.isEmpty()) {
            throw fail("signature", Math.max(0, fileSize - TRAILER_SIZE), "no 'koly' trailer (version 4, 512 bytes)"
                    + " in the last " + SEARCH + " bytes: Could not locate UDIF trailer in dmg file");
        }
        long at = found.getAsLong();
        byte[] k = reader.read(at, TRAILER_SIZE, group());
        List<HeaderField> fields = new ArrayList<>();
        FieldReader f = new FieldReader(group(), at, k, ORDER, fields);
        f.ascii("signature", 0, 4, "'koly'");
        long version = f.u32("version", 4, "trailer version (4)", FieldReader::decimal);
        f.u32("header_size", 8, "trailer size (512)", FieldReader::decimal);
        long flags = f.u32("flags", 12, "bit 0 flattened, bit 2 internet-enabled", FieldReader::hex);
        f.u64("running_data_fork_offset", 0x10, "unused by readers");
        long dataOff = f.u64("data_fork_offset", 0x18, "start of the data fork (the blocks' bytes)");
        long dataLen = f.u64("data_fork_length", 0x20, "length of the data fork");
        long rsrcOff = f.u64("rsrc_fork_offset", 0x28, "start of the resource fork (block tables, old images)");
        long rsrcLen = f.u64("rsrc_fork_length", 0x30, "length of the resource fork (0 = none)");
        f.u32("segment_number", 0x38, "segment of a split image (1)", FieldReader::decimal);
        f.u32("segment_count", 0x3c, "segments of a split image (1)", FieldReader::decimal);
        f.bytes("segment_id", 0x40, 16, java.util.HexFormat.of().formatHex(k, 0x40, 0x50), "UUID of the segment");
        f.u32("data_checksum_type", 0x50, "checksum of the data fork (2 = CRC-32)", FieldReader::decimal);
        long xmlOff = f.u64("xml_offset", 0xd8, "start of the XML property list with the block tables (blkx)");
        long xmlLen = f.u64("xml_length", 0xe0, "length of the property list (0 = none)");
        f.u32("checksum_type", 0x160, "checksum of the whole image (2 = CRC-32)", FieldReader::decimal);
        long variant = f.u32("image_variant", 0x1e8, "1 device image, 2 partition image", FieldReader::decimal);
        long sectors = f.u64("sector_count", 0x1ec, "virtual disk size in 512-byte sectors");

        if (Long.compareUnsigned(dataOff, at) > 0) {
            throw fail("data_fork_offset", at + 0x18, Long.toUnsignedString(dataOff) + " lies after the trailer ("
                    + at + ")");
        }
        if (Long.compareUnsigned(rsrcOff, at) >= 0 || Long.compareUnsigned(rsrcLen, at - rsrcOff) > 0) {
            throw fail("rsrc_fork_offset", at + 0x28, "the resource fork (" + Long.toUnsignedString(rsrcLen)
                    + " bytes at " + Long.toUnsignedString(rsrcOff) + ") does not end before the trailer (" + at + ")");
        }
        if (Long.compareUnsigned(xmlOff, at) >= 0 || Long.compareUnsigned(xmlLen, at - xmlOff) > 0) {
            throw fail("xml_offset", at + 0xd8, "the property list (" + Long.toUnsignedString(xmlLen) + " bytes at "
                    + Long.toUnsignedString(xmlOff) + ") does not end before the trailer (" + at + ")");
        }
        if (sectors < 0 || sectors > Long.MAX_VALUE / SECTOR) {
            throw fail("sector_count", at + 0x1ec, Long.toUnsignedString(sectors) + " sectors overflow a 64-bit size");
        }
        if (rsrcLen == 0 && xmlLen == 0) {
            throw fail("xml_length", at + 0xe0, "neither a resource fork nor a property list: no block tables");
        }
        if (rsrcLen == 0 && xmlLen > MAX_XML) {
            throw fail("xml_length", at + 0xe0, xmlLen + " bytes is more than the 16 MiB of property list qemu reads");
        }

        RunLayout layout = new RunLayout(fileSize);
        layout.add(at, TRAILER_SIZE, RegionKind.FOOTER, "UDIF trailer (koly)");
        if (rsrcLen != 0) {
            layout.add(rsrcOff, rsrcLen, RegionKind.METADATA, "resource fork (block tables)");
        }
        if (xmlLen != 0) {
            layout.add(xmlOff, xmlLen, RegionKind.METADATA, "property list (block tables)");
        }
        if (dataLen > 0 && Long.compareUnsigned(dataLen, at - dataOff) <= 0) {
            layout.add(dataOff, dataLen, RegionKind.DATA, "data fork (compressed and raw blocks)");
        }
        List<String> flagList = new ArrayList<>();
        if (at + TRAILER_SIZE != fileSize) {
            flagList.add("trailer at " + at + ", " + (fileSize - at - TRAILER_SIZE) + " bytes before the end");
        }
        if (Long.compareUnsigned(dataLen, at - dataOff) > 0) {
            flagList.add("corrupt: the data fork runs past the trailer");
        }
        String subformat = variant == 2 ? "partition" : "";
        return new ProbedImage(path, ImageFormat.DMG, subformat, sectors * SECTOR, fileSize, 0, flagList, fields,
                layout.build(RegionKind.FREE, "unused"), new DmgHeader(at, version, flags, dataOff, dataLen,
                rsrcOff, rsrcLen, xmlOff, xmlLen, variant, sectors));
    }
}
