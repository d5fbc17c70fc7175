package org.diskplan.planner.qcow2;

import org.diskplan.probe.qcow2.Qcow2Layout;

/**
 * The geometry of one qcow2 image, for the planner: cluster size, L2 and refcount block
 * geometry and the compressed-entry layout. The arithmetic is {@link Qcow2Layout}'s
 * (shared with the probe and the sample writer); this record only fixes its parameters.
 *
 * @param clusterBits   log2 of the cluster size, 9..21
 * @param refcountOrder log2 of the refcount width in bits, 0..6
 * @param extendedL2    16-byte L2 entries (subcluster bitmaps) instead of 8
 */
record Qcow2Geometry(int clusterBits, int refcountOrder, boolean extendedL2) {
    /** qemu's QCOW_MAX_L1_SIZE: 32 MiB of L1 entries. */
    static final long MAX_L1_BYTES = Qcow2Layout.MAX_L1_BYTES;
    /** qemu's QCOW_MAX_REFTABLE_SIZE: 8 MiB of refcount table. */
    static final long MAX_REFTABLE_BYTES = Qcow2Layout.MAX_REFTABLE_BYTES;

    Qcow2Geometry {
        if (clusterBits < Qcow2Layout.MIN_CLUSTER_BITS || clusterBits > Qcow2Layout.MAX_CLUSTER_BITS
                || refcountOrder < 0 || refcountOrder > Qcow2Layout.MAX_REFCOUNT_ORDER) {
            throw new IllegalArgumentException("cluster bits " + clusterBits + ", refcount order " + refcountOrder);
        }
    }

    long clusterSize() {
        return Qcow2Layout.clusterSize(clusterBits);
    }

    int l2EntrySize() {
        return Qcow2Layout.l2EntrySize(extendedL2);
    }

    /** Entries in one L2 table. */
    long l2Entries() {
        return Qcow2Layout.l2Entries(clusterBits, extendedL2);
    }

    /** Guest bytes one L2 table maps. */
    long l2Span() {
        return Qcow2Layout.l2Span(clusterBits, extendedL2);
    }

    /** L1 entries needed to map {@code size} guest bytes (qemu's size_to_l1). */
    long l1EntriesFor(long size) {
        return Qcow2Layout.l1EntriesFor(size, clusterBits, extendedL2);
    }

    /** log2 of the entries in one refcount block. */
    int refblockBits() {
        return Qcow2Layout.refblockBits(clusterBits, refcountOrder);
    }

    long refblockEntries() {
        return Qcow2Layout.refblockEntries(clusterBits, refcountOrder);
    }

    /** Refcount blocks that count {@code clusters} host clusters. */
    long refblocksFor(long clusters) {
        return Qcow2Layout.refblocksFor(clusters, clusterBits, refcountOrder);
    }

    /** Whole clusters needed for {@code bytes}. */
    long clustersFor(long bytes) {
        return Qcow2Layout.clustersFor(bytes, clusterBits);
    }

    /** Bit position of the compressed size field: 62 - (cluster_bits - 8). */
    int csizeShift() {
        return Qcow2Layout.csizeShift(clusterBits);
    }

    /** Host byte offset of a compressed L2 entry's data. */
    long compressedOffset(long entry) {
        return Qcow2Layout.compressedOffset(entry, clusterBits);
    }

    /** 512-byte sectors a compressed entry spans: the stored count of additional sectors plus one. */
    long compressedSectors(long entry) {
        return Qcow2Layout.compressedSectors(entry, clusterBits);
    }

    /** First host cluster a compressed entry touches. */
    long compressedFirstCluster(long entry) {
        return Qcow2Layout.compressedFirstCluster(entry, clusterBits);
    }

    /** Last host cluster a compressed entry touches (its data runs to the end of its last 512-byte sector). */
    long compressedLastCluster(long entry) {
        return Qcow2Layout.compressedLastCluster(entry, clusterBits);
    }
}
