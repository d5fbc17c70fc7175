package org.diskplan.probe;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The few file operations the {@link SampleWriter}s share: positional writes and sparse growth. */
public final class SampleFiles {
    private SampleFiles() {
    }

    /** Writes all of {@code bytes} at file offset {@code at}. */
    public static void write(FileChannel ch, long at, byte[] bytes) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        while (b.hasRemaining()) {
            ch.write(b, at + b.position());
        }
    }

    /** Makes the file at least {@code length} bytes long without writing its gaps (sparse where the OS can). */
    public static void extend(FileChannel ch, long length) throws IOException {
        if (length > 0 && ch.size() < length) {
            ch.write(ByteBuffer.allocate(1), length - 1);
        }
    }

    /** The files one {@link #creating} call has made so far. */
    public static final class Created {
        private final List<Path> paths = new ArrayList<>();

        /** Creates {@code file}, which must not exist, and remembers it. */
        public Path create(Path file) throws IOException {
            paths.add(Files.createFile(file));
            return file;
        }
    }

    /** A writer's work on the files it creates. */
    @FunctionalInterface
    public interface Work {
        void run(Created files) throws IOException;
    }

    /** Runs {@code work}; if it fails, deletes every file it created, so a failed sample leaves nothing behind. */
    public static void creating(Work work) throws IOException {
        Created files = new Created();
        try {
            work.run(files);
        } catch (IOException | RuntimeException e) {
            for (Path p : files.paths) {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        }
    }

    /** ⌈a / b⌉ for non-negative a and positive b. */
    public static long ceilDiv(long a, long b) {
        return a == 0 ? 0 : (a - 1) / b + 1;
    }
}
