package org.diskplan.probe.qcow2;

import java.util.Optional;

/**
 * The header checks qemu's qcow2 driver makes when it opens an image read-write
 * (qcow2_do_open, qcow2_validate_table, validate_compression_type,
 * qcow2_update_options), in its order and words, for the fields the probe reads
 * leniently: {@code info} shows such an image with a flag, a resize refuses it naming the
 * field and its offset.
 */
public final class Qcow2OpenChecks {
    /** How the probe's flags start for each reason qemu would refuse to open the image. */
    public static final String FLAG = "qemu refuses to open it: ";
    /**
     * How the probe's flags start for a table qemu opens but that lies past the end of the
     * file (L1, refcount or snapshot table): {@code info} shows the image, a resize refuses it.
     */
    public static final String DAMAGED = "corrupt: " + Qcow2Probe.HDR + " field ";
    /** sizeof(QCowSnapshotHeader), the fixed part of a snapshot table entry. */
    static final long SNAPSHOT_HEADER_BYTES = 40;
    /** QCOW_MAX_SNAPSHOTS. */
    static final long MAX_SNAPSHOTS = 65536;
    static final long INT_MAX = Integer.MAX_VALUE;
    static final int COMPRESSION_ZLIB = 0;
    static final int COMPRESSION_ZSTD = 1;

    /** What qemu refuses: its words, the field and the field's offset. */
    public record Problem(String qemuMessage, String field, int offset) {
        /** "qemu's words (field at offset N)". */
        public String describe() {
            return qemuMessage + " (" + field + " at offset " + offset + ")";
        }
    }

    private Qcow2OpenChecks() {
    }

    /** The first reason qemu would refuse to open {@code h} read-write, if any. */
    public static Optional<Problem> firstProblem(Qcow2Header h) {
        long clusterSize = 1L << h.clusterBits();
        int ct = h.compressionType();
        long incompat = h.incompatibleFeatures();
        if (ct != COMPRESSION_ZLIB && ct != COMPRESSION_ZSTD) {
            return problem("qcow2: unknown compression type: " + ct, "compression_type",
                    Qcow2Layout.OFF_COMPRESSION_TYPE);
        }
        if (ct == COMPRESSION_ZLIB && (incompat & Qcow2Layout.INCOMPAT_COMPRESSION) != 0) {
            return problem("qcow2: Compression type incompatible feature bit must not be set",
                    "incompatible_features", Qcow2Layout.OFF_INCOMPATIBLE);
        }
        if (ct != COMPRESSION_ZLIB && (incompat & Qcow2Layout.INCOMPAT_COMPRESSION) == 0) {
            return problem("qcow2: Compression type incompatible feature bit must be set", "incompatible_features",
                    Qcow2Layout.OFF_INCOMPATIBLE);
        }
        if ((incompat & Qcow2Layout.INCOMPAT_EXTL2) != 0 && clusterSize / 32 < 512) {
            return problem("Unsupported subcluster size: " + clusterSize / 32, "cluster_bits",
                    Qcow2Layout.OFF_CLUSTER_BITS);
        }
        if (h.refcountOrder() > 6) {
            return problem("Reference count entry width too large; may not exceed 64 bits", "refcount_order",
                    Qcow2Layout.OFF_REFCOUNT_ORDER);
        }
        if (h.refcountTableClusters() == 0) {
            return problem("Image does not contain a reference count table", "refcount_table_clusters",
                    Qcow2Layout.OFF_REFCOUNT_TABLE_CLUSTERS);
        }
        Optional<Problem> p = table(h.refcountTableOffset(), h.refcountTableClusters(), clusterSize,
                Qcow2Layout.MAX_REFTABLE_BYTES, clusterSize, "Reference count table", "refcount_table_offset",
                Qcow2Layout.OFF_REFCOUNT_TABLE_OFFSET, Qcow2Layout.OFF_REFCOUNT_TABLE_CLUSTERS);
        if (p.isEmpty()) {
            p = table(h.snapshotsOffset(), h.nbSnapshots(), SNAPSHOT_HEADER_BYTES,
                    SNAPSHOT_HEADER_BYTES * MAX_SNAPSHOTS, clusterSize, "Snapshot table", "snapshots_offset",
                    Qcow2Layout.OFF_SNAPSHOTS_OFFSET, Qcow2Layout.OFF_NB_SNAPSHOTS);
        }
        if (p.isEmpty()) {
            p = table(h.l1TableOffset(), h.l1Size(), 8, Qcow2Layout.MAX_L1_BYTES, clusterSize, "Active L1 table",
                    "l1_table_offset", Qcow2Layout.OFF_L1_TABLE_OFFSET, Qcow2Layout.OFF_L1_SIZE);
        }
        if (p.isPresent()) {
            return p;
        }
        long l2Bits = h.clusterBits() - (h.extendedL2() ? 4 : 3);
        long shift = h.clusterBits() + l2Bits;
        // size_to_l1 in unsigned 64-bit arithmetic, wrapping as qemu's does (shift is at most 39).
        long l1Needed = (h.size() + (1L << shift) - 1) >>> shift;
        if (Long.compareUnsigned(l1Needed, INT_MAX) > 0) {
            return problem("Image is too big", "size", Qcow2Layout.OFF_SIZE);
        }
        if (h.l1Size() < l1Needed) {
            return problem("L1 table is too small", "l1_size", Qcow2Layout.OFF_L1_SIZE);
        }
        if (h.cryptMethod() > Qcow2Layout.CRYPT_LUKS) {
            return problem("Unsupported encryption method " + (int) h.cryptMethod(), "crypt_method",
                    Qcow2Layout.OFF_CRYPT_METHOD);
        }
        if ((incompat & Qcow2Layout.INCOMPAT_DATA_FILE) == 0
                && (h.autoclearFeatures() & Qcow2Layout.AUTOCLEAR_DATA_FILE_RAW) != 0) {
            return problem("data-file-raw requires a data file", "autoclear_features", Qcow2Layout.OFF_AUTOCLEAR);
        }
        if (h.cryptMethod() == Qcow2Layout.CRYPT_LUKS && h.luks().isEmpty()) {
            return problem("Missing CRYPTO header for crypt method 2", "crypt_method", Qcow2Layout.OFF_CRYPT_METHOD);
        }
        if (h.backingFileOffset() != 0 && h.backingFileSize() > Math.min(1023, clusterSize - h.backingFileOffset())) {
            return problem("Backing file name too long", "backing_file_size", Qcow2Layout.OFF_BACKING_FILE_SIZE);
        }
        return Optional.empty();
    }

    /** qcow2_validate_table: the entry count against qemu's maximum, then the offset. */
    private static Optional<Problem> table(long offset, long entries, long entryBytes, long maxBytes, long clusterSize,
                                           String name, String offsetField, int offsetAt, int countAt) {
        if (Long.compareUnsigned(entries, maxBytes / entryBytes) > 0) {
            return problem(name + " too large", countField(offsetField), countAt);
        }
        long bytes = entries * entryBytes;
        if (Long.compareUnsigned(Long.MAX_VALUE - bytes, offset) < 0 || (offset & (clusterSize - 1)) != 0) {
            return problem(name + " offset invalid", offsetField, offsetAt);
        }
        return Optional.empty();
    }

    private static String countField(String offsetField) {
        return switch (offsetField) {
            case "refcount_table_offset" -> "refcount_table_clusters";
            case "snapshots_offset" -> "nb_snapshots";
            default -> "l1_size";
        };
    }

    private static Optional<Problem> problem(String message, String field, int offset) {
        return Optional.of(new Problem(message, field, offset));
    }
}
