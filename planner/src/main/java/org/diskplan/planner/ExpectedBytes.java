package org.diskplan.planner;

/**
 * Bytes a plan was built from. The applier re-reads them before the first write
 * and refuses if the file no longer holds them.
 */
public record ExpectedBytes(long offset, byte[] bytes, String what) {
    public ExpectedBytes {
        bytes = bytes.clone();
    }

    @Override
    public byte[] bytes() {
        return bytes.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ExpectedBytes e && e.offset == offset && java.util.Arrays.equals(e.bytes, bytes)
                && e.what.equals(what);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(offset) * 31 + java.util.Arrays.hashCode(bytes);
    }
}
