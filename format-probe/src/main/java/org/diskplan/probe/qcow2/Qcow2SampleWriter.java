package org.diskplan.probe.qcow2;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.diskplan.probe.SampleFiles;
import org.diskplan.probe.SampleOptions;
import org.diskplan.probe.SampleWriter;

/**
 * Empty qcow2 images laid out as {@code qemu-img create} lays them out: the header
 * (with the feature name table where it fits in the first cluster) in cluster 0, the
 * refcount table from cluster 1, the refcount blocks after it, then the L1 table; the
 * file ends where the L1 table ends. Every metadata cluster has refcount 1.
 *
 * <p>Options, with qemu's names and rules: {@code compat} (1.1, 0.10; or
 * {@code subformat=v3|v2}), {@code cluster_size} (512 B to 2 MiB, a power of two),
 * {@code refcount_bits} (1 to 64, a power of two; v2 only 16), {@code extended_l2}
 * (on/off; clusters of 16 KiB or more), {@code compression_type} (zlib, zstd) and
 * {@code lazy_refcounts} (on/off).
 */
public final class Qcow2SampleWriter implements SampleWriter {
    private static final Set<String> KEYS = Set.of("subformat", "compat", "cluster_size", "refcount_bits",
            "extended_l2", "compression_type", "lazy_refcounts");
    private static final int V3_HEADER_LENGTH = 112;
    /** The names qemu 7.2 writes into the feature name table: type, bit, name. */
    private static final Object[][] FEATURES = {
        {0, 0, "dirty bit"}, {0, 1, "corrupt bit"}, {0, 2, "external data file"},
        {0, 3, "compression type"}, {0, 4, "extended L2 entries"}, {1, 0, "lazy refcounts"},
        {2, 0, "bitmaps"}, {2, 1, "raw external data"},
    };

    /** The choices of one sample, checked as qemu-img create checks them. */
    record Options(int version, int clusterBits, int refcountOrder, boolean extendedL2, boolean zstd,
            boolean lazyRefcounts) {
        static Options parse(Map<String, String> raw) {
            SampleOptions o = SampleOptions.of("qcow2", raw, KEYS);
            String compat = o.has("compat") ? o.choice("compat", List.of("1.1", "0.10", "v3", "v2"))
                    : o.choice("subformat", List.of("v3", "v2"));
            int version = compat.equals("1.1") || compat.equals("v3") ? 3 : 2;
            long clusterSize = o.size("cluster_size", 65536);
            if (clusterSize < 512 || clusterSize > (2 << 20) || Long.bitCount(clusterSize) != 1) {
                throw new IllegalArgumentException("Cluster size must be a power of two between 512 and 2048k");
            }
            long refcountBits = o.size("refcount_bits", 16);
            if (refcountBits < 1 || refcountBits > 64 || Long.bitCount(refcountBits) != 1) {
                throw new IllegalArgumentException("Refcount width must be a power of two and may not exceed "
                        + "64 bits");
            }
            boolean extL2 = o.bool("extended_l2", false);
            boolean lazy = o.bool("lazy_refcounts", false);
            boolean zstd = o.choice("compression_type", List.of("zlib", "zstd")).equals("zstd");
            if (version == 2) {
                if (refcountBits != 16) {
                    throw new IllegalArgumentException("Different refcount widths than 16 bits require "
                            + "compatibility level 1.1 or above (use version=v3 or greater)");
                }
                if (extL2 || lazy || zstd) {
                    throw new IllegalArgumentException((extL2 ? "Extended L2 entries" : lazy ? "Lazy refcounts"
                            : "Compression type") + " only supported with compatibility level 1.1 and above "
                            + "(use version=v3 or greater)");
                }
            }
            int clusterBits = Long.numberOfTrailingZeros(clusterSize);
            if (extL2 && clusterBits < 14) {
                throw new IllegalArgumentException("Extended L2 entries are only supported with cluster sizes "
                        + "of at least 16384 bytes");
            }
            return new Options(version, clusterBits, Long.numberOfTrailingZeros(refcountBits), extL2, zstd, lazy);
        }

        int clusterSize() {
            return 1 << clusterBits;
        }

        /** Guest bytes one L2 table maps. */
        long l2Coverage() {
            return (long) clusterSize() * (clusterSize() / (extendedL2 ? 16 : 8));
        }
    }

    /** Where each structure goes: cluster numbers and counts. */
    record Layout(long size, long l1Entries, long refTableClusters, long refBlocks, long l1Clusters) {
        static Layout of(Options o, long size) {
            long l1Entries = (size + o.l2Coverage() - 1) / o.l2Coverage();
            if (l1Entries * 8 > Qcow2Probe.MAX_L1_BYTES) {
                throw new IllegalArgumentException("The image size is too large for file format 'qcow2' (try "
                        + "using a larger cluster size)");
            }
            int cs = o.clusterSize();
            long l1Clusters = (l1Entries * 8 + cs - 1) / cs;
            long perBlock = (long) cs * 8 >> o.refcountOrder();
            long refBlocks = 1;
            long refTable = 1;
            while (true) {
                long used = 1 + refTable + refBlocks + l1Clusters;
                long blocks = (used + perBlock - 1) / perBlock;
                long table = (blocks * 8 + cs - 1) / cs;
                if (blocks == refBlocks && table == refTable) {
                    return new Layout(size, l1Entries, refTable, refBlocks, l1Clusters);
                }
                refBlocks = blocks;
                refTable = table;
            }
        }

        long refTableCluster() {
            return 1;
        }

