package org.diskplan.planner;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Objects;
import org.diskplan.probe.RegionKind;

/**
 * One byte-level change of a {@link ResizePlan}, applied in order. Every patch names
 * its target, an index into {@link ResizePlan#files()} (0 is the image). Every patch
 * starts at or before its target's end at the moment it is applied, except an overwrite
 * (a {@link Write} without {@code append}), which may start past it: the gap becomes a
 * hole that reads as zeros, and the bytes land in the same step (one pwrite). That is how
 * a fixed VHD's footer reaches the new end of the file without a step after which the
 * file ends in zeros. An append or an extension starts exactly at the end.
 */
public sealed interface ResizePatch permits ResizePatch.Write, ResizePatch.ZeroFill, ResizePatch.Extend,
        ResizePatch.Copy {

    /** The image file itself. */
    int IMAGE = 0;

    /** The target file: an index into the plan's files. */
    int file();

    long offset();

    long length();

    /** A short human description ("qcow2 header: size"). */
    String label();

    /** What the patch touches, for colouring and for the layout map. */
    RegionKind region();

    PatchKind kind();

    default long end() {
        return offset() + length();
    }

    /** Whether it must start exactly at its target's end. */
    default boolean atEnd() {
        return kind() == PatchKind.APPEND || kind() == PatchKind.EXTEND;
    }

    /** Whether it may start past its target's end (an overwrite: the gap reads as zeros). */
    default boolean mayStartPastEnd() {
        return kind() == PatchKind.WRITE;
    }

    /** Whether it may start at {@code offset} of a target that is {@code end} bytes long then. */
    default boolean startsValidly(long end) {
        return atEnd() ? offset() == end : offset() <= end || mayStartPastEnd();
    }

    /**
     * Writes {@code data} at {@code offset}: an overwrite (which may run past the end, or
     * start past it, the gap then reading as zeros), or with {@code append} an addition
     * exactly at the end.
     */
    record Write(int file, long offset, byte[] data, boolean append, String label, RegionKind region)
            implements ResizePatch {
        public Write {
            Objects.requireNonNull(label, "label");
            Objects.requireNonNull(region, "region");
            if (file < 0 || offset < 0 || data.length == 0) {
                throw new IllegalArgumentException("bad patch " + file + ":" + offset + "+" + data.length + " (" + label
                        + ")");
            }
            data = data.clone();
        }

        /** An overwrite of the image. */
        public Write(long offset, byte[] data, String label, RegionKind region) {
            this(IMAGE, offset, data, false, label, region);
        }

        /** An append to the image. */
        public static Write append(long offset, byte[] data, String label, RegionKind region) {
            return new Write(IMAGE, offset, data, true, label, region);
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
        public PatchKind kind() {
            return append ? PatchKind.APPEND : PatchKind.WRITE;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Write w && w.file == file && w.offset == offset && w.append == append
                    && Arrays.equals(w.data, data) && w.label.equals(label) && w.region == region;
        }

        @Override
        public int hashCode() {
            return Objects.hash(file, offset, append, Arrays.hashCode(data), label, region);
        }

        @Override
        public String toString() {
            return (append ? "Append[" : "Write[") + file + ":" + offset + "+" + data.length + " " + label + "]";
        }
    }

    /**
     * Makes {@code [offset, offset + length)} read as zeros, allocated: zeros written, or
     * with {@code reserve} the blocks reserved with posix_fallocate (zeros written where the
     * file system cannot). Either may extend the file.
     */
    record ZeroFill(int file, long offset, long length, boolean reserve, String label, RegionKind region)
            implements ResizePatch {
        public ZeroFill {
            checkRange(file, offset, length, label, region);
        }

        public ZeroFill(long offset, long length, boolean reserve, String label, RegionKind region) {
            this(IMAGE, offset, length, reserve, label, region);
        }

        @Override
        public PatchKind kind() {
            return reserve ? PatchKind.RESERVE : PatchKind.ZERO_FILL;
        }
    }

    /**
     * Lengthens the target from its end ({@code offset}) by {@code length} without writing:
     * the new range is a hole that reads as zeros and stays sparse.
     */
    record Extend(int file, long offset, long length, String label, RegionKind region) implements ResizePatch {
        public Extend {
            checkRange(file, offset, length, label, region);
        }

        public Extend(long offset, long length, String label, RegionKind region) {
            this(IMAGE, offset, length, label, region);
        }

        @Override
        public PatchKind kind() {
            return PatchKind.EXTEND;
        }
    }

    /**
     * Copies {@code length} bytes from {@code source} of file {@code sourceFile} to
     * {@code offset} of {@code file}, reading them when the step runs: a block move. The
     * planner never holds guest data; what is copied is what the file holds at that moment.
     */
    record Copy(int file, long offset, int sourceFile, long source, long length, String label, RegionKind region)
            implements ResizePatch {
        public Copy {
            checkRange(file, offset, length, label, region);
            if (sourceFile < 0 || source < 0 || source + length < 0) {
                throw new IllegalArgumentException("bad copy source " + sourceFile + ":" + source + " (" + label + ")");
            }
        }

        public long sourceEnd() {
            return source + length;
        }

        @Override
        public PatchKind kind() {
            return PatchKind.COPY;
        }
    }

    private static void checkRange(int file, long offset, long length, String label, RegionKind region) {
        Objects.requireNonNull(label, "label");
        Objects.requireNonNull(region, "region");
        if (file < 0 || offset < 0 || length <= 0 || offset + length < 0) {
            throw new IllegalArgumentException("bad range " + file + ":" + offset + "+" + length + " (" + label + ")");
        }
    }
}
