package org.diskplan.planner.apply;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.diskplan.probe.ReadWatch;

/** Small positional I/O helpers shared by the applier and the journal. */
final class Io {
    static final int CHUNK = 1 << 20;

    private Io() {
    }

    static void readFully(FileChannel ch, long offset, byte[] into, int length) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap(into, 0, length);
        long pos = offset;
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos);
            if (n < 0) {
                throw new IOException("unexpected end of file at offset " + pos);
            }
            pos += n;
        }
    }

    /** {@link #readFully} of the file {@code file}, watched ({@link ReadWatch}): a read that never answers fails the command. */
    static void readFully(Path file, FileChannel ch, long offset, byte[] into, int length) throws IOException {
        Object watch = ReadWatch.begin(file, offset);
        try {
            readFully(ch, offset, into, length);
        } finally {
            ReadWatch.end(watch);
        }
    }

    /** Opens {@code file} to read it, watched like a read at offset -1 (an open on a mount that never answers). */
    static FileChannel openWatched(Path file) throws IOException {
        Object watch = ReadWatch.begin(file, -1);
        try {
            return FileChannel.open(file, StandardOpenOption.READ);
        } finally {
            ReadWatch.end(watch);
        }
    }

    static void writeFully(FileChannel ch, long offset, ByteBuffer buf) throws IOException {
        long pos = offset;
        while (buf.hasRemaining()) {
            pos += ch.write(buf, pos);
        }
    }

    /** fsync of a directory, so a rename or a delete in it is durable. */
    static void syncDirectory(Path dir) {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException | UnsupportedOperationException ignored) {
            // not every platform can open a directory; the data itself was synced
        }
    }
}
