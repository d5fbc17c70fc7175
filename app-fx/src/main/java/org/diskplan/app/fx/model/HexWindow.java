package org.diskplan.app.fx.model;

import java.util.BitSet;
import java.util.Locale;

/**
 * Bytes of the file shown in a hex view: {@code bytes} read at {@code offset}, with
 * the bytes to highlight marked.
 *
 * @param offset    file offset of {@code bytes[0]} (a multiple of 16 for a field window; a patch diff starts at the patch)
 * @param bytes     what was read; bytes past the end of the file are absent
 * @param marked    indexes into {@code bytes} to highlight
 * @param missing   how many bytes after {@code bytes} lie past the end of the file (shown as "--")
 */
public record HexWindow(long offset, byte[] bytes, BitSet marked, int missing) {
    public static final int ROW = 16;
    public static final HexWindow EMPTY = new HexWindow(0, new byte[0], new BitSet(), 0);

    public HexWindow {
        bytes = bytes.clone();
        marked = (BitSet) marked.clone();
    }

    @Override
    public byte[] bytes() {
        return bytes.clone();
    }

    @Override
    public BitSet marked() {
        return (BitSet) marked.clone();
    }

    public int size() {
        return bytes.length + missing;
    }

    public int rows() {
        return (size() + ROW - 1) / ROW;
    }

    /** The byte at index {@code i}, or -1 past the end of the file. */
    public int at(int i) {
        return i < bytes.length ? bytes[i] & 0xff : -1;
    }

    public boolean isMarked(int i) {
        return marked.get(i);
    }

    /** A window highlighting {@code [start, start + length)}. */
    public static HexWindow of(long offset, byte[] bytes, long start, long length, int missing) {
        BitSet marks = new BitSet();
        for (long p = Math.max(start, offset); p < start + length && p < offset + bytes.length + missing; p++) {
            marks.set((int) (p - offset));
        }
        return new HexWindow(offset, bytes, marks, missing);
    }

    /** The window to read around a field: from a row before it to a few rows after, at most {@code max}. */
    public static long[] around(long start, long length, long fileSize, int max) {
        long from = Math.max(0, (start & ~(ROW - 1L)) - 2L * ROW);
        long to = Math.min(from + max, Math.max(start + length + 4L * ROW, from + 8L * ROW));
        to = (to + ROW - 1) & ~(ROW - 1L);
        return new long[] {from, to - from};
    }

    /** One row as text: "00000200  63 6f 6e 65 ...  |conectix|". */
    public String rowText(int row) {
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%08x  ", offset + (long) row * ROW));
        StringBuilder ascii = new StringBuilder();
        for (int c = 0; c < ROW; c++) {
            int i = row * ROW + c;
            int b = i < size() ? at(i) : -2;
            sb.append(b >= 0 ? String.format(Locale.ROOT, "%02x", b) : b == -1 ? "--" : "  ");
            sb.append(c == 7 ? "  " : " ");
            ascii.append(b >= 0x20 && b < 0x7f ? (char) b : b == -2 ? ' ' : '.');
        }
        return sb.append(" |").append(ascii).append('|').toString();
    }

    /** The highlighted bytes as hex, "63 6f 6e" (for tests and the accessible text). */
    public String markedHex() {
        StringBuilder sb = new StringBuilder();
        for (int i = marked.nextSetBit(0); i >= 0; i = marked.nextSetBit(i + 1)) {
            if (sb.length() > 0) {
                sb.append(' ');
            }
            int b = at(i);
            sb.append(b >= 0 ? String.format(Locale.ROOT, "%02x", b) : "--");
        }
        return sb.toString();
    }
}
