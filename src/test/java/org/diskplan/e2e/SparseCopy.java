package org.diskplan.e2e;

import com.sun.jna.Library;
import com.sun.jna.Native;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A copy with the same length and bytes whose all-zero 4 KiB blocks are holes (what
 * {@code cp --sparse=always} makes), in-process: a {@code cp} per crash prefix costs a
 * process start (about 11 ms, more than copying a small qcow2), and {@link Files#copy}
 * writes every byte, holes included (64 MiB of writes for a fixed VHD holding 1 MiB). The
 * source's holes are skipped without reading them (lseek SEEK_DATA/SEEK_HOLE through JNA;
 * where that is missing the whole file is read and its zero blocks skipped).
 *
 * <p>Only for tests whose outcome cannot depend on the copy's host allocation: a zero
 * block of the source reads the same from the copy but is not allocated there, so {@code
 * st_blocks}, qemu-img's "disk size" and {@code qemu-img map}'s data/zero status of a raw
 * file change; guest data, lengths and every format's metadata do not.
 */
final class SparseCopy {
    private static final int BLOCK = 4096;
    private static final int CHUNK = 1 << 20;
    private static final byte[] ZERO_BLOCK = new byte[BLOCK];
    private static final int SEEK_DATA = 3;
    private static final int SEEK_HOLE = 4;

    private interface LibC extends Library {
        int open(String path, int flags);

        long lseek(int fd, long offset, int whence);

        int close(int fd);
    }

    private static final LibC LIBC = load();

    private SparseCopy() {
    }

    private static LibC load() {
        if (!System.getProperty("os.name", "").startsWith("Linux")) {
            return null;
        }
        try {
            return Native.load("c", LibC.class);
        } catch (Throwable e) { // no JNA native for this platform: read the holes too
            return null;
        }
    }

    /** Copies {@code from} to {@code to} (replaced if it exists), zero blocks as holes; returns {@code to}. */
    static Path copy(Path from, Path to) throws IOException {
        Files.deleteIfExists(to);
        long length = Files.size(from);
        byte[] buf = new byte[CHUNK];
        try (FileChannel in = FileChannel.open(from, StandardOpenOption.READ);
             RandomAccessFile out = new RandomAccessFile(to.toFile(), "rw")) {
            FileChannel ch = out.getChannel();
            for (long[] range : dataRanges(from, length)) {
                for (long pos = range[0]; pos < range[1]; ) {
                    int n = (int) Math.min(CHUNK, range[1] - pos);
                    ByteBuffer b = ByteBuffer.wrap(buf, 0, n);
                    while (b.hasRemaining()) {
                        if (in.read(b, pos + b.position()) < 0) {
                            throw new IOException(from + " ended at " + (pos + b.position()) + " while copying");
                        }
                    }
                    writeNonZero(ch, pos, buf, n);
                    pos += n;
                }
            }
            out.setLength(length);
        }
        return to;
    }

    /** Writes the runs of blocks of {@code buf[0, n)} that are not all zeros at {@code pos} + their offset. */
    private static void writeNonZero(FileChannel ch, long pos, byte[] buf, int n) throws IOException {
        int run = -1;
        for (int off = 0; off < n; off += BLOCK) {
            int len = Math.min(BLOCK, n - off);
            boolean zero = Arrays.mismatch(buf, off, off + len, ZERO_BLOCK, 0, len) < 0;
            if (!zero && run < 0) {
                run = off;
            } else if (zero && run >= 0) {
                write(ch, pos, buf, run, off);
                run = -1;
            }
        }
        if (run >= 0) {
            write(ch, pos, buf, run, n);
        }
    }

    private static void write(FileChannel ch, long pos, byte[] buf, int from, int to) throws IOException {
        ByteBuffer w = ByteBuffer.wrap(buf, from, to - from);
        while (w.hasRemaining()) {
            ch.write(w, pos + w.position());
        }
    }

    /** [start, end) ranges that may hold data: the source's data extents, or the whole file. */
    private static List<long[]> dataRanges(Path from, long length) {
        List<long[]> whole = List.<long[]>of(new long[] {0, length});
        if (LIBC == null || length == 0) {
            return whole;
        }
        int fd = LIBC.open(from.toString(), 0); // O_RDONLY
        if (fd < 0) {
            return whole;
        }
        try {
            List<long[]> ranges = new ArrayList<>();
            for (long pos = 0; pos < length; ) {
                long data = LIBC.lseek(fd, pos, SEEK_DATA);
                if (data < 0) { // ENXIO: only a hole is left (or no SEEK_DATA here: read it all)
                    return ranges.isEmpty() && pos == 0 && !onlyHoles(fd) ? whole : ranges;
                }
                long hole = LIBC.lseek(fd, data, SEEK_HOLE);
                if (hole < 0) {
                    return whole;
                }
                ranges.add(new long[] {data, Math.min(hole, length)});
                pos = hole;
            }
            return ranges;
        } finally {
            LIBC.close(fd);
        }
    }

    /** True when SEEK_HOLE works here and finds offset 0 a hole (a file of holes only). */
    private static boolean onlyHoles(int fd) {
        return LIBC.lseek(fd, 0, SEEK_HOLE) == 0;
    }
}
