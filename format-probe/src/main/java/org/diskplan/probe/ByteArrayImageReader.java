package org.diskplan.probe;

import java.io.IOException;

/** {@link ImageReader} over bytes in memory (tests, fuzzing, samples). */
public final class ByteArrayImageReader implements ImageReader {
    private final byte[] bytes;
    private final int length;

    public ByteArrayImageReader(byte[] bytes) {
        this(bytes.clone(), bytes.length);
    }

    private ByteArrayImageReader(byte[] bytes, int length) {
        if (length < 0 || length > bytes.length) {
            throw new IllegalArgumentException("length " + length + " outside 0.." + bytes.length);
        }
        this.bytes = bytes;
        this.length = length;
    }

    /** Reads {@code bytes} without copying them; the caller must not change them while reading. */
    public static ByteArrayImageReader wrap(byte[] bytes) {
        return new ByteArrayImageReader(bytes, bytes.length);
    }

    /** The first {@code length} bytes of {@code bytes}, as a file truncated there; no copy. */
    public static ByteArrayImageReader wrap(byte[] bytes, int length) {
        return new ByteArrayImageReader(bytes, length);
    }

    @Override
    public long size() {
        return length;
    }

    @Override
    public void readFullyUnchecked(long offset, byte[] into, int n) throws IOException {
        if (offset < 0 || offset + n > length) {
            throw new IOException("read past end");
        }
        System.arraycopy(bytes, (int) offset, into, 0, n);
    }
}
