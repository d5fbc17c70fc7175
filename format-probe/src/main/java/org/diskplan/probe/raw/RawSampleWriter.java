package org.diskplan.probe.raw;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.diskplan.probe.SampleWriter;

/**
 * A sparse raw image with a short text at the start of each MiB of the first 8 MiB.
 * The length is rounded up to whole 512-byte sectors, as {@code qemu-img create} does.
 */
public final class RawSampleWriter implements SampleWriter {
    @Override
    public String format() {
        return "raw";
    }

    @Override
    public List<String> subformats() {
        return List.of("");
    }

    @Override
    public long write(Path file, long size, Map<String, String> options) throws IOException {
        if (!options.isEmpty()) {
            throw new IllegalArgumentException("raw takes no options: " + options.keySet());
        }
        if (size <= 0 || size > Long.MAX_VALUE - 511) {
            throw new IllegalArgumentException("Image size must be positive");
        }
        long length = (size + 511) & ~511L;
        Files.createFile(file);
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(length);
            for (long mib = 0; mib < 8 && (mib << 20) + 64 <= length; mib++) {
                raf.seek(mib << 20);
                raf.write(String.format("DiskPlan sample raw image, MiB %d%n", mib)
                        .getBytes(StandardCharsets.US_ASCII));
            }
        }
        return length;
    }
}
