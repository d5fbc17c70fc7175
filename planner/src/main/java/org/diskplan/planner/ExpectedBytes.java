package org.diskplan.planner;

import java.util.Objects;
import java.util.zip.CRC32C;

/**
 * A range a plan was built from: what the planner (and the probe before it) read,
 * kept as its CRC-32C. The applier re-reads every one before the first write and
 * refuses if any differs, so a plan made earlier is never applied to a changed file.
 *
 * @param file   an index into the plan's files
 * @param what   the structure read ("L2 table", "refcount block"), for the refusal
 */
public record ExpectedBytes(int file, long offset, int length, int crc32c, String what) {
    public ExpectedBytes {
        Objects.requireNonNull(what, "what");
        if (file < 0 || offset < 0 || length < 0) {
            throw new IllegalArgumentException("bad expected range " + file + ":" + offset + "+" + length);
        }
    }

    /** The record for {@code bytes} read at {@code offset} of {@code file}. */
    public static ExpectedBytes of(int file, long offset, byte[] bytes, int length, String what) {
        return new ExpectedBytes(file, offset, length, crc(bytes, 0, length), what);
    }

    public static int crc(byte[] bytes, int from, int length) {
        CRC32C crc = new CRC32C();
        crc.update(bytes, from, length);
        return (int) crc.getValue();
    }

    public long end() {
        return offset + length;
    }
}
