package org.diskplan.probe.qcow;

import org.diskplan.probe.FormatHeader;

/**
 * The qcow version 1 header (big-endian, 48 bytes at offset 0).
 *
 * @param backingFileOffset  offset 8
 * @param backingFileSize    offset 16
 * @param mtime              offset 20: modification time of the backing file (seconds)
 * @param size               offset 24: virtual size in bytes
 * @param clusterBits        offset 32: log2 of the cluster size (9..16)
 * @param l2Bits             offset 33: log2 of the entries per L2 table (6..13)
 * @param cryptMethod        offset 36: 0 none, 1 AES
 * @param l1TableOffset      offset 40
 * @param l1Size             computed: ceil(size / 2^(cluster_bits + l2_bits))
 * @param backingFile        the backing file name, empty if none
 * @param l1AllocatedEntries L1 entries pointing at an L2 table
 */
public record QcowHeader(long backingFileOffset, long backingFileSize, long mtime, long size, int clusterBits,
                         int l2Bits, long cryptMethod, long l1TableOffset, long l1Size, String backingFile,
                         long l1AllocatedEntries) implements FormatHeader {
    /** qemu-img info's backing keys (qcow v1 names no backing format), and encryption. */
    @Override
    public java.util.Map<String, Object> qemuInfo(String filename) {
        java.util.Map<String, Object> m = new java.util.LinkedHashMap<>(
                org.diskplan.probe.QemuNames.backing(filename, backingFile, ""));
        if (cryptMethod != 0) {
            m.put("encrypted", true);
        }
        return m;
    }

    public long clusterSize() {
        return 1L << clusterBits;
    }
}
