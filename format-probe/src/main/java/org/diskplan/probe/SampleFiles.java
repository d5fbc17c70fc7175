package org.diskplan.probe;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

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

    /** ⌈a / b⌉ for non-negative a and positive b. */
    public static long ceilDiv(long a, long b) {
        return a == 0 ? 0 : (a - 1) / b + 1;
    }
}
