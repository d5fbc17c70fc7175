package org.diskplan.app.fx.model;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;

import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.vdi.VdiHeader;
import org.diskplan.probe.vhd.VhdHeader;

/**
 * The guest bytes a shrink cuts off that hold allocated data, read from the
 * image's block map where the format has one the window can read (dynamic VDI:
 * the little-endian block map at offBlocks; dynamic VHD: the big-endian BAT at
 * the dynamic header's table offset). Elsewhere {@link #known} is false and the
 * whole cut range counts.
 *
 * @param known     whether the block map was read
 * @param allocated bytes of {@code [newSize, oldSize)} in allocated blocks (the whole range when not known)
 * @param first     first guest byte of that data ({@code newSize} when not known; -1 when none)
 * @param end       first guest byte after it ({@code oldSize} when not known; -1 when none)
 */
public record DataPastEnd(boolean known, long allocated, long first, long end) {

    /** Reads the map entries covering {@code [newSize, oldSize)}; runs off the FX thread. */
    public static DataPastEnd of(ProbedImage img, long newSize) {
        long oldSize = img.virtualSize();
        try {
            if (img.header() instanceof VdiHeader h && h.isDynamic() && h.blockSize() > 0) {
                return scan(img, newSize, oldSize, h.blocksOffset(), h.blockCount(), h.blockSize(),
                        ByteOrder.LITTLE_ENDIAN, 0xfffffffeL);
            }
            if (img.header() instanceof VhdHeader h && h.batOffset() >= 0 && h.blockSize() > 0) {
                return scan(img, newSize, oldSize, h.batOffset(), h.batEntriesRead(), h.blockSize(),
                        ByteOrder.BIG_ENDIAN, 0xffffffffL);
            }
        } catch (IOException e) {
            // the map could not be read: fall back to counting the whole range
        }
        return unknown(newSize, oldSize);
    }

    /** No map read: the whole cut range counts as data. */
    public static DataPastEnd unknown(long newSize, long oldSize) {
        return new DataPastEnd(false, Math.max(0, oldSize - newSize), newSize, oldSize);
    }

    /** Entries {@code >= unallocatedFrom} (as unsigned 32-bit) map no data. */
    private static DataPastEnd scan(ProbedImage img, long newSize, long oldSize, long mapOffset, long entries,
                                    long blockSize, ByteOrder order, long unallocatedFrom) throws IOException {
        long firstBlock = newSize / blockSize;
        long lastBlock = Math.min(entries, (oldSize + blockSize - 1) / blockSize);
        long allocated = 0;
        long first = -1;
        long end = -1;
        try (FileChannel ch = FileChannel.open(img.path(), StandardOpenOption.READ)) {
            ByteBuffer buf = ByteBuffer.allocate(64 * 1024).order(order);
            for (long b = firstBlock; b < lastBlock; ) {
                int n = (int) Math.min(buf.capacity() / 4, lastBlock - b);
                buf.clear().limit(n * 4);
                long at = mapOffset + b * 4;
                while (buf.hasRemaining()) {
                    if (ch.read(buf, at + buf.position()) < 0) {
                        throw new IOException("block map ends early");
                    }
                }
                buf.flip();
                for (int i = 0; i < n; i++, b++) {
                    long entry = buf.getInt() & 0xffffffffL;
                    if (entry >= unallocatedFrom) {
                        continue;
                    }
                    long s = Math.max(newSize, b * blockSize);
                    long e = Math.min(oldSize, (b + 1) * blockSize);
                    if (e > s) {
                        allocated += e - s;
                        first = first < 0 ? s : first;
                        end = e;
                    }
                }
            }
        }
        return new DataPastEnd(true, allocated, first, end);
    }
}
