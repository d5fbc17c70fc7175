package org.diskplan.probe.vmdk;

import java.nio.ByteOrder;

/**
 * The layout of a VMDK4 sparse extent (VMware "Virtual Disk Format 1.1", qemu block/vmdk.c
 * {@code VMDK4Header}): header field offsets and flags, the streamOptimized footer and
 * markers, qemu's limits, and the arithmetic of grain directories and grain tables, plus
 * the descriptor's DDB geometry. The probe and the sample writer both use these, so each
 * formula is written once.
 *
 * <p>Everything is little-endian ({@link #ORDER}); offsets in the header count 512-byte sectors.
 */
public final class VmdkLayout {
    public static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;
    public static final int SECTOR = 512;
    public static final int HEADER_SIZE = 512;
    public static final byte[] MAGIC = {'K', 'D', 'M', 'V'};

    // VMDK4 header field offsets
    public static final int OFF_MAGIC = 0;
    public static final int OFF_VERSION = 4;
    public static final int OFF_FLAGS = 8;
    public static final int OFF_CAPACITY = 12;
    public static final int OFF_GRAIN_SIZE = 20;
    public static final int OFF_DESCRIPTOR_OFFSET = 28;
    public static final int OFF_DESCRIPTOR_SIZE = 36;
    public static final int OFF_NUM_GTES_PER_GT = 44;
    public static final int OFF_RGD_OFFSET = 48;
    public static final int OFF_GD_OFFSET = 56;
    public static final int OFF_OVERHEAD = 64;
    public static final int OFF_UNCLEAN_SHUTDOWN = 72;
    public static final int OFF_NEWLINE_CHARS = 73;
    public static final int OFF_COMPRESS_ALGORITHM = 77;
    public static final int OFF_PAD = 79;
    /** The four newline-test bytes a sound header holds at {@link #OFF_NEWLINE_CHARS}. */
    public static final byte[] NEWLINE_CHARS = {'\n', ' ', '\r', '\n'};

    // header flags and compression
    public static final long FLAG_NEWLINE_TEST = 1L;
    public static final long FLAG_REDUNDANT_GRAIN_TABLE = 1L << 1;
    public static final long FLAG_ZEROED_GRAIN_GTE = 1L << 2;
    public static final long FLAG_COMPRESSED = 1L << 16;
    public static final long FLAG_MARKERS = 1L << 17;
    public static final int COMPRESSION_DEFLATE = 1;

    /** gdOffset meaning "the grain directory is found through the footer". */
    public static final long GD_AT_END = 0xffffffffffffffffL;
    /** Footer marker, footer header and end-of-stream marker: the last three sectors. */
    public static final int FOOTER_SIZE = 3 * SECTOR;
    public static final int MARKER_END_OF_STREAM = 0;
    public static final int MARKER_GRAIN_TABLE = 1;
    public static final int MARKER_GRAIN_DIRECTORY = 2;
    public static final int MARKER_FOOTER = 3;

    /** Bytes of a grain directory entry and of a grain table entry (u32 sector numbers). */
    public static final int ENTRY_SIZE = 4;
    /** qemu: num_gtes_per_gt above 512 is "L2 table size too big". */
    public static final long MAX_GTES_PER_GT = 512;
    /** qemu: granularity above 0x200000 sectors is "Invalid granularity". */
    public static final long MAX_GRAIN_SECTORS = 0x200000;
    /** qemu: an L1 (grain directory) of more than 32 Mi entries is "L1 size too big". */
    public static final long MAX_GD_ENTRIES = 32L * 1024 * 1024;

    /** Sectors per track of the DDB geometry qemu writes. */
    public static final int DDB_SECTORS = 63;

    private VmdkLayout() {
    }

    /**
     * Grain directory entries (grain tables) for an extent of {@code capacity} sectors:
     * ⌈capacity / (grainSize × numGTEsPerGT)⌉, all three unsigned; {@code grainSize × numGTEsPerGT}
     * must not be 0.
     */
    public static long gdEntries(long capacity, long grainSize, long numGtesPerGt) {
        long gtCoverage = numGtesPerGt * grainSize;
        return Long.divideUnsigned(capacity, gtCoverage) + (Long.remainderUnsigned(capacity, gtCoverage) == 0 ? 0 : 1);
    }

    /** Bytes of one grain table of {@code numGtesPerGt} entries. */
    public static long grainTableBytes(long numGtesPerGt) {
        return numGtesPerGt * ENTRY_SIZE;
    }

    /** Sectors {@code bytes} occupy: whole 512-byte sectors. */
    public static long sectorsFor(long bytes) {
        return bytes / SECTOR + (bytes % SECTOR == 0 ? 0 : 1);
    }

    /** {@code bytes} rounded up to whole sectors. */
    public static long roundUpToSector(long bytes) {
        return sectorsFor(bytes) * SECTOR;
    }

    /**
     * Where the footer marker of a streamOptimized extent is: three sectors before the end of
     * the file, the length rounded up to whole sectors (qemu: total_sectors × 512 − 1536).
     */
    public static long footerOffset(long fileSize) {
        return roundUpToSector(fileSize) - FOOTER_SIZE;
    }

    /** The DDB heads qemu writes for an adapter type: 16 for IDE, 255 for the SCSI adapters. */
    public static int ddbHeads(String adapterType) {
        return adapterType.equals("ide") ? 16 : 255;
    }

    /** ddb.geometry.cylinders for a disk of {@code bytes}: whole cylinders of heads × 63 sectors. */
    public static long ddbCylinders(long bytes, int heads) {
        return bytes / ((long) DDB_SECTORS * heads * SECTOR);
    }
}
