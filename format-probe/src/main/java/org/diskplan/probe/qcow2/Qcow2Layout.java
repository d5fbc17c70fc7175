package org.diskplan.probe.qcow2;

import java.nio.ByteOrder;
import java.util.List;

/**
 * The qcow2 on-disk layout (qemu docs/interop/qcow2.txt, block/qcow2.h): header field
 * offsets, table entry masks and flags, qemu's limits, and the arithmetic of clusters,
 * L1/L2 tables, refcount blocks and compressed entries. The probe, the sample writer and
 * the planner all use these, so each formula is written once.
 *
 * <p>Everything is big-endian ({@link #ORDER}). Sizes are in bytes unless the name says
 * otherwise; {@code clusterBits} is 9..21, {@code refcountOrder} 0..6 (refcount entries of
 * {@code 1 << refcountOrder} bits).
 */
public final class Qcow2Layout {
    public static final ByteOrder ORDER = ByteOrder.BIG_ENDIAN;
    /** "QFI\xfb" as a big-endian u32. */
    public static final int MAGIC = 0x514649fb;

    // Header field offsets (v2 ends at 72, v3 at header_length >= 104).
    public static final int OFF_MAGIC = 0;
    public static final int OFF_VERSION = 4;
    public static final int OFF_BACKING_FILE_OFFSET = 8;
    public static final int OFF_BACKING_FILE_SIZE = 16;
    public static final int OFF_CLUSTER_BITS = 20;
    public static final int OFF_SIZE = 24;
    public static final int OFF_CRYPT_METHOD = 32;
    public static final int OFF_L1_SIZE = 36;
    public static final int OFF_L1_TABLE_OFFSET = 40;
    public static final int OFF_REFCOUNT_TABLE_OFFSET = 48;
    public static final int OFF_REFCOUNT_TABLE_CLUSTERS = 56;
    public static final int OFF_NB_SNAPSHOTS = 60;
    public static final int OFF_SNAPSHOTS_OFFSET = 64;
    public static final int V2_HEADER_LENGTH = 72;
    public static final int OFF_INCOMPATIBLE = 72;
    public static final int OFF_COMPATIBLE = 80;
    public static final int OFF_AUTOCLEAR = 88;
    public static final int OFF_REFCOUNT_ORDER = 96;
    public static final int OFF_HEADER_LENGTH = 100;
    public static final int V3_MIN_HEADER_LENGTH = 104;
    public static final int OFF_COMPRESSION_TYPE = 104;
    /** End of the compression type field and its padding: the header length qemu 7.2 writes. */
    public static final int COMPRESSION_FIELD_END = 112;

    // Header extension types and sizes.
    public static final long EXT_END = 0L;
    public static final long EXT_BACKING_FORMAT = 0xe2792acaL;
    public static final long EXT_FEATURE_TABLE = 0x6803f857L;
    public static final long EXT_BITMAPS = 0x23852875L;
    public static final long EXT_CRYPTO = 0x0537be77L;
    /** crypt_method of a LUKS-encrypted image. */
    public static final long CRYPT_LUKS = 2;
    /** sizeof(bs->backing_format): a backing format extension must be shorter. */
    public static final long BACKING_FORMAT_MAX = 16;
    public static final long EXT_DATA_FILE = 0x44415441L;
    public static final int FEATURE_ENTRY_SIZE = 48;
    public static final int FEATURE_NAME_SIZE = 46;
    public static final int BITMAPS_EXT_SIZE = 24;
    public static final int CRYPTO_EXT_SIZE = 16;

    // Feature bits.
    public static final long INCOMPAT_DIRTY = 1L;
    public static final long INCOMPAT_CORRUPT = 1L << 1;
    public static final long INCOMPAT_DATA_FILE = 1L << 2;
    public static final long INCOMPAT_COMPRESSION = 1L << 3;
    public static final long INCOMPAT_EXTL2 = 1L << 4;
    /** The incompatible features qemu 7.2 knows (bits 0-4). */
    public static final long KNOWN_INCOMPATIBLE = INCOMPAT_DIRTY | INCOMPAT_CORRUPT | INCOMPAT_DATA_FILE
            | INCOMPAT_COMPRESSION | INCOMPAT_EXTL2;
    public static final long COMPAT_LAZY_REFCOUNTS = 1L;
    public static final long AUTOCLEAR_BITMAPS = 1L;
    public static final long AUTOCLEAR_DATA_FILE_RAW = 1L << 1;

    /**
     * One feature bit with the name qemu 7.2 gives it in the feature name table.
     *
     * @param type 0 incompatible, 1 compatible, 2 autoclear
     * @param bit  the bit number within that feature field
     * @param name the name (at most {@link #FEATURE_NAME_SIZE} bytes)
     */
    public record Feature(int type, int bit, String name) {
    }

