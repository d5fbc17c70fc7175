package org.diskplan.probe;

import java.io.IOException;

/** {@link ImageReader} over bytes in memory (tests, fuzzing, samples). */
public final class ByteArrayImageReader implements ImageReader {
    private final byte[] bytes;

    public ByteArrayImageReader(byte[] bytes) {
        this.bytes = bytes.clone();
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