        long firstRefBlock() {
            return 1 + refTableClusters;
        }

        long l1Cluster() {
            return firstRefBlock() + refBlocks;
        }

        long usedClusters() {
            return l1Cluster() + l1Clusters;
        }
    }

    @Override
    public String format() {
        return "qcow2";
    }

    @Override
    public List<String> subformats() {
        return List.of("v3", "v2");
    }

    @Override
    public long write(Path file, long size, Map<String, String> options) throws IOException {
        Options o = Options.parse(options);
        if (size <= 0 || size > Long.MAX_VALUE - 511) {
            throw new IllegalArgumentException("Image size must be positive");
        }
        long virtual = (size + 511) & ~511L;
        Layout layout = Layout.of(o, virtual);
        SampleFiles.creating(files -> {
            try (RandomAccessFile raf = new RandomAccessFile(files.create(file).toFile(), "rw")) {
                writeImage(raf, o, layout);
            }
        });
        return virtual;
    }

    private static void writeImage(RandomAccessFile raf, Options o, Layout layout) throws IOException {
        int cs = o.clusterSize();
        raf.write(header(o, layout));
        long table = layout.refTableCluster() * cs;
        ByteBuffer entries = ByteBuffer.allocate(Math.toIntExact(layout.refBlocks() * 8));
        for (long i = 0; i < layout.refBlocks(); i++) {
            entries.putLong((layout.firstRefBlock() + i) * cs);
        }
        raf.seek(table);
        raf.write(entries.array());
        writeRefcounts(raf, o, layout);
        long l1End = layout.l1Cluster() * cs + layout.l1Entries() * 8;
        raf.setLength(l1End);
    }

    /** Refcount 1 for every cluster in use, packed as qemu packs the chosen width. */
    private static void writeRefcounts(RandomAccessFile raf, Options o, Layout layout) throws IOException {
        int cs = o.clusterSize();
        int bits = 1 << o.refcountOrder();
        long perBlock = (long) cs * 8 / bits;
        long used = layout.usedClusters();
        for (long b = 0; b < layout.refBlocks(); b++) {
            byte[] block = new byte[cs];
            long first = b * perBlock;
            long count = Math.min(perBlock, used - first);
            for (int i = 0; i < count; i++) {
                long bit = (long) i * bits;
                if (bits < 8) {
                    block[(int) (bit / 8)] |= (byte) (1 << (bit % 8));
                } else {
                    block[(int) ((bit + bits) / 8 - 1)] = 1; // big-endian: the low byte is the last
                }
            }
            raf.seek((layout.firstRefBlock() + b) * cs);
            raf.write(block);
        }
    }

    private static byte[] header(Options o, Layout layout) {
        int cs = o.clusterSize();
        ByteBuffer b = ByteBuffer.allocate(cs).order(ByteOrder.BIG_ENDIAN);
        b.putInt(Qcow2Probe.OFF_MAGIC, 0x514649fb);
        b.putInt(Qcow2Probe.OFF_VERSION, o.version());
        b.putInt(Qcow2Probe.OFF_CLUSTER_BITS, o.clusterBits());
        b.putLong(Qcow2Probe.OFF_SIZE, layout.size());
        b.putInt(Qcow2Probe.OFF_L1_SIZE, Math.toIntExact(layout.l1Entries()));
        b.putLong(Qcow2Probe.OFF_L1_TABLE_OFFSET, layout.l1Cluster() * cs);
        b.putLong(Qcow2Probe.OFF_REFCOUNT_TABLE_OFFSET, layout.refTableCluster() * cs);
        b.putInt(Qcow2Probe.OFF_REFCOUNT_TABLE_CLUSTERS, Math.toIntExact(layout.refTableClusters()));
        if (o.version() == 2) {
            return b.array(); // the 72-byte header; the zeros after it end the (empty) extension list
        }
        long incompatible = (o.zstd() ? Qcow2Header.INCOMPAT_COMPRESSION : 0)
                | (o.extendedL2() ? Qcow2Header.INCOMPAT_EXTL2 : 0);
        b.putLong(Qcow2Probe.OFF_INCOMPATIBLE, incompatible);
        b.putLong(Qcow2Probe.OFF_COMPATIBLE, o.lazyRefcounts() ? Qcow2Header.COMPAT_LAZY_REFCOUNTS : 0);
        b.putInt(Qcow2Probe.OFF_REFCOUNT_ORDER, o.refcountOrder());
        b.putInt(Qcow2Probe.OFF_HEADER_LENGTH, V3_HEADER_LENGTH);
        b.put(Qcow2Probe.OFF_COMPRESSION_TYPE, (byte) (o.zstd() ? 1 : 0));
        int table = FEATURES.length * Qcow2Probe.FEATURE_ENTRY_SIZE;
        // qemu leaves the feature name table out when it does not fit beside the header
        if (V3_HEADER_LENGTH + 8 + table + 8 <= cs) {
            b.putInt(V3_HEADER_LENGTH, (int) Qcow2Probe.EXT_FEATURE_TABLE);
            b.putInt(V3_HEADER_LENGTH + 4, table);
            int at = V3_HEADER_LENGTH + 8;
            for (Object[] f : FEATURES) {
                b.put(at, (byte) (int) f[0]);
                b.put(at + 1, (byte) (int) f[1]);
                b.put(at + 2, ((String) f[2]).getBytes(StandardCharsets.US_ASCII));
                at += Qcow2Probe.FEATURE_ENTRY_SIZE;
            }
        }
        return b.array();
    }
}