    /** The features qemu 7.2 knows, in the order it writes them into the feature name table. */
    public static final List<Feature> FEATURES = List.of(
            new Feature(0, 0, "dirty bit"), new Feature(0, 1, "corrupt bit"), new Feature(0, 2, "external data file"),
            new Feature(0, 3, "compression type"), new Feature(0, 4, "extended L2 entries"),
            new Feature(1, 0, "lazy refcounts"), new Feature(2, 0, "bitmaps"), new Feature(2, 1, "raw external data"));

    // Table entries.
    /** Offset bits of an L1 entry, of a standard L2 entry and of a refcount table entry. */
    public static final long L1E_OFFSET_MASK = 0x00fffffffffffe00L;
    public static final long L2E_OFFSET_MASK = 0x00fffffffffffe00L;
    public static final long REFT_OFFSET_MASK = 0xfffffffffffffe00L;
    /** Offset bits of a bitmap table entry. */
    public static final long BME_OFFSET_MASK = 0x00fffffffffffe00L;
    /** L1/L2 entry flags: refcount exactly one (bit 63), compressed cluster (bit 62). */
    public static final long OFLAG_COPIED = 1L << 63;
    public static final long OFLAG_COMPRESSED = 1L << 62;
    /** Bytes of an L1 entry and of a refcount table entry. */
    public static final int TABLE_ENTRY_SIZE = 8;
    /** Compressed data is counted in sectors of this size. */
    public static final int COMPRESSED_SECTOR = 512;

    // qemu's limits (block/qcow2.h).
    public static final int MIN_CLUSTER_BITS = 9;
    public static final int MAX_CLUSTER_BITS = 21;
    public static final int MAX_REFCOUNT_ORDER = 6;
    /** Subclusters per cluster with extended L2 entries. */
    public static final int SUBCLUSTERS = 32;
    /** QCOW_MAX_L1_SIZE: 32 MiB of L1 entries. */
    public static final long MAX_L1_BYTES = 32L << 20;
    /** QCOW_MAX_REFTABLE_SIZE: 8 MiB of refcount table. */
    public static final long MAX_REFTABLE_BYTES = 8L << 20;

    private Qcow2Layout() {
    }

    public static long clusterSize(int clusterBits) {
        return 1L << clusterBits;
    }

    /** Whole clusters needed for {@code bytes} (≥ 0). */
    public static long clustersFor(long bytes, int clusterBits) {
        return (bytes + clusterSize(clusterBits) - 1) >>> clusterBits;
    }

    /** Bytes per L2 entry: 8, or 16 with extended L2 (the entry and its subcluster bitmap). */
    public static int l2EntrySize(boolean extendedL2) {
        return extendedL2 ? 16 : 8;
    }

    /** Entries in one L2 table (one cluster). */
    public static long l2Entries(int clusterBits, boolean extendedL2) {
        return clusterSize(clusterBits) / l2EntrySize(extendedL2);
    }

    /** Guest bytes one L2 table maps. */
    public static long l2Span(int clusterBits, boolean extendedL2) {
        return clusterSize(clusterBits) * l2Entries(clusterBits, extendedL2);
    }

    /** L1 entries needed to map {@code size} (≥ 0) guest bytes: qemu's size_to_l1. */
    public static long l1EntriesFor(long size, int clusterBits, boolean extendedL2) {
        long span = l2Span(clusterBits, extendedL2);
        return size / span + (size % span == 0 ? 0 : 1);
    }

    /** Clusters of a table of {@code entries} 8-byte entries (an L1 table, a refcount table). */
    public static long tableClusters(long entries, int clusterBits) {
        return clustersFor(entries * TABLE_ENTRY_SIZE, clusterBits);
    }

    /** log2 of the entries in one refcount block. */
    public static int refblockBits(int clusterBits, int refcountOrder) {
        return clusterBits + 3 - refcountOrder;
    }

    /** Refcount entries in one refcount block: the clusters one block counts. */
    public static long refblockEntries(int clusterBits, int refcountOrder) {
        return 1L << refblockBits(clusterBits, refcountOrder);
    }

    /** Refcount blocks that count {@code clusters} host clusters (cluster 0 on). */
    public static long refblocksFor(long clusters, int clusterBits, int refcountOrder) {
        long perBlock = refblockEntries(clusterBits, refcountOrder);
        return (clusters + perBlock - 1) / perBlock;
    }

    // ------------------------------------------------------------ compressed L2 entries

    /** Bit position of the compressed size field: 62 - (cluster_bits - 8). */
    public static int csizeShift(int clusterBits) {
        return 62 - (clusterBits - 8);
    }

