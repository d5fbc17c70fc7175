package org.diskplan.planner;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.Optional;
import org.diskplan.probe.ProbeException;

/** Raw test files and planning helpers. */
public final class TestImages {
    private TestImages() {
    }

    /** A sparse raw file of {@code length} bytes with a recognisable pattern every 64 KiB. */
    public static Path raw(Path dir, String name, long length) throws IOException {
        Path file = dir.resolve(name);
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(length);
            for (long pos = 0; pos + 16 <= length; pos += 64 << 10) {
                raf.seek(pos);
                raf.write(String.format("guest@%09d", pos).getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            }
        }
        return file;
    }

    public static ResizePlan plan(Path file, ResizeRequest request) throws IOException, ProbeException, ResizeError {
        return plan(file, "raw", request);
    }

    /** The plan for {@code file} opened as {@code driver} (qemu's name: raw, qcow2, qed, vpc, …). */
    public static ResizePlan plan(Path file, String driver, ResizeRequest request)
            throws IOException, ProbeException, ResizeError {
        return ResizeSession.planFile(file, Optional.of(driver), image -> request);
    }
}
