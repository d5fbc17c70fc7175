package org.diskplan.probe;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;

/** Which guest bytes an image maps to data: the format's {@link GuestAllocationReader}, or unknown. */
public final class GuestAllocations {
    /** The most ranges a {@link GuestAllocation.Known} lists; closer ranges are merged beyond it. */
    public static final int MAX_RANGES = 64;

    private GuestAllocations() {
    }

    /** The mapped part of guest range {@code [from, to)}, clamped to the virtual size. Reads the file. */
    public static GuestAllocation of(ProbedImage image, long from, long to) {
        long end = Math.min(to, image.virtualSize());
        long start = Math.max(0, Math.min(from, end));
        for (GuestAllocationReader reader : ServiceLoader.load(GuestAllocationReader.class,
                GuestAllocations.class.getClassLoader())) {
            if (reader.reads(image)) {
                Collector c = new Collector(MAX_RANGES);
                try (FileChannel ch = FileChannel.open(image.path(), StandardOpenOption.READ)) {
                    reader.scan(image, ch, start, end, c);
                } catch (IOException e) {
                    return new GuestAllocation.Unknown(start, end, "the block map could not be read: "
                            + e.getMessage());
                }
                return c.result(start, end);
            }
        }
        return new GuestAllocation.Unknown(start, end, image.format().displayName() + " images of this kind "
                + "have no block map DiskPlan reads");
    }

    /**
     * Collects ranges in guest order, joining touching ones; past {@code max} ranges it
     * merges the two neighbours with the smallest gap, so memory stays bounded while the
     * byte count stays exact.
     */
    static final class Collector implements GuestAllocationReader.RangeSink {
        private final int max;
        private final List<long[]> ranges = new ArrayList<>();
        private long bytes;
        private boolean merged;

        Collector(int max) {
            this.max = max;
        }

        @Override
        public void mapped(long start, long end) {
            if (end <= start) {
                return;
            }
            bytes += end - start;
            if (!ranges.isEmpty() && ranges.get(ranges.size() - 1)[1] >= start) {
                long[] last = ranges.get(ranges.size() - 1);
                last[1] = Math.max(last[1], end);
                return;
            }
            ranges.add(new long[] {start, end});
            if (ranges.size() > max) {
                int best = 0;
                for (int i = 1; i + 1 < ranges.size(); i++) {
                    if (ranges.get(i + 1)[0] - ranges.get(i)[1] < ranges.get(best + 1)[0] - ranges.get(best)[1]) {
                        best = i;
                    }
                }
                ranges.get(best)[1] = ranges.remove(best + 1)[1];
                merged = true;
            }
        }

        GuestAllocation.Known result(long from, long to) {
            return new GuestAllocation.Known(from, to, bytes,
                    ranges.stream().map(r -> new GuestAllocation.Range(r[0], r[1])).toList(), merged);
        }
    }
}
