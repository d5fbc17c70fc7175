package org.diskplan.app.fx.model;

import java.io.IOException;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.List;
import org.diskplan.planner.ResizePatch;
import org.diskplan.planner.ResizePlan;
import org.diskplan.probe.FileImageReader;

/**
 * A step's bytes before and after, for the hex diff under the timeline: at most
 * {@link #MAX} bytes, from the row of the step's first changed byte; differing bytes
 * are marked on both sides. "Before" is the file as the earlier steps of the plan leave
 * it (not the file as it is now): the earlier writes, zero-fills, copies and appends
 * that overlap are laid over the bytes read from the file.
 *
 * @param before the bytes before the step ("--" past the end of the file at that point)
 * @param after  what the step writes there
 */
public record PatchDiff(HexWindow before, HexWindow after) {
    public static final int MAX = 1024; // 64 rows: a tall window shows them, a short one scrolls
    /** How far into a step the first changed byte is looked for. */
    static final int SCAN = 64 * 1024;
    public static final PatchDiff EMPTY = new PatchDiff(HexWindow.EMPTY, HexWindow.EMPTY);

    /** Reads step {@code step} of {@code plan} on {@code file} (blocking). */
    public static PatchDiff read(Path file, ResizePlan plan, int step) throws IOException {
        ResizePatch patch = plan.patches().get(step);
        try (FileImageReader reader = FileImageReader.open(file)) {
            return of(new FileView(reader, plan.patches(), patch.file()), patch, step);
        }
    }

    /** Bytes of a file as the first {@code upTo} steps leave it. */
    interface Bytes {
        /** The length of the file after the first {@code upTo} steps. */
        long length(int upTo);

        /** {@code count} bytes at {@code from} after the first {@code upTo} steps (zeros past the end). */
        byte[] read(int upTo, long from, int count) throws IOException;
    }

    /** The file on disk with the plan's earlier steps laid over it. */
    record FileView(FileImageReader reader, List<ResizePatch> patches, int file) implements Bytes {
        @Override
        public long length(int upTo) {
            long len = reader.size();
            for (int j = 0; j < upTo; j++) {
                ResizePatch p = patches.get(j);
                if (p.file() == file && (p instanceof ResizePatch.Extend || p instanceof ResizePatch.ZeroFill
                        || p instanceof ResizePatch.Write || p instanceof ResizePatch.Copy)) {
                    len = Math.max(len, p.offset() + p.length());
                }
            }
            return len;
        }

        @Override
        public byte[] read(int upTo, long from, int count) throws IOException {
            byte[] out = new byte[count];
            int present = (int) Math.max(0, Math.min(count, reader.size() - from));
            if (present > 0) {
                reader.readFullyUnchecked(from, out, present);
            }
            for (int j = 0; j < upTo; j++) {
                ResizePatch p = patches.get(j);
                if (p.file() != file) {
                    continue;
                }
                long lo = Math.max(from, p.offset());
                long hi = Math.min(from + count, p.offset() + p.length());
                if (lo >= hi) {
                    continue;
                }
                int at = (int) (lo - from);
                int n = (int) (hi - lo);
                if (p instanceof ResizePatch.Write w) {
                    w.dataView().position((int) (lo - w.offset())).get(out, at, n);
                } else if (p instanceof ResizePatch.Copy c && c.sourceFile() == file) {
                    System.arraycopy(read(j, c.source() + (lo - c.offset()), n), 0, out, at, n);
                } else {
                    java.util.Arrays.fill(out, at, at + n, (byte) 0); // zero-fill, reserve, extend
                }
            }
            return out;
        }
    }

    /** The diff of step {@code step} ({@code patch}) over {@code bytes}. */
    static PatchDiff of(Bytes bytes, ResizePatch patch, int step) throws IOException {
        int scan = (int) Math.min(SCAN, patch.length());
        byte[] now = bytes.read(step, patch.offset(), scan);
        byte[] next = written(bytes, patch, step, scan);
        int first = 0;
        while (first < scan && now[first] == next[first]) {
            first++;
        }
        int start = first == scan ? 0 : first & ~(HexWindow.ROW - 1);
        int n = Math.min(MAX, scan - start);
        long lengthBefore = bytes.length(step);
        long from = patch.offset() + start;
        int present = (int) Math.max(0, Math.min(n, lengthBefore - from));
        byte[] shownBefore = java.util.Arrays.copyOfRange(now, start, start + present);
        byte[] shownAfter = java.util.Arrays.copyOfRange(next, start, start + n);
        BitSet diff = new BitSet();
        for (int i = 0; i < n; i++) {
            if (i >= present || shownBefore[i] != shownAfter[i]) {
                diff.set(i);
            }
        }
        return new PatchDiff(new HexWindow(from, shownBefore, diff, n - present),
                new HexWindow(from, shownAfter, diff, 0));
    }

    /** The first {@code count} bytes {@code patch} writes. */
    private static byte[] written(Bytes bytes, ResizePatch patch, int step, int count) throws IOException {
        byte[] out = new byte[count];
        if (patch instanceof ResizePatch.Write w) {
            w.dataView().get(out, 0, count);
        } else if (patch instanceof ResizePatch.Copy c && c.sourceFile() == patch.file()) {
            out = bytes.read(step, c.source(), count);
        }
        return out;
    }
}
