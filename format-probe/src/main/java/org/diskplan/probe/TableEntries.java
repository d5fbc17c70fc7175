package org.diskplan.probe;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;

/**
 * Streams a run of fixed-width table entries (a BAT, a block map, an L2 or grain table)
 * through a 64 KiB buffer, so a table of any size is read in bounded memory.
 */
public final class TableEntries {
    private static final int BUFFER = 64 * 1024;

    private TableEntries() {
    }

    /** Receives entry {@code index} of the table with its unsigned value. */
    @FunctionalInterface
    public interface EntryVisitor {
        void entry(long index, long value) throws IOException;
    }

    /**
     * Reads entries {@code [first, last)} of the table at {@code tableOffset}.
     *
     * @param width 4 or 8 bytes per entry; 4-byte entries are reported unsigned
     * @throws IOException naming the table and the byte offset where the file ends
     */
    public static void read(FileChannel file, String table, long tableOffset, int width, ByteOrder order,
                            long first, long last, EntryVisitor visitor) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(BUFFER).order(order);
        for (long i = first; i < last; ) {
            int n = (int) Math.min(BUFFER / width, last - i);
            buf.clear().limit(n * width);
            long at = tableOffset + i * width;
            while (buf.hasRemaining()) {
                if (file.read(buf, at + buf.position()) < 0) {
                    throw new IOException(table + " entry " + (i + buf.position() / width) + " at byte offset "
                            + (at + buf.position()) + " lies past the end of the file");
                }
            }
            buf.flip();
            for (int k = 0; k < n; k++, i++) {
                visitor.entry(i, width == 8 ? buf.getLong() : buf.getInt() & 0xffffffffL);
            }
        }
    }

    /** Reads one entry. */
    public static long one(FileChannel file, String table, long tableOffset, int width, ByteOrder order, long index)
            throws IOException {
        long[] v = new long[1];
        read(file, table, tableOffset, width, order, index, index + 1, (i, value) -> v[0] = value);
        return v[0];
    }

    /**
     * Reports the blocks of {@code [from, to)} whose u32 entry in a one-entry-per-block map
     * (a VHD BAT, a VDI block map) satisfies {@code mapped}.
     */
    public static void blockMap(FileChannel file, String table, long tableOffset, ByteOrder order, long entries,
                                long blockSize, long from, long to, java.util.function.LongPredicate mapped,
                                java.util.function.LongUnaryOperator hostOf, GuestAllocationReader.RangeSink sink)
            throws IOException {
        long last = Math.min(entries, (to + blockSize - 1) / blockSize);
        read(file, table, tableOffset, 4, order, from / blockSize, last, (b, entry) -> {
            if (mapped.test(entry)) {
                block(sink, b, blockSize, from, to, hostOf.applyAsLong(entry));
            }
        });
    }

    /**
     * Reports the part of block {@code block} (of {@code blockSize} guest bytes) that lies
     * inside {@code [from, to)}, with where it lies in the file: the block's data starts at
     * file offset {@code hostBlock}.
     */
    public static void block(GuestAllocationReader.RangeSink sink, long block, long blockSize, long from, long to,
                             long hostBlock) {
        long s = Math.max(from, block * blockSize);
        long e = Math.min(to, (block + 1) * blockSize);
        if (e > s) {
            sink.mapped(s, e, hostBlock + (s - block * blockSize), e - s);
        }
    }

    /**
     * Reports the part of block {@code block} (of {@code blockSize} guest bytes) that lies
     * inside {@code [from, to)}.
     */
    public static void block(GuestAllocationReader.RangeSink sink, long block, long blockSize, long from, long to) {
        long s = Math.max(from, block * blockSize);
        long e = Math.min(to, (block + 1) * blockSize);
        if (e > s) {
            sink.mapped(s, e);
        }
    }
}
