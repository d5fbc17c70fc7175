package org.diskplan.planner;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.diskplan.abi.ErrorCode;
import org.diskplan.probe.ImageReader;
import org.diskplan.probe.ProbeException;

/**
 * What planners read through: the image (file 0) and any other file of the plan,
 * bounds-checked, with read errors turned into resize errors, and every range read
 * recorded (offset, length, CRC-32C) as {@link ExpectedBytes}. The probe reads through
 * {@link #probeView()} so that its reads are recorded too. The applier re-checks them
 * all before it writes: a plan is only ever applied to the bytes it was made from.
 */
public final class PlanReader {
    private record Key(int file, long offset, int length) {
        // Written out: a record's generated equals/hashCode bootstrap method handles at their
        // first call, which costs every resize start-up time (bench/startup.sh).
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && k.file == file && k.offset == offset && k.length == length;
        }

        @Override
        public int hashCode() {
            return (31 * file + Long.hashCode(offset)) * 31 + length;
        }
    }

    private final List<ImageReader> readers = new ArrayList<>();
    private final Map<Key, ExpectedBytes> reads = new LinkedHashMap<>();

    public PlanReader(ImageReader image) {
        readers.add(image);
    }

    /** Adds another file of the plan (in the order of the plan's files); returns its index. */
    public int addFile(ImageReader reader) {
        readers.add(reader);
        return readers.size() - 1;
    }

    /** The image's length. */
    public long size() {
        return readers.get(0).size();
    }

    public long size(int file) {
        return readers.get(file).size();
    }

    /** Reads {@code length} bytes of the image; {@code what} names the structure for errors and refusals. */
    public byte[] read(long offset, int length, String what) throws ResizeError {
        return read(ResizePatch.IMAGE, offset, length, what);
    }

    public byte[] read(int file, long offset, int length, String what) throws ResizeError {
        try {
            return recorded(file, offset, readers.get(file).read(offset, length, what), what);
        } catch (ProbeException e) {
            throw new ResizeError(e.code() == ErrorCode.READ_FAILED ? ErrorCode.READ_FAILED : ErrorCode.NEEDS_REPAIR,
                    e.getMessage());
        }
    }

    private byte[] recorded(int file, long offset, byte[] bytes, String what) {
        reads.putIfAbsent(new Key(file, offset, bytes.length),
                ExpectedBytes.of(file, offset, bytes, bytes.length, what));
        return bytes;
    }

    /** The image as an {@link ImageReader} whose reads are recorded too: give it to the probe. */
    public ImageReader probeView() {
        ImageReader image = readers.get(0);
        return new ImageReader() {
            @Override
            public long size() {
                return image.size();
            }

            @Override
            public void readFullyUnchecked(long offset, byte[] into, int length) throws IOException {
                image.readFullyUnchecked(offset, into, length);
                reads.putIfAbsent(new Key(ResizePatch.IMAGE, offset, length),
                        ExpectedBytes.of(ResizePatch.IMAGE, offset, into, length, "bytes the probe read"));
            }

            @Override
            public byte[] read(long offset, int length, String what) throws ProbeException {
                byte[] bytes = image.read(offset, length, what);
                return recorded(ResizePatch.IMAGE, offset, bytes, what);
            }
        };
    }

    /** Every range read so far, in the order first read. */
    public List<ExpectedBytes> expected() {
        return List.copyOf(reads.values());
    }
}
