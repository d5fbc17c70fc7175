package org.diskplan.probe.qcow2;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
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
    /** The header length qemu 7.2 writes for v3: the compression type field and its padding. */
    private static final int V3_HEADER_LENGTH = Qcow2Layout.COMPRESSION_FIELD_END;

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
    }

    /** Where each structure goes: cluster numbers and counts. */
    record Layout(long size, long l1Entries, long refTableClusters, long refBlocks, long l1Clusters) {
        static Layout of(Options o, long size) {
            int bits = o.clusterBits();
            long l1Entries = Qcow2Layout.l1EntriesFor(size, bits, o.extendedL2());
            if (l1Entries * Qcow2Layout.TABLE_ENTRY_SIZE > Qcow2Layout.MAX_L1_BYTES) {
                throw new IllegalArgumentException("The image size is too large for file format 'qcow2' (try "
                        + "using a larger cluster size)");
            }
            long l1Clusters = Qcow2Layout.tableClusters(l1Entries, bits);
            long refBlocks = 1;
            long refTable = 1;
            while (true) {
                long used = 1 + refTable + refBlocks + l1Clusters;
                long blocks = Qcow2Layout.refblocksFor(used, bits, o.refcountOrder());
                long table = Qcow2Layout.tableClusters(blocks, bits);
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
        long perBlock = Qcow2Layout.refblockEntries(o.clusterBits(), o.refcountOrder());
        long used = layout.usedClusters();
        for (long b = 0; b < layout.refBlocks(); b++) {
            byte[] block = new byte[cs];
            long first = b * perBlock;
            long count = Math.min(perBlock, used - first);
            for (int i = 0; i < count; i++) {
                Qcow2Layout.setRefcount(block, i, o.refcountOrder(), 1);
            }
            raf.seek((layout.firstRefBlock() + b) * cs);
            raf.write(block);
        }
    }

    private static byte[] header(Options o, Layout layout) {
        int cs = o.clusterSize();
        ByteBuffer b = ByteBuffer.allocate(cs).order(Qcow2Layout.ORDER);
        b.putInt(Qcow2Layout.OFF_MAGIC, Qcow2Layout.MAGIC);
        b.putInt(Qcow2Layout.OFF_VERSION, o.version());
        b.putInt(Qcow2Layout.OFF_CLUSTER_BITS, o.clusterBits());
        b.putLong(Qcow2Layout.OFF_SIZE, layout.size());
        b.putInt(Qcow2Layout.OFF_L1_SIZE, Math.toIntExact(layout.l1Entries()));
        b.putLong(Qcow2Layout.OFF_L1_TABLE_OFFSET, layout.l1Cluster() * cs);
        b.putLong(Qcow2Layout.OFF_REFCOUNT_TABLE_OFFSET, layout.refTableCluster() * cs);
        b.putInt(Qcow2Layout.OFF_REFCOUNT_TABLE_CLUSTERS, Math.toIntExact(layout.refTableClusters()));
        if (o.version() == 2) {
            return b.array(); // the 72-byte header; the zeros after it end the (empty) extension list
        }
        long incompatible = (o.zstd() ? Qcow2Layout.INCOMPAT_COMPRESSION : 0)
                | (o.extendedL2() ? Qcow2Layout.INCOMPAT_EXTL2 : 0);
        b.putLong(Qcow2Layout.OFF_INCOMPATIBLE, incompatible);
        b.putLong(Qcow2Layout.OFF_COMPATIBLE, o.lazyRefcounts() ? Qcow2Layout.COMPAT_LAZY_REFCOUNTS : 0);
        b.putInt(Qcow2Layout.OFF_REFCOUNT_ORDER, o.refcountOrder());
        b.putInt(Qcow2Layout.OFF_HEADER_LENGTH, V3_HEADER_LENGTH);
        b.put(Qcow2Layout.OFF_COMPRESSION_TYPE, (byte) (o.zstd() ? 1 : 0));
        int table = Qcow2Layout.FEATURES.size() * Qcow2Layout.FEATURE_ENTRY_SIZE;
        // qemu leaves the feature name table out when it does not fit beside the header
        if (V3_HEADER_LENGTH + 8 + table + 8 <= cs) {
            b.putInt(V3_HEADER_LENGTH, (int) Qcow2Layout.EXT_FEATURE_TABLE);
            b.putInt(V3_HEADER_LENGTH + 4, table);
            int at = V3_HEADER_LENGTH + 8;
            for (Qcow2Layout.Feature f : Qcow2Layout.FEATURES) {
                b.put(at, (byte) f.type());
                b.put(at + 1, (byte) f.bit());
                b.put(at + 2, f.name().getBytes(StandardCharsets.US_ASCII));
                at += Qcow2Layout.FEATURE_ENTRY_SIZE;
            }
        }
        return b.array();
    }
}
