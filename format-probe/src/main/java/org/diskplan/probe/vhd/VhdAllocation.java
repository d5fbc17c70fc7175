package org.diskplan.probe.vhd;

import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import org.diskplan.probe.GuestAllocationReader;
import org.diskplan.probe.TableEntries;

/**
 * Guest allocation of a dynamic VHD: the big-endian u32 BAT at the dynamic header's
 * table offset, one entry per block; 0xffffffff maps no data. Fixed disks map every
 * byte and differencing disks read free blocks from their parent: both are left unknown.
 */
public final class VhdAllocation implements GuestAllocationReader.OfHeader<VhdHeader> {
    private static final long UNUSED = 0xffffffffL;
    private static final long SECTOR = 512;

    @Override
    public Class<VhdHeader> headerType() {
        return VhdHeader.class;
    }

    @Override
    public boolean knows(VhdHeader h) {
        return h.diskType() == VhdLayout.DISK_TYPE_DYNAMIC
                && h.batOffset() >= 0 && h.blockSize() > 0;
    }

    @Override
    public void scan(VhdHeader h, FileChannel file, long from, long to, RangeSink sink) throws IOException {
        TableEntries.blockMap(file, "VHD BAT", h.batOffset(), ByteOrder.BIG_ENDIAN, h.batEntriesRead(),
                h.blockSize(), from, to, entry -> entry != UNUSED,
                entry -> entry * SECTOR + h.bitmapSize(), sink); // the block's sector bitmap comes first
    }
}
