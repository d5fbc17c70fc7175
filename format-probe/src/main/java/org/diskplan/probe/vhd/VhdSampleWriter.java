package org.diskplan.probe.vhd;

import static org.diskplan.probe.vhd.VhdLayout.*;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.diskplan.probe.SampleWriter;

/**
 * Empty VHD images (qemu's driver name: vpc), fixed or dynamic, laid out as qemu-img
 * lays them out: for dynamic, a footer copy at 0, the dynamic header at 512, the BAT
 * at 1536 and the footer at the end; for fixed, the data then the footer. The size is
 * rounded up to one that a CHS geometry represents exactly, so every reader (those
 * that believe the geometry and those that believe current_size) sees the same size.
 */
public final class VhdSampleWriter implements SampleWriter {
    /** The dynamic header follows the footer copy; the BAT follows the dynamic header. */
    static final int BAT_OFFSET = FOOTER_SIZE + DYNAMIC_HEADER_SIZE;

    @Override
    public String format() {
        return "vpc";
    }

    @Override
    public List<String> subformats() {
        return List.of("dynamic", "fixed");
    }

    @Override
    public long write(Path file, long size, Map<String, String> options) throws IOException {
        String sub = options.getOrDefault("subformat", "dynamic");
        if (!subformats().contains(sub) || options.keySet().stream().anyMatch(k -> !k.equals("subformat"))) {
            throw new IllegalArgumentException("vpc takes subformat=dynamic|fixed, not " + options);
        }
        long wanted = (size + SECTOR - 1) / SECTOR;
        // Past the largest geometry, the maximum geometry tells every reader to believe
        // current_size, which then holds the exact size (qemu-img create does the same).
        boolean pastGeometry = wanted > Geometry.MAX.sectors();
        Geometry chs = pastGeometry ? Geometry.MAX : Geometry.covering(wanted);
        long sectors = pastGeometry ? wanted : chs.sectors();
        long virtual = sectors * SECTOR;
        if (virtual > MAX_SECTORS * SECTOR) {
            throw new IllegalArgumentException("VHD images hold at most 2040 GiB");
        }
        boolean fixed = sub.equals("fixed");
        byte[] footer = footer(virtual, chs, fixed);
        Files.createFile(file);
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            if (fixed) {
                raf.setLength(virtual + FOOTER_SIZE);
                raf.seek(virtual);
                raf.write(footer);
                return virtual;
            }
            long entries = batEntries(virtual, DEFAULT_BLOCK_SIZE);
            raf.write(footer);
            raf.write(dynamicHeader(entries));
            byte[] bat = new byte[(int) batBytes(entries)];
            Arrays.fill(bat, (byte) 0xff);
            raf.write(bat);
            raf.write(footer);
        }
        return virtual;
    }

    private static byte[] footer(long size, Geometry chs, boolean fixed) {
        ByteBuffer b = ByteBuffer.allocate(FOOTER_SIZE).order(ORDER);
        b.put(F_COOKIE, FOOTER_COOKIE);
        b.putInt(F_FEATURES, FEATURES_RESERVED);
        b.putInt(F_VERSION, VERSION_1_0);
        b.putLong(F_DATA_OFFSET, fixed ? NO_DATA_OFFSET : FOOTER_SIZE); // the dynamic header, none for fixed
        b.putInt(F_TIMESTAMP, (int) (Instant.now().getEpochSecond() - VHD_EPOCH));
        b.put(F_CREATOR_APP, "dpln".getBytes(StandardCharsets.US_ASCII));
        b.putInt(F_CREATOR_VERSION, 0x00010000);
        b.put(F_CREATOR_OS, "Wi2k".getBytes(StandardCharsets.US_ASCII));
        b.putLong(F_ORIGINAL_SIZE, size);
        b.putLong(F_CURRENT_SIZE, size);
        b.putShort(F_CYLINDERS, (short) chs.cylinders());
        b.put(F_HEADS, (byte) chs.heads());
        b.put(F_SECTORS, (byte) chs.sectorsPerTrack());
        b.putInt(F_DISK_TYPE, fixed ? DISK_TYPE_FIXED : DISK_TYPE_DYNAMIC);
        UUID id = UUID.randomUUID();
        b.putLong(F_UNIQUE_ID, id.getMostSignificantBits()).putLong(F_UNIQUE_ID + 8, id.getLeastSignificantBits());
        b.putInt(F_CHECKSUM, (int) checksum(b.array(), F_CHECKSUM));
        return b.array();
    }

    private static byte[] dynamicHeader(long entries) {
        ByteBuffer b = ByteBuffer.allocate(DYNAMIC_HEADER_SIZE).order(ORDER);
        b.put(D_COOKIE, DYNAMIC_COOKIE);
        b.putLong(D_DATA_OFFSET, NO_DATA_OFFSET);
        b.putLong(D_TABLE_OFFSET, BAT_OFFSET);
        b.putInt(D_VERSION, VERSION_1_0);
        b.putInt(D_MAX_TABLE_ENTRIES, (int) entries);
        b.putInt(D_BLOCK_SIZE, DEFAULT_BLOCK_SIZE);
        b.putInt(D_CHECKSUM, (int) checksum(b.array(), D_CHECKSUM));
        return b.array();
    }
}
