package org.diskplan.probe;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** {@link ImageReader} over a file opened read-only. */
public final class FileImageReader implements ImageReader {
    private final FileChannel channel;
    private final long size;

    private FileImageReader(FileChannel channel) throws IOException {
        this.channel = channel;
        this.size = channel.size();
    }

    /** Opens {@code path} read-only; refuses (before opening) anything {@link FileKind#refusalToRead} refuses. */
    public static FileImageReader open(Path path) throws IOException {
        java.util.Optional<String> refusal = FileKind.refusalToRead(path);
        if (refusal.isPresent()) {
            throw new IOException(refusal.get());
        }
        return new FileImageReader(FileChannel.open(path, StandardOpenOption.READ));
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public void readFullyUnchecked(long offset, byte[] into, int length) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap(into, 0, length);
        long pos = offset;
        while (buf.hasRemaining()) {
            int n = channel.read(buf, pos);
            if (n < 0) {
                throw new IOException("unexpected end of file at offset " + pos);
            }
            pos += n;
        }
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
