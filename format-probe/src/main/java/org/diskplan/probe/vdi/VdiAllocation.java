package org.diskplan.probe.vdi;

import java.io.IOException;
import java.nio.channels.FileChannel;
import org.diskplan.probe.GuestAllocationReader;
import org.diskplan.probe.TableEntries;

/**
 * Guest allocation of a dynamic VDI: the little-endian u32 block map at offBlocks,
 * one entry per block; 0xffffffff (free) and 0xfffffffe (reads as zeros) map no data.
 * A differencing image is left unknown: its free blocks read from the parent.
 */
public final class VdiAllocation implements GuestAllocationReader.OfHeader<VdiHeader> {
    private static final long FIRST_UNMAPPED = 0xfffffffeL;

    @Override
    public Class<VdiHeader> headerType() {
        return VdiHeader.class;
    }

    @Override
    public boolean knows(VdiHeader h) {
        return h.isDynamic() && h.blockSize() > 0;
    }

    @Override
    public void scan(VdiHeader h, FileChannel file, long from, long to, RangeSink sink) throws IOException {
        TableEntries.blockMap(file, "VDI block map", h.blocksOffset(), VdiLayout.ORDER, h.blockCount(),
                h.blockSize(), from, to, entry -> entry < FIRST_UNMAPPED,
                entry -> h.dataOffset() + entry * h.blockStride() + h.blockExtra(), sink);
    }
}
