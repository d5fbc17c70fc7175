package org.diskplan.app.fx.model;

import java.io.IOException;
import java.nio.file.Path;
import java.util.BitSet;
import org.diskplan.planner.ResizePatch;
import org.diskplan.probe.FileImageReader;

/**
 * A patch's bytes before and after, for the hex diff under the timeline: at most
 * {@link #MAX} bytes from the patch's offset; differing bytes are marked on both sides.
 *
 * @param before the file's bytes now ("--" past the end of the file)
 * @param after  what the patch writes there
 */
public record PatchDiff(HexWindow before, HexWindow after) {
    public static final int MAX = 256;
    public static final PatchDiff EMPTY = new PatchDiff(HexWindow.EMPTY, HexWindow.EMPTY);

    /** Reads the current bytes under {@code patch} (blocking) and pairs them with the patch's. */
    public static PatchDiff read(Path file, ResizePatch patch) throws IOException {
        int n = (int) Math.min(MAX, patch.length());
        byte[] now;
        byte[] copied = null;
        try (FileImageReader reader = FileImageReader.open(file)) {
            int present = (int) Math.max(0, Math.min(n, reader.size() - patch.offset()));
            now = new byte[present];
            reader.readFullyUnchecked(patch.offset(), now, present);
            if (patch instanceof ResizePatch.Copy c && c.sourceFile() == ResizePatch.IMAGE
                    && c.source() + n <= reader.size()) {
                copied = new byte[n]; // what the copy will write: its source, as it is now
                reader.readFullyUnchecked(c.source(), copied, n);
            }
        }
        return of(patch, now, n, copied);
    }

    static PatchDiff of(ResizePatch patch, byte[] now, int n) {
        return of(patch, now, n, null);
    }

    private static PatchDiff of(ResizePatch patch, byte[] now, int n, byte[] copied) {
        byte[] next = copied != null ? copied : new byte[n];
        if (patch instanceof ResizePatch.Write w) {
            w.dataView().get(next, 0, n);
        }
        BitSet diff = new BitSet();
        for (int i = 0; i < n; i++) {
            if (i >= now.length || now[i] != next[i]) {
                diff.set(i);
            }
        }
        return new PatchDiff(new HexWindow(patch.offset(), now, diff, n - now.length),
                new HexWindow(patch.offset(), next, diff, 0));
    }
}
