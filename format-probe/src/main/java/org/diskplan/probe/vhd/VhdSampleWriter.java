package org.diskplan.probe.vhd;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
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
    static final int FOOTER = 512;
    static final int DYNAMIC_HEADER = 1024;
    static final int BAT_OFFSET = FOOTER + DYNAMIC_HEADER;
    static final int BLOCK_SIZE = 2 << 20;
    static final long MAX_SECTORS = 65535L * 16 * 255;
    static final long VHD_EPOCH = Instant.parse("2000-01-01T00:00:00Z").getEpochSecond();

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
        long wanted = ceilDiv(size, 512);
        // Past the largest geometry, the maximum geometry tells every reader to believe
        // current_size, which then holds the exact size (qemu-img create does the same).
        int[] chs = wanted > MAX_SECTORS ? new int[] {65535, 16, 255} : geometryCovering(wanted);
        long sectors = wanted > MAX_SECTORS ? wanted : (long) chs[0] * chs[1] * chs[2];
        long virtual = sectors * 512;
        if (virtual > 2040L << 30) {
            throw new IllegalArgumentException("VHD images hold at most 2040 GiB");
        }
        boolean fixed = sub.equals("fixed");
        byte[] footer = footer(virtual, chs, fixed);
        Files.createFile(file);
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            if (fixed) {
                raf.setLength(virtual + FOOTER);
                raf.seek(virtual);
                raf.write(footer);
                return virtual;
            }
            long entries = ceilDiv(virtual, BLOCK_SIZE);
            long batBytes = ceilDiv(entries * 4, 512) * 512;
            raf.write(footer);
            raf.write(dynamicHeader(entries));
            byte[] bat = new byte[(int) batBytes];
            Arrays.fill(bat, (byte) 0xff);
            raf.write(bat);
            raf.write(footer);
        }
        return virtual;
    }

    private static byte[] footer(long size, int[] chs, boolean fixed) {
        ByteBuffer b = ByteBuffer.allocate(FOOTER).order(ByteOrder.BIG_ENDIAN);
        b.put(0, "conectix".getBytes(StandardCharsets.US_ASCII));
        b.putInt(8, 2); // features: reserved bit always set
        b.putInt(12, 0x00010000); // file format version 1.0
        b.putLong(16, fixed ? -1L : FOOTER); // data offset: the dynamic header, none for fixed
        b.putInt(24, (int) (Instant.now().getEpochSecond() - VHD_EPOCH));
        b.put(28, "dpln".getBytes(StandardCharsets.US_ASCII)); // creator application
        b.putInt(32, 0x00010000); // creator version
        b.put(36, "Wi2k".getBytes(StandardCharsets.US_ASCII)); // creator host OS
        b.putLong(40, size); // original size
        b.putLong(48, size); // current size
        b.putShort(56, (short) chs[0]);
        b.put(58, (byte) chs[1]);
        b.put(59, (byte) chs[2]);
        b.putInt(60, fixed ? 2 : 3); // disk type
        UUID id = UUID.randomUUID();
        b.putLong(68, id.getMostSignificantBits()).putLong(76, id.getLeastSignificantBits());
        b.putInt(64, checksum(b.array()));
        return b.array();
    }

    private static byte[] dynamicHeader(long entries) {
        ByteBuffer b = ByteBuffer.allocate(DYNAMIC_HEADER).order(ByteOrder.BIG_ENDIAN);
        b.put(0, "cxsparse".getBytes(StandardCharsets.US_ASCII));
        b.putLong(8, -1L); // data offset: unused
        b.putLong(16, BAT_OFFSET); // table offset
        b.putInt(24, 0x00010000); // header version
        b.putInt(28, (int) entries); // max table entries
        b.putInt(32, BLOCK_SIZE);
        b.putInt(36, checksum(b.array()));
        return b.array();
    }

    /** Ones' complement of the byte sum, the checksum field (zero here) included as zero. */
    static int checksum(byte[] structure) {
        int sum = 0;
        for (byte x : structure) {
            sum += x & 0xff;
        }
        return ~sum;
    }

    /**
     * The smallest geometry whose cylinders × heads × sectors covers {@code sectors},
     * by the VHD specification's algorithm, trying larger sizes as qemu-img create does.
     */
    static int[] geometryCovering(long sectors) {
        for (long s = sectors; s <= MAX_SECTORS; s++) {
            int[] g = specGeometry(s);
            if ((long) g[0] * g[1] * g[2] >= sectors) {
                return g;
            }
        }
        return new int[] {65535, 16, 255};
    }

    /** The VHD specification's CHS algorithm (cylinders, heads, sectors per track). */
    static int[] specGeometry(long totalSectors) {
        long total = Math.min(totalSectors, MAX_SECTORS);
        long spt;
        long heads;
        long cth;
        if (total >= 65535L * 16 * 63) {
            spt = 255;
            heads = 16;
            cth = total / spt;
        } else {
            spt = 17;
            cth = total / spt;
            heads = Math.max(4, (cth + 1023) / 1024);
            if (cth >= heads * 1024 || heads > 16) {
                spt = 31;
                heads = 16;
                cth = total / spt;
            }
            if (cth >= heads * 1024) {
                spt = 63;
                heads = 16;
                cth = total / spt;
            }
        }
        return new int[] {(int) (cth / heads), (int) heads, (int) spt};
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }
}
