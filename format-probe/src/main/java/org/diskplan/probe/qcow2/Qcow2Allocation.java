package org.diskplan.probe.qcow2;

import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import org.diskplan.probe.GuestAllocationReader;
import org.diskplan.probe.TableEntries;

/**
 * Guest allocation of a qcow2 image: the big-endian L1 table points at L2 tables of
 * u64 entries, one per cluster. A compressed cluster maps data; a standard one maps
 * data when it has a host offset and bit 0 (reads as zeros) is clear. With extended L2
 * entries (16 bytes: the entry, then a subcluster bitmap) a subcluster maps data when
 * its allocation bit (bits 0..31) is set in a cluster with a host offset. Images with a
 * backing file (unallocated clusters read from it) or an external data file are left unknown.
 */
public final class Qcow2Allocation implements GuestAllocationReader.OfHeader<Qcow2Header> {
    private static final int SUBCLUSTERS = 32;

    @Override
    public Class<Qcow2Header> headerType() {
        return Qcow2Header.class;
    }

    @Override
    public boolean knows(Qcow2Header h) {
        return h.backingFile().isEmpty() && h.dataFile().isEmpty()
                && h.clusterSize() > 0;
    }

    @Override
    public void scan(Qcow2Header h, FileChannel file, long from, long to, RangeSink sink) throws IOException {
        long cs = h.clusterSize();
        long perL2 = h.l2Entries();
        boolean ext = h.extendedL2();
        int words = ext ? 2 : 1;
        long lastCluster = (to + cs - 1) / cs;
        long[] entry = new long[1];
        for (long c = from / cs; c < lastCluster; ) {
            long l1Index = c / perL2;
            if (l1Index >= h.l1Size()) {
                return;
            }
            long l2 = TableEntries.one(file, "qcow2 L1 table", h.l1TableOffset(), 8, ByteOrder.BIG_ENDIAN, l1Index)
                    & Qcow2Layout.L1E_OFFSET_MASK;
            long spanEnd = Math.min(lastCluster, (l1Index + 1) * perL2);
            if (l2 != 0) {
                long base = l1Index * perL2;
                TableEntries.read(file, "qcow2 L2 table " + l1Index, l2 - base * 8 * words, 8, ByteOrder.BIG_ENDIAN,
                        c * words, spanEnd * words, (i, value) -> {
                            if (i % words == 0) {
                                entry[0] = value;
                                if (!ext) {
                                    standard(sink, i, value, h.clusterBits(), from, to);
                                }
                            } else {
                                extended(sink, i / 2, entry[0], value, h.clusterBits(), from, to);
                            }
                        });
            }
            c = spanEnd;
        }
    }

    private static void standard(RangeSink sink, long cluster, long e, int clusterBits, long from, long to) {
        long cs = 1L << clusterBits;
        if ((e & Qcow2Layout.OFLAG_COMPRESSED) != 0) {
            compressed(sink, cluster, e, clusterBits, from, to);
        } else if ((e & Qcow2Layout.L2E_OFFSET_MASK) != 0 && (e & 1) == 0) {
            TableEntries.block(sink, cluster, cs, from, to, e & Qcow2Layout.L2E_OFFSET_MASK);
        }
    }

    /** A compressed cluster: its guest bytes in the range, and the whole compressed extent in the file. */
    private static void compressed(RangeSink sink, long cluster, long e, int clusterBits, long from, long to) {
        long cs = 1L << clusterBits;
        long s = Math.max(from, cluster * cs);
        long end = Math.min(to, (cluster + 1) * cs);
        if (end > s) {
            long host = Qcow2Layout.compressedOffset(e, clusterBits);
            sink.mapped(s, end, host, Qcow2Layout.compressedEnd(e, clusterBits) - host);
        }
    }

    private static void extended(RangeSink sink, long cluster, long e, long bitmap, int clusterBits, long from,
                                 long to) {
        if ((e & Qcow2Layout.OFLAG_COMPRESSED) != 0) {
            compressed(sink, cluster, e, clusterBits, from, to);
            return;
        }
        long host = e & Qcow2Layout.L2E_OFFSET_MASK;
        if (host == 0) {
            return;
        }
        long sub = (1L << clusterBits) / SUBCLUSTERS;
        for (int s = 0; s < SUBCLUSTERS; s++) {
            if ((bitmap & (1L << s)) != 0) {
                TableEntries.block(sink, cluster * SUBCLUSTERS + s, sub, from, to, host + s * sub);
            }
        }
    }
}
