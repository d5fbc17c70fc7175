package org.diskplan.planner.qcow2;

/**
 * One refcount entry inside a refcount block, packed as qemu packs it
 * ({@code get_refcount_ro0..6} in qcow2-refcount.c): widths of 1, 2 and 4 bits share a
 * byte, least-significant bits first (entry 0 is bit 0 of byte 0); 8 bits are a byte;
 * 16, 32 and 64 bits are big-endian integers.
 */
final class RefcountCodec {
    private RefcountCodec() {
    }

    /** Entry {@code index} of {@code block} with {@code 2^order}-bit entries (unsigned: order 6 may read negative). */
    static long get(byte[] block, int index, int order) {
        switch (order) {
            case 0:
                return (block[index >>> 3] >>> (index & 7)) & 1;
            case 1:
                return (block[index >>> 2] >>> ((index & 3) << 1)) & 3;
            case 2:
                return (block[index >>> 1] >>> ((index & 1) << 2)) & 0xf;
            case 3:
                return block[index] & 0xff;
            case 4:
                return ((block[2 * index] & 0xff) << 8) | (block[2 * index + 1] & 0xff);
            case 5:
                return getBig(block, 4 * index, 4);
            case 6:
                return getBig(block, 8 * index, 8);
            default:
                throw new IllegalArgumentException("refcount order " + order);
        }
    }

    /** Stores {@code value} (already checked against {@link #max(int)}) as entry {@code index}. */
    static void set(byte[] block, int index, int order, long value) {
        switch (order) {
            case 0, 1, 2 -> {
                int bits = 1 << order;
                int perByte = 8 >>> order;
                int at = index / perByte;
                int shift = (index % perByte) * bits;
                int mask = ((1 << bits) - 1) << shift;
                block[at] = (byte) ((block[at] & ~mask) | (((int) value << shift) & mask));
            }
            case 3 -> block[index] = (byte) value;
            case 4 -> putBig(block, 2 * index, 2, value);
            case 5 -> putBig(block, 4 * index, 4, value);
            case 6 -> putBig(block, 8 * index, 8, value);
            default -> throw new IllegalArgumentException("refcount order " + order);
        }
    }

    /** The largest refcount an entry holds: {@code 2^bits - 1} (all ones for 64 bits, i.e. -1). */
    static long max(int order) {
        return order == 6 ? -1L : (1L << (1 << order)) - 1;
    }

    /** First byte of {@code block} that entry {@code index} occupies. */
    static int byteOf(int index, int order) {
        return (int) (((long) index << order) >>> 3);
    }

    /** Bytes one entry spans (1 for sub-byte widths, which share their byte). */
    static int byteSpan(int order) {
        return Math.max(1, (1 << order) >>> 3);
    }

    private static long getBig(byte[] b, int at, int n) {
        long v = 0;
        for (int i = 0; i < n; i++) {
            v = (v << 8) | (b[at + i] & 0xff);
        }
        return v;
    }

    private static void putBig(byte[] b, int at, int n, long v) {
        for (int i = n - 1; i >= 0; i--) {
            b[at + i] = (byte) v;
            v >>>= 8;
        }
    }
}
