package org.diskplan.e2e;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The persistent dirty bitmaps of a qcow2 v3 file as sets of bits, read straight from the
 * file by the qcow2 spec (docs/interop/qcow2.txt, "Bitmaps"), so a test can compare what
 * two tools stored without going through DiskPlan's probe. Also sets a bitmap's in-use
 * flag, to make an image qemu treats as inconsistent.
 */
final class QcowBitmapBits {
    static final int EXT_BITMAPS = 0x23852875;

    private QcowBitmapBits() {
    }

    /** Bitmap name to its set bits (bit k: the granule at k * granularity). */
    static Map<String, BitSet> read(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            Map<String, BitSet> out = new LinkedHashMap<>();
            long[] dir = directory(ch);
            if (dir == null) {
                return out;
            }
            int clusterBits = read(ch, 20, 4).getInt();
            long cs = 1L << clusterBits;
            ByteBuffer d = read(ch, dir[1], (int) dir[0]);
            while (d.remaining() >= 24) {
                int start = d.position();
                long tableOffset = d.getLong();
                int tableSize = d.getInt();
                d.getInt(); // flags
                d.get(); // type
                int granularityBits = d.get();
                int nameSize = d.getShort() & 0xffff;
                int extra = d.getInt();
                d.position(d.position() + extra);
                byte[] name = new byte[nameSize];
                d.get(name);
                d.position(start + (int) align8(24 + extra + nameSize));
                BitSet bits = new BitSet();
                ByteBuffer table = read(ch, tableOffset, tableSize * 8);
                for (int i = 0; i < tableSize; i++) {
                    long e = table.getLong(i * 8);
                    long off = e & 0x00fffffffffffe00L;
                    long base = i * cs * 8;
                    if (off != 0) {
                        ByteBuffer c = read(ch, off, (int) cs);
                        for (int k = 0; k < cs * 8; k++) {
                            if ((c.get(k >>> 3) & (1 << (k & 7))) != 0) {
                                bits.set((int) (base + k));
                            }
                        }
                    } else if ((e & 1) != 0) {
                        bits.set((int) base, (int) (base + cs * 8));
                    }
                }
                out.put(new String(name, StandardCharsets.UTF_8) + " (granularity 2^" + granularityBits + ")", bits);
            }
            return out;
        }
    }

    /** Sets bit 0 (in_use) of the flags of the first bitmap in the directory. */
    static void markFirstInUse(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long[] dir = directory(ch);
            long flagsAt = dir[1] + 12;
            int flags = read(ch, flagsAt, 4).getInt();
            ch.write(ByteBuffer.allocate(4).putInt(0, flags | 1), flagsAt);
        }
    }

    /** {directory size, directory offset}, or null without a bitmaps extension. */
    private static long[] directory(FileChannel ch) throws IOException {
        int headerLength = read(ch, 100, 4).getInt();
        long at = headerLength;
        while (true) {
            ByteBuffer e = read(ch, at, 8);
            int type = e.getInt();
            int length = e.getInt();
            if (type == 0) {
                return null;
            }
            if (type == EXT_BITMAPS) {
                ByteBuffer b = read(ch, at + 8, 24);
                return new long[] {b.getLong(8), b.getLong(16)};
            }
            at += 8 + align8(length);
        }
    }

    private static long align8(long n) {
        return (n + 7) & ~7L;
    }

    private static ByteBuffer read(FileChannel ch, long at, int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        while (b.hasRemaining()) {
            if (ch.read(b, at + b.position()) < 0) {
                throw new IOException("short read at " + at);
            }
        }
        return b.flip();
    }
}
