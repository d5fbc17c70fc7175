package org.diskplan.planner.qcow2;

/**
 * The arithmetic of one qcow2 image: cluster size, L2 and refcount block geometry and
 * the compressed-entry layout (docs/interop/qcow2.txt).
 *
 * @param clusterBits   log2 of the cluster size, 9..21
 * @param refcountOrder log2 of the refcount width in bits, 0..6
 * @param extendedL2    16-byte L2 entries (subcluster bitmaps) instead of 8
 */
record Qcow2Geometry(int clusterBits, int refcountOrder, boolean extendedL2) {
    /** qemu's QCOW_MAX_L1_SIZE: 32 MiB of L1 entries. */
    static final long MAX_L1_BYTES = 32L << 20;
    /** qemu's QCOW_MAX_REFTABLE_SIZE: 8 MiB of refcount table. */
    static final long MAX_REFTABLE_BYTES = 8L << 20;

    Qcow2Geometry {
        if (clusterBits < 9 || clusterBits > 21 || refcountOrder < 0 || refcountOrder > 6) {
            throw new IllegalArgumentException("cluster bits " + clusterBits + ", refcount order " + refcountOrder);
        }
    }

    long clusterSize() {
        return 1L << clusterBits;
    }

    int l2EntrySize() {
        return extendedL2 ? 16 : 8;
    }

    /** Entries in one L2 table. */
    long l2Entries() {
        return clusterSize() / l2EntrySize();
    }

    /** Guest bytes one L2 table maps. */
    long l2Span() {
        return clusterSize() * l2Entries();
    }

    /** L1 entries needed to map {@code size} guest bytes (qemu's size_to_l1). */
    long l1EntriesFor(long size) {
        long span = l2Span();
        return size / span + (size % span == 0 ? 0 : 1);
    }

    /** log2 of the entries in one refcount block. */
    int refblockBits() {
        return clusterBits + 3 - refcountOrder;
    }

    long refblockEntries() {
        return 1L << refblockBits();
    }

    /** Whole clusters needed for {@code bytes}. */
    long clustersFor(long bytes) {
        return (bytes + clusterSize() - 1) >>> clusterBits;
    }

    /** Bit position of the compressed size field: 62 - (cluster_bits - 8). */
    int csizeShift() {
        return 62 - (clusterBits - 8);
    }

    /** Host byte offset of a compressed L2 entry's data. */
    long compressedOffset(long entry) {
        return entry & ((1L << csizeShift()) - 1);
    }

    /** 512-byte sectors a compressed entry spans: the stored count of additional sectors plus one. */
    long compressedSectors(long entry) {
        return ((entry >>> csizeShift()) & ((1L << (clusterBits - 8)) - 1)) + 1;
    }

    /** First host cluster a compressed entry touches. */
    long compressedFirstCluster(long entry) {
        return compressedOffset(entry) >>> clusterBits;
    }

    /**
     * Last host cluster a compressed entry touches: its data runs from the offset to the
     * end of its last 512-byte sector, as qcow2_parse_compressed_l2_entry computes it.
     */
    long compressedLastCluster(long entry) {
        long off = compressedOffset(entry);
        long end = (off & ~511L) + compressedSectors(entry) * 512;
        return (end - 1) >>> clusterBits;
    }
}
