package org.diskplan.app.fx.model;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;

import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.qcow2.Qcow2Header;
import org.diskplan.probe.qcow2.Qcow2Layout;
import org.diskplan.probe.vdi.VdiHeader;
import org.diskplan.probe.vhd.VhdHeader;

/**
 * The guest bytes a shrink cuts off that hold allocated data, read from the
 * image's block map where the format has one the window can read (dynamic VDI:
 * the little-endian block map at offBlocks; dynamic VHD: the big-endian BAT at
 * the dynamic header's table offset; qcow2 without a backing file, data file or
 * extended L2: the big-endian L1 and L2 tables, a cluster counting when its L2
 * entry is compressed or has a host offset without the zero flag). Elsewhere {@link #known} is false and the
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
            if (img.header() instanceof Qcow2Header h && h.backingFile().isEmpty() && h.dataFile().isEmpty()
                    && !h.extendedL2() && h.luks().isEmpty()) {
                return qcow2(img, h, newSize, oldSize);
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

    private static DataPastEnd qcow2(ProbedImage img, Qcow2Header h, long newSize, long oldSize) throws IOException {
        long cs = h.clusterSize();
        long perL2 = h.l2Entries();
        long allocated = 0;
        long first = -1;
        long end = -1;
        try (FileChannel ch = FileChannel.open(img.path(), StandardOpenOption.READ)) {
            ByteBuffer l2 = ByteBuffer.allocate((int) (perL2 * 8)).order(ByteOrder.BIG_ENDIAN);
            long lastCluster = (oldSize + cs - 1) / cs;
            for (long c = newSize / cs; c < lastCluster; ) {
                long l1Index = c / perL2;
                if (l1Index >= h.l1Size()) {
                    break;
                }
                long l2Offset = readLong(ch, h.l1TableOffset() + l1Index * 8) & Qcow2Layout.L1E_OFFSET_MASK;
                long spanEnd = Math.min(lastCluster, (l1Index + 1) * perL2);
                if (l2Offset == 0) {
                    c = spanEnd;
                    continue;
                }
                readFully(ch, l2.clear(), l2Offset);
                for (; c < spanEnd; c++) {
                    long entry = l2.getLong((int) (c % perL2) * 8);
                    boolean data = (entry & Qcow2Layout.OFLAG_COMPRESSED) != 0
                            || ((entry & Qcow2Layout.L2E_OFFSET_MASK) != 0 && (entry & 1) == 0);
                    long s = Math.max(newSize, c * cs);
                    long e = Math.min(oldSize, (c + 1) * cs);
                    if (data && e > s) {
                        allocated += e - s;
                        first = first < 0 ? s : first;
                        end = e;
                    }
                }
            }
        }
        return new DataPastEnd(true, allocated, first, end);
    }

    private static long readLong(FileChannel ch, long at) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.BIG_ENDIAN);
        readFully(ch, b, at);
        return b.getLong(0);
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long at) throws IOException {
        long start = at - buf.position();
        while (buf.hasRemaining()) {
            if (ch.read(buf, start + buf.position()) < 0) {
                throw new IOException("table ends early at " + (start + buf.position()));
            }
        }
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
