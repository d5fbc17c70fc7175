package org.diskplan.planner.apply;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import org.diskplan.probe.ImageReader;

/**
 * A file held in memory, sparse: 64 KiB pages, a missing page reads as zeros. Plans
 * are applied to these step by step ({@link MemoryApply}) to see the state every prefix
 * of a plan leaves, without touching a disk; the probes read them as they read files.
 */
public final class MemoryFile implements ImageReader {
    static final int PAGE = 1 << 16;
    private final TreeMap<Long, byte[]> pages = new TreeMap<>();
    private long length;

    /** An empty file. */
    public MemoryFile() {
    }

    /** The contents of {@code file} (its all-zero pages left out). */
    public static MemoryFile of(Path file) throws IOException {
        MemoryFile m = new MemoryFile();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            m.length = ch.size();
            byte[] page = new byte[PAGE];
            for (long at = 0; at < m.length; at += PAGE) {
                int n = (int) Math.min(PAGE, m.length - at);
                Arrays.fill(page, (byte) 0);
                Io.readFully(ch, at, page, n);
                if (!isZero(page)) {
                    m.pages.put(at / PAGE, page.clone());
                }
            }
        }
        return m;
    }

    /** An independent copy. */
    public MemoryFile copy() {
        MemoryFile m = new MemoryFile();
        m.length = length;
        pages.forEach((k, v) -> m.pages.put(k, v.clone()));
        return m;
    }

    @Override
    public long size() {
        return length;
    }

    @Override
    public void readFullyUnchecked(long offset, byte[] into, int n) throws IOException {
        if (offset < 0 || offset + n > length) {
            throw new IOException("unexpected end of file at offset " + length);
        }
        for (int done = 0; done < n; ) {
            long at = offset + done;
            int in = (int) (at % PAGE);
            int k = Math.min(n - done, PAGE - in);
            byte[] page = pages.get(at / PAGE);
            if (page == null) {
                Arrays.fill(into, done, done + k, (byte) 0);
            } else {
                System.arraycopy(page, in, into, done, k);
            }
            done += k;
        }
    }

    /** Writes {@code data} at {@code offset}, lengthening the file if it runs past the end. */
    public void write(long offset, byte[] data, int from, int n) {
        for (int done = 0; done < n; ) {
            long at = offset + done;
            int in = (int) (at % PAGE);
            int k = Math.min(n - done, PAGE - in);
            System.arraycopy(data, from + done, pages.computeIfAbsent(at / PAGE, p -> new byte[PAGE]), in, k);
            done += k;
        }
        length = Math.max(length, offset + n);
    }

    /** Makes {@code [offset, offset + n)} zeros, lengthening the file if it runs past the end. */
    public void zero(long offset, long n) {
        for (long at = offset; at < offset + n; ) {
            int in = (int) (at % PAGE);
            long k = Math.min(offset + n - at, PAGE - in);
            byte[] page = pages.get(at / PAGE);
            if (page != null) {
                Arrays.fill(page, in, (int) (in + k), (byte) 0);
            }
            at += k;
        }
        length = Math.max(length, offset + n);
    }

    /** Sets the length: cut bytes are gone, new bytes read as zeros. */
    public void setLength(long newLength) {
        if (newLength < length) {
            pages.tailMap((newLength + PAGE - 1) / PAGE, true).clear();
            Map.Entry<Long, byte[]> last = pages.floorEntry(newLength / PAGE);
            if (last != null && last.getKey() == newLength / PAGE) {
                Arrays.fill(last.getValue(), (int) (newLength % PAGE), PAGE, (byte) 0);
            }
        }
        length = newLength;
    }

    /** The whole contents (for small files in tests). */
    public byte[] bytes() throws IOException {
        byte[] all = new byte[Math.toIntExact(length)];
        readFullyUnchecked(0, all, all.length);
        return all;
    }

    private static boolean isZero(byte[] b) {
        for (byte x : b) {
            if (x != 0) {
                return false;
            }
        }
        return true;
    }
}
