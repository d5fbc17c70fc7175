package org.diskplan.probe.vmdk;

import java.io.IOException;
import java.nio.channels.FileChannel;
import org.diskplan.probe.GuestAllocationReader;
import org.diskplan.probe.TableEntries;

/**
 * Guest allocation of a one-file sparse VMDK (monolithicSparse, streamOptimized): the
 * little-endian u32 grain directory at gdOffset points at grain tables of numGTEsPerGT
 * u32 entries, one per grain; 0 maps no grain, and 1 is a zeroed grain when the header
 * sets the zeroed-grain flag. Descriptor images with several extent files are left unknown.
 */
public final class VmdkAllocation implements GuestAllocationReader.OfHeader<VmdkHeader> {
    private static final long GTE_ZEROED = 1;
    private static final long COMPRESSED_GRAINS = 1L << 16;

    @Override
    public Class<VmdkHeader> headerType() {
        return VmdkHeader.class;
    }

    @Override
    public boolean knows(VmdkHeader h) {
        return h.grainSize() > 0 && h.numGTEsPerGT() > 0
                && h.gdOffset() > 0;
    }

    @Override
    public void scan(VmdkHeader h, FileChannel file, long from, long to, RangeSink sink) throws IOException {
        long grain = h.grainBytes();
        long perGt = h.numGTEsPerGT();
        boolean zeroFlag = (h.flags() & VmdkLayout.FLAG_ZEROED_GRAIN_GTE) != 0;
        boolean compressed = (h.flags() & COMPRESSED_GRAINS) != 0;
        long lastGrain = (Math.min(to, h.virtualSize()) + grain - 1) / grain;
        for (long g = from / grain; g < lastGrain; ) {
            long gdIndex = g / perGt;
            long spanEnd = Math.min(lastGrain, (gdIndex + 1) * perGt);
            if (gdIndex >= h.grainDirectoryEntries()) {
                return;
            }
            long gtSector = TableEntries.one(file, "VMDK grain directory", h.gdOffsetBytes(), 4, VmdkLayout.ORDER,
                    gdIndex);
            if (gtSector != 0) {
                TableEntries.read(file, "VMDK grain table " + gdIndex, gtSector * VmdkLayout.SECTOR - gdIndex
                        * perGt * 4, 4, VmdkLayout.ORDER, g, spanEnd, (i, entry) -> {
                            if (entry != 0 && !(zeroFlag && entry == GTE_ZEROED)) {
                                if (compressed) {
                                    // a compressed grain: its marker sector is where it starts; its
                                    // length is in the marker, not in the table
                                    long s = Math.max(from, i * grain);
                                    long e = Math.min(to, (i + 1) * grain);
                                    sink.mapped(s, e, entry * VmdkLayout.SECTOR, VmdkLayout.SECTOR);
                                } else {
                                    TableEntries.block(sink, i, grain, from, to, entry * VmdkLayout.SECTOR);
                                }
                            }
                        });
            }
            g = spanEnd;
        }
    }
}
