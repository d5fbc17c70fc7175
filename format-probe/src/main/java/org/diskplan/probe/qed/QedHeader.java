package org.diskplan.probe.qed;

import org.diskplan.probe.FormatHeader;

/**
 * The QED header (little-endian, 64 bytes at offset 0).
 *
 * @param clusterSize            offset 4: bytes per cluster (4 KiB..64 MiB, a power of two)
 * @param tableSize              offset 8: clusters per L1/L2 table (1..16, a power of two)
 * @param headerSize             offset 12: clusters the header occupies
 * @param features               offset 16: bit 0 backing file, bit 1 needs check, bit 2 backing format raw (no probe)
 * @param compatFeatures         offset 24
 * @param autoclearFeatures      offset 32
 * @param l1TableOffset          offset 40
 * @param imageSize              offset 48: virtual size in bytes
 * @param backingFilenameOffset  offset 56
 * @param backingFilenameSize    offset 60
 * @param backingFile            the backing file name, empty if none
 * @param l1AllocatedEntries     L1 entries pointing at an L2 table
 * @param mappedEnd              guest offset where the highest data cluster an L2 entry maps ends (0: none);
 *                               -1 when not every L2 table was read
 * @param repair                 for an image marked "needs check": what qemu's consistency check, which its
 *                               read-write open runs with repairs, would find or change besides clearing the mark
 *                               (empty: nothing; see {@link QedProbe#qemuRepair}); empty when not marked
 */
public record QedHeader(long clusterSize, long tableSize, long headerSize, long features, long compatFeatures,
                        long autoclearFeatures, long l1TableOffset, long imageSize, long backingFilenameOffset,
                        long backingFilenameSize, String backingFile, long l1AllocatedEntries,
                        long mappedEnd, String repair) implements FormatHeader {
    public static final long F_BACKING_FILE = 1;
    public static final long F_NEED_CHECK = 2;
    public static final long F_BACKING_FORMAT_NO_PROBE = 4;

    /** qemu-img info's backing keys; a "no probe" backing file is raw. */
    @Override
    public java.util.Map<String, Object> qemuInfo(String filename) {
        return org.diskplan.probe.QemuNames.backing(filename, backingFile,
                (features & F_BACKING_FORMAT_NO_PROBE) != 0 ? "raw" : "");
    }

    /** Entries in one L1 or L2 table. */
    public long tableEntries() {
        return tableSize * clusterSize / 8;
    }

    /**
     * qemu's qed_max_image_size: table entries squared times the cluster size, in
     * unsigned 64-bit arithmetic that wraps as qemu's does (compare with
     * {@link Long#compareUnsigned}).
     */
    public static long qemuMaxImageSize(long clusterSize, long tableSize) {
        long entries = tableSize * clusterSize / 8;
        return entries * clusterSize * entries;
    }

    /** qemu's qed_is_image_size_valid: whole sectors, at most {@link #qemuMaxImageSize}. */
    public static boolean qemuValidImageSize(long size, long clusterSize, long tableSize) {
        return Long.remainderUnsigned(size, 512) == 0
                && Long.compareUnsigned(size, qemuMaxImageSize(clusterSize, tableSize)) <= 0;
    }
}
