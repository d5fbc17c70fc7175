package org.diskplan.probe.vhd;

import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * The VHD on-disk layout (Microsoft "Virtual Hard Disk Image Format Specification";
 * qemu block/vpc.c): footer and dynamic header field offsets, the checksum, CHS geometry,
 * the BAT and qemu's limits. The probe and the sample writer both use these, so each
 * formula is written once.
 *
 * <p>Everything is big-endian ({@link #ORDER}).
 */
public final class VhdLayout {
    public static final ByteOrder ORDER = ByteOrder.BIG_ENDIAN;
    public static final int SECTOR = 512;
    public static final int FOOTER_SIZE = 512;
    /** Images made before Virtual PC 2004 end with a footer one byte shorter. */
    public static final int OLD_FOOTER_SIZE = 511;
    public static final int DYNAMIC_HEADER_SIZE = 1024;
    public static final byte[] FOOTER_COOKIE = "conectix".getBytes(StandardCharsets.US_ASCII);
    public static final byte[] DYNAMIC_COOKIE = "cxsparse".getBytes(StandardCharsets.US_ASCII);
    /** VHD timestamps count seconds from 2000-01-01T00:00:00Z. */
    public static final long VHD_EPOCH = 946_684_800L;
    /** Format and header versions 1.0. */
    public static final int VERSION_1_0 = 0x00010000;
    /** Footer features: bit 1 is reserved and always set. */
    public static final int FEATURES_RESERVED = 2;
    public static final int DISK_TYPE_FIXED = 2;
    public static final int DISK_TYPE_DYNAMIC = 3;
    public static final int DISK_TYPE_DIFFERENCING = 4;
    /** The footer's data offset of a fixed disk, and the dynamic header's (unused) one. */
    public static final long NO_DATA_OFFSET = -1L;

    // footer field offsets
    public static final int F_COOKIE = 0;
    public static final int F_FEATURES = 8;
    public static final int F_VERSION = 12;
    public static final int F_DATA_OFFSET = 16;
    public static final int F_TIMESTAMP = 24;
    public static final int F_CREATOR_APP = 28;
    public static final int F_CREATOR_VERSION = 32;
    public static final int F_CREATOR_OS = 36;
    public static final int F_ORIGINAL_SIZE = 40;
    public static final int F_CURRENT_SIZE = 48;
    public static final int F_CYLINDERS = 56;
    public static final int F_HEADS = 58;
    public static final int F_SECTORS = 59;
    public static final int F_DISK_TYPE = 60;
    public static final int F_CHECKSUM = 64;
    public static final int F_UNIQUE_ID = 68;
    public static final int F_SAVED_STATE = 84;
    public static final int F_RESERVED = 85;

    // dynamic header field offsets
    public static final int D_COOKIE = 0;
    public static final int D_DATA_OFFSET = 8;
    public static final int D_TABLE_OFFSET = 16;
    public static final int D_VERSION = 24;
    public static final int D_MAX_TABLE_ENTRIES = 28;
    public static final int D_BLOCK_SIZE = 32;
    public static final int D_CHECKSUM = 36;
    public static final int D_PARENT_UUID = 40;
    public static final int D_PARENT_TIMESTAMP = 56;
    public static final int D_RESERVED1 = 60;
    public static final int D_PARENT_NAME = 64;
    public static final int D_PARENT_NAME_SIZE = 512;
    public static final int D_LOCATORS = 576;
    public static final int LOCATOR_SIZE = 24;
    public static final int LOCATOR_COUNT = 8;
    public static final int D_RESERVED2 = 768;
    public static final int D_RESERVED2_SIZE = 256;

    /** A BAT entry (u32 sector offset) of a block that is not allocated. */
    public static final long BAT_UNUSED = 0xFFFF_FFFFL;
    /** Bytes of one BAT entry. */
    public static final int BAT_ENTRY_SIZE = 4;
    /** The block size qemu-img create uses: 2 MiB. */
    public static final int DEFAULT_BLOCK_SIZE = 2 << 20;
    /** qemu's VHD_MAX_SECTORS: 2040 GiB. */
    public static final long MAX_SECTORS = 0xff00_0000L;
    /** Creator applications whose images readers size by current_size, not by the CHS geometry. */
    private static final String[] CURRENT_SIZE_CREATORS = {"win ", "qem2", "d2v ", "CTXS", "tap\0"};

    private VhdLayout() {
    }

    /**
     * A CHS geometry as the footer stores it (u16 cylinders, u8 heads, u8 sectors per track).
     */
    public record Geometry(int cylinders, int heads, int sectorsPerTrack) {
        /** qemu's VHD_MAX_GEOMETRY: 65535 × 16 × 255; readers then always believe current_size. */
        public static final Geometry MAX = new Geometry(65535, 16, 255);

        /** The sectors this geometry addresses. */
        public long sectors() {
            return (long) cylinders * heads * sectorsPerTrack;
        }

        /** The bytes this geometry addresses. */
        public long bytes() {
            return sectors() * SECTOR;
        }

        /**
         * The geometry the VHD specification's algorithm (appendix "CHS Calculation") gives for
         * {@code totalSectors}, capped at 65535 × 16 × 255; it may address fewer sectors.
         */
        public static Geometry of(long totalSectors) {
            long total = Math.min(totalSectors, MAX.sectors());
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
            return new Geometry((int) (cth / heads), (int) heads, (int) spt);
        }

        /**
         * The smallest spec geometry that addresses at least {@code sectors}, trying larger sizes
         * as qemu-img create does ({@link #MAX} when none does).
         */
        public static Geometry covering(long sectors) {
            for (long s = sectors; s <= MAX.sectors(); s++) {
                Geometry g = of(s);
                if (g.sectors() >= sectors) {
                    return g;
                }
            }
            return MAX;
        }
    }

    /**
     * Whether readers (qemu 7.2's vpc_open) size an image by its CHS geometry rather than by
     * current_size: every creator but those known to write current_size, unless the geometry
     * is the maximum one.
     */
    public static boolean sizeFromGeometry(String creatorApplication, Geometry geometry) {
        for (String app : CURRENT_SIZE_CREATORS) {
            if (app.equals(creatorApplication)) {
                return false;
            }
        }
        return geometry.sectors() != Geometry.MAX.sectors();
    }

    /**
     * The footer and dynamic header checksum: the ones' complement of the byte sum of the
     * structure, with the 4-byte checksum field at {@code checksumAt} taken as zero (u32).
     */
    public static long checksum(byte[] structure, int checksumAt) {
        long sum = 0;
        for (int i = 0; i < structure.length; i++) {
            if (i < checksumAt || i >= checksumAt + 4) {
                sum += structure[i] & 0xff;
            }
        }
        return ~sum & 0xFFFF_FFFFL;
    }

    /** Blocks (BAT entries) needed for {@code size} bytes. */
    public static long batEntries(long size, long blockSize) {
        return (size + blockSize - 1) / blockSize;
    }

    /** Bytes the BAT of {@code entries} entries occupies: whole sectors. */
    public static long batBytes(long entries) {
        return roundUpToSector(entries * BAT_ENTRY_SIZE);
    }

    /** Bytes of the sector bitmap in front of every data block: one bit per sector, whole sectors. */
    public static long bitmapSize(long blockSize) {
        return roundUpToSector(blockSize / (8 * SECTOR));
    }

    /** File offset of the block (its bitmap) a BAT entry points at. */
    public static long blockOffset(int batEntry) {
        return Integer.toUnsignedLong(batEntry) * SECTOR;
    }

    static long roundUpToSector(long bytes) {
        return (bytes + SECTOR - 1) / SECTOR * SECTOR;
    }
}
