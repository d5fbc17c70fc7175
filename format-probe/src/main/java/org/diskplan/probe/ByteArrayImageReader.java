package org.diskplan.probe;

import java.io.IOException;

/** {@link ImageReader} over bytes in memory (tests, fuzzing, samples). */
public final class ByteArrayImageReader implements ImageReader {
    private final byte[] bytes;

    public ByteArrayImageReader(byte[] bytes) {
        this(bytes.clone(), true);
    }

    private ByteArrayImageReader(byte[] bytes, boolean owned) {
        this.bytes = bytes;
    }

    /** Reads {@code bytes} without copying them; the caller must not change them while reading. */
    public static ByteArrayImageReader wrap(byte[] bytes) {
        return new ByteArrayImageReader(bytes, true);
    }

    @Override
    public long size() {
        return bytes.length;
    }

    @Override
    public void readFullyUnchecked(long offset, byte[] into, int length) throws IOException {
        if (offset < 0 || offset + length > bytes.length) {
            throw new IOException("read past end");
        }
        System.arraycopy(bytes, (int) offset, into, 0, length);
    }
}
