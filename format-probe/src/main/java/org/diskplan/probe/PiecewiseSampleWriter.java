package org.diskplan.probe;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A {@link SampleWriter} for formats whose fresh image is a few byte pieces at fixed offsets in a
 * file of known length (the rest sparse zeros): the writer computes the pieces, this class
 * checks the size and the options, creates the file and writes them, and removes the file if
 * anything fails.
 */
public abstract class PiecewiseSampleWriter implements SampleWriter {
    /** The file to write: its length and its non-zero pieces by offset. */
    protected record Pieces(long length, long virtualSize, Map<Long, byte[]> at) {
        public Pieces {
            at = new TreeMap<>(at);
        }
    }

    @Override
    public List<String> subformats() {
        return List.of("");
    }

    /** Option keys this writer takes; none by default. */
    protected Set<String> optionKeys() {
        return Set.of();
    }

    /** The pieces of an image of {@code virtual} bytes (a positive multiple of 512). */
    protected abstract Pieces pieces(long virtual, SampleOptions options);

    @Override
    public final long write(Path file, long size, Map<String, String> options) throws IOException {
        SampleOptions o = SampleOptions.of(format(), options, optionKeys());
        if (size <= 0 || size > Long.MAX_VALUE - 511) {
            throw new IllegalArgumentException("Image size must be positive");
        }
        Pieces p = pieces((size + 511) & ~511L, o);
        SampleFiles.creating(files -> {
            try (FileChannel ch = FileChannel.open(files.create(file), StandardOpenOption.WRITE)) {
                for (Map.Entry<Long, byte[]> e : p.at().entrySet()) {
                    SampleFiles.write(ch, e.getKey(), e.getValue());
                }
                SampleFiles.extend(ch, p.length());
            }
        });
        return p.virtualSize();
    }
}
