package org.diskplan.probe;

import java.io.Closeable;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.diskplan.abi.ErrorCode;

/**
 * Read-only random access to an image. Every read is bounds-checked against the
 * file size before anything is allocated, so a hostile header can never make a
 * reader allocate more than the file holds.
 */
public interface ImageReader extends Closeable {

    /** Largest single read; bigger structures are read in pieces. */
    int MAX_READ = 64 << 20;

    long size();

    /** Reads exactly {@code length} bytes at {@code offset}, without bounds checks. */
    void readFullyUnchecked(long offset, byte[] into, int length) throws java.io.IOException;

    /**
     * Reads {@code length} bytes at {@code offset}; {@code what} names the structure
     * or field for the error message when the range is outside the file.
     */
    default byte[] read(long offset, int length, String what) throws ProbeException {
        if (length < 0 || length > MAX_READ) {
            throw new ProbeException(ErrorCode.PARSE_FAILED, what, offset,
                    what + " at offset " + offset + ": length " + length + " is outside 0.." + MAX_READ);
        }
        if (offset < 0 || offset > size() || size() - offset < length) {
            throw new ProbeException(ErrorCode.PARSE_FAILED, what, offset,
                    what + " at offset " + offset + " (" + length + " bytes) lies beyond the end of the file ("
                            + size() + " bytes): the file is truncated or the field is corrupt");
        }
        byte[] bytes = new byte[length];
        try {
            readFullyUnchecked(offset, bytes, length);
        } catch (java.io.IOException e) {
            throw new ProbeException(ErrorCode.READ_FAILED, what, offset,
                    "reading " + what + " at offset " + offset + " failed: " + e.getMessage());
        }
        return bytes;
    }

    default ByteBuffer readBuffer(long offset, int length, ByteOrder order, String what) throws ProbeException {
        return ByteBuffer.wrap(read(offset, length, what)).order(order);
    }

    @Override
    default void close() throws java.io.IOException {
    }
}