    /** Host byte offset of a compressed L2 entry's data. */
    public static long compressedOffset(long entry, int clusterBits) {
        return entry & ((1L << csizeShift(clusterBits)) - 1);
    }

    /** 512-byte sectors a compressed entry spans: the stored count of additional sectors plus one. */
    public static long compressedSectors(long entry, int clusterBits) {
        return ((entry >>> csizeShift(clusterBits)) & ((1L << (clusterBits - 8)) - 1)) + 1;
    }

    /**
     * One past the last host byte of a compressed entry's data: the end of its last 512-byte
     * sector, as qcow2_parse_compressed_l2_entry computes it.
     */
    public static long compressedEnd(long entry, int clusterBits) {
        return (compressedOffset(entry, clusterBits) & ~(COMPRESSED_SECTOR - 1L))
                + compressedSectors(entry, clusterBits) * COMPRESSED_SECTOR;
    }

    /** First host cluster a compressed entry touches. */
    public static long compressedFirstCluster(long entry, int clusterBits) {
        return compressedOffset(entry, clusterBits) >>> clusterBits;
    }

    /** Last host cluster a compressed entry touches. */
    public static long compressedLastCluster(long entry, int clusterBits) {
        return (compressedEnd(entry, clusterBits) - 1) >>> clusterBits;
    }

    // ------------------------------------------------------------ refcount entries

    /**
     * Entry {@code index} of a refcount block with {@code 2^order}-bit entries, packed as qemu
     * packs them ({@code get_refcount_ro0..6} in qcow2-refcount.c): widths of 1, 2 and 4 bits
     * share a byte, least-significant bits first (entry 0 is bit 0 of byte 0); 8 bits are a
     * byte; 16, 32 and 64 bits are big-endian integers. Unsigned: a 64-bit entry may read negative.
     */
    public static long refcount(byte[] block, int index, int order) {
        switch (order) {
            case 0:
                return (block[index >>> 3] >>> (index & 7)) & 1;
            case 1:
                return (block[index >>> 2] >>> ((index & 3) << 1)) & 3;
            case 2:
                return (block[index >>> 1] >>> ((index & 1) << 2)) & 0xf;
            case 3:
                return block[index] & 0xff;
            case 4:
                return ((block[2 * index] & 0xff) << 8) | (block[2 * index + 1] & 0xff);
            case 5:
                return getBig(block, 4 * index, 4);
            case 6:
                return getBig(block, 8 * index, 8);
            default:
                throw new IllegalArgumentException("refcount order " + order);
        }
    }

    /** Stores {@code value} (already checked against {@link #maxRefcount(int)}) as entry {@code index}. */
    public static void setRefcount(byte[] block, int index, int order, long value) {
        switch (order) {
            case 0, 1, 2 -> {
                int at = refcountByte(index, order);
                int mask = subByteMask(index, order);
                block[at] = (byte) ((block[at] & ~mask) | (((int) value << subByteShift(index, order)) & mask));
            }
            case 3 -> block[index] = (byte) value;
            case 4 -> putBig(block, 2 * index, 2, value);
            case 5 -> putBig(block, 4 * index, 4, value);
            case 6 -> putBig(block, 8 * index, 8, value);
            default -> throw new IllegalArgumentException("refcount order " + order);
        }
    }

    /**
     * The bits of its byte that sub-byte entry {@code index} occupies ({@code order} 0..2);
     * the whole byte (0xff) for wider entries.
     */
    public static int subByteMask(int index, int order) {
        return order >= 3 ? 0xff : ((1 << (1 << order)) - 1) << subByteShift(index, order);
    }

    /** The lowest bit of its byte that sub-byte entry {@code index} occupies ({@code order} 0..2). */
    private static int subByteShift(int index, int order) {
        return (index % (8 >>> order)) << order;
    }

    /** The largest refcount an entry holds: {@code 2^bits - 1} (all ones for 64 bits, i.e. -1). */
    public static long maxRefcount(int order) {
        return order == 6 ? -1L : (1L << (1 << order)) - 1;
    }

    /** First byte of a refcount block that entry {@code index} occupies. */
    public static int refcountByte(int index, int order) {
        return (int) (((long) index << order) >>> 3);
    }

    /** Bytes one refcount entry spans (1 for sub-byte widths, which share their byte). */
    public static int refcountByteSpan(int order) {
        return Math.max(1, (1 << order) >>> 3);
    }

    private static long getBig(byte[] b, int at, int n) {
        long v = 0;
        for (int i = 0; i < n; i++) {
            v = (v << 8) | (b[at + i] & 0xff);
        }
        return v;
    }

    private static void putBig(byte[] b, int at, int n, long v) {
        for (int i = n - 1; i >= 0; i--) {
            b[at + i] = (byte) v;
            v >>>= 8;
        }
    }
}
