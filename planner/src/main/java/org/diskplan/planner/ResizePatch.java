package org.diskplan.planner;

import java.nio.ByteBuffer;
import java.util.Objects;
import org.diskplan.probe.RegionKind;

/**
 * One byte-level change of a {@link ResizePlan}. Applied in order; every patch
 * starts at or before the file end at the moment it is applied, and an
 * {@link Append} starts exactly there.
 */
public sealed interface ResizePatch permits ResizePatch.Write, ResizePatch.Append, ResizePatch.ZeroFill {

    long offset();

    long length();

    /** A short human description ("qcow2 header: size"). */
    String label();

    /** What the patch touches, for colouring and for the layout map. */
    RegionKind region();

    /** The word the CLI and the JSON use: write, append or zero. */
    String kind();

    default long end() {
        return offset() + length();
    }

    /** Overwrites bytes inside the current file (it may run past the end). */
    record Write(long offset, byte[] data, String label, RegionKind region) implements ResizePatch {
        public Write {
            data = checked(offset, data, label, region);
        }

        @Override
        public long length() {
            return data.length;
        }

        @Override
        public byte[] data() {
            return data.clone();
        }

        /** The bytes without a copy, read-only. */
        public ByteBuffer dataView() {
            return ByteBuffer.wrap(data).asReadOnlyBuffer();
        }

        @Override
        public String kind() {
            return "write";
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Write w && w.offset == offset && java.util.Arrays.equals(w.data, data)
                    && w.label.equals(label) && w.region == region;
        }

        @Override
        public int hashCode() {
            return Objects.hash(offset, java.util.Arrays.hashCode(data), label, region);
        }

        @Override
        public String toString() {
            return "Write[" + offset + "+" + data.length + " " + label + "]";
        }
    }

    /** Adds bytes at the end of the file; {@code offset} must equal the file length when applied. */
    record Append(long offset, byte[] data, String label, RegionKind region) implements ResizePatch {
        public Append {
            data = checked(offset, data, label, region);
        }

        @Override
        public long length() {
            return data.length;
        }

        @Override
        public byte[] data() {
            return data.clone();
        }

        public ByteBuffer dataView() {
            return ByteBuffer.wrap(data).asReadOnlyBuffer();
        }

        @Override
        public String kind() {
            return "append";
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Append a && a.offset == offset && java.util.Arrays.equals(a.data, data)
                    && a.label.equals(label) && a.region == region;
        }

        @Override
        public int hashCode() {
            return Objects.hash(offset, java.util.Arrays.hashCode(data), label, region);
        }

        @Override
        public String toString() {
            return "Append[" + offset + "+" + data.length + " " + label + "]";
        }
    }

    /**
     * Makes {@code [offset, offset + length)} read as zeros. With {@link Mode#WRITE_ZEROS}
     * zeros are written (allocating the blocks); with {@link Mode#RESERVE} the blocks
     * are reserved with posix_fallocate, falling back to writing zeros where the
     * file system cannot. Either may extend the file. With {@link Mode#EXTEND} the range
     * must start exactly at the file end (as an {@link Append}): the file is lengthened
     * over it without writing, so it reads as zeros and stays sparse (a hole).
     */
    record ZeroFill(long offset, long length, Mode mode, String label, RegionKind region) implements ResizePatch {
        public enum Mode { WRITE_ZEROS, RESERVE, EXTEND }

        public ZeroFill {
            Objects.requireNonNull(mode, "mode");
            Objects.requireNonNull(label, "label");
            Objects.requireNonNull(region, "region");
            if (offset < 0 || length <= 0 || offset + length < 0) {
                throw new IllegalArgumentException("bad zero-fill range " + offset + "+" + length);
            }
        }

        @Override
        public String kind() {
            return "zero";
        }
    }

    private static byte[] checked(long offset, byte[] data, String label, RegionKind region) {
        Objects.requireNonNull(label, "label");
        Objects.requireNonNull(region, "region");
        if (offset < 0 || data.length == 0) {
            throw new IllegalArgumentException("bad patch " + offset + "+" + data.length + " (" + label + ")");
        }
        return data.clone();
    }
}
