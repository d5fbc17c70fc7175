package org.diskplan.probe;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * {@link ImageReader} over a file opened read-only. Opening and every read are watched
 * ({@link ReadWatch}): a file that never answers fails the command after its deadline.
 */
public final class FileImageReader implements ImageReader {
    private final Path path;
    private final FileChannel channel;
    private final long size;

    FileImageReader(Path path, FileChannel channel) throws IOException {
        this.path = path;
        this.channel = channel;
        this.size = channel.size();
    }

    /** Opens {@code path} read-only; refuses (before opening) anything {@link FileKind#refusalToRead} refuses. */
    public static FileImageReader open(Path path) throws IOException {
        Object watch = ReadWatch.begin(path, -1);
        FileImageReader reader;
        try {
            java.util.Optional<String> refusal = FileKind.refusalToRead(path);
            if (refusal.isPresent()) {
                throw new IOException(refusal.get());
            }
            reader = new FileImageReader(path, FileChannel.open(path, StandardOpenOption.READ));
        } finally {
            ReadWatch.end(watch);
        }
        return reader;
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public void readFullyUnchecked(long offset, byte[] into, int length) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap(into, 0, length);
        long pos = offset;
        Object watch = ReadWatch.begin(path, offset);
        try {
            while (buf.hasRemaining()) {
                int n = channel.read(buf, pos);
                if (n < 0) {
                    throw new IOException("unexpected end of file at offset " + pos);
                }
                pos += n;
            }
        } finally {
            ReadWatch.end(watch);
        }
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
