package org.diskplan.probe.vhdx;

import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import org.diskplan.probe.GuestAllocationReader;
import org.diskplan.probe.TableEntries;

/**
 * Guest allocation of a VHDX: the little-endian u64 BAT, where payload block {@code b}
 * is entry {@code b + b / chunkRatio} (a sector bitmap entry follows every chunkRatio
 * payload entries, MS-VHDX 2.5). The low three bits are the state: 6 fully present and
 * 7 partially present map data; not present, undefined, zero and unmapped do not. A
 * differencing VHDX is left unknown: its absent blocks read from the parent.
 */
public final class VhdxAllocation implements GuestAllocationReader.OfHeader<VhdxHeader> {
    private static final long STATE_MASK = 7;
    private static final long FULLY_PRESENT = 6;
    private static final long PARTIALLY_PRESENT = 7;

    @Override
    public Class<VhdxHeader> headerType() {
        return VhdxHeader.class;
    }

    @Override
    public boolean knows(VhdxHeader h) {
        return !h.hasParent() && h.blockSize() > 0 && h.chunkRatio() > 0
                && h.batOffset() > 0;
    }

    @Override
    public void scan(VhdxHeader h, FileChannel file, long from, long to, RangeSink sink) throws IOException {
        long bs = h.blockSize();
        long ratio = h.chunkRatio();
        long lastBlock = Math.min(h.payloadBlocks(), (to + bs - 1) / bs);
        long firstBlock = from / bs;
        if (firstBlock >= lastBlock) {
            return;
        }
        long firstEntry = firstBlock + firstBlock / ratio;
        long lastEntry = Math.min(h.batEntriesRead(), (lastBlock - 1) + (lastBlock - 1) / ratio + 1);
        TableEntries.read(file, "VHDX BAT", h.batOffset(), 8, ByteOrder.LITTLE_ENDIAN, firstEntry, lastEntry,
                (i, entry) -> {
                    if ((i + 1) % (ratio + 1) == 0) {
                        return; // a sector bitmap entry
                    }
                    long state = entry & STATE_MASK;
                    if (state == FULLY_PRESENT || state == PARTIALLY_PRESENT) {
                        // FileOffsetMB: bits 20..63 are the block's file offset in MiB
                        TableEntries.block(sink, i - i / (ratio + 1), bs, from, to, entry & ~((1L << 20) - 1));
                    }
                });
    }
}
