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

    /** The most ranges a {@link HostRanges} lists; closer ranges are merged beyond it. */
    public static final int MAX_HOST_RANGES = 1024;

    /**
     * The file bytes that hold the data the image maps in guest range {@code [from, to)},
     * clamped to the virtual size: for a raw image the same bytes of the file, for an image
     * with a block map the blocks or clusters it maps there. Empty when the image does not
     * say ({@link GuestAllocation.Unknown}: no block map DiskPlan reads, or it could not be read).
     * Reads the file.
     */
    public static java.util.Optional<HostRanges> hosts(ProbedImage image, long from, long to) {
        long end = Math.min(to, image.virtualSize());
        long start = Math.max(0, Math.min(from, end));
        if (image.format() == org.diskplan.abi.ImageFormat.RAW) {
            long fileEnd = Math.min(end, image.fileSize());
            List<GuestAllocation.Range> r = fileEnd > start ? List.of(new GuestAllocation.Range(start, fileEnd))
                    : List.of();
            return java.util.Optional.of(new HostRanges(start, end, Math.max(0, fileEnd - start), r, false));
        }
        for (GuestAllocationReader reader : ServiceLoader.load(GuestAllocationReader.class,
                GuestAllocations.class.getClassLoader())) {
            if (reader.reads(image)) {
                HostCollector c = new HostCollector(MAX_HOST_RANGES);
                try (FileChannel ch = FileChannel.open(image.path(), StandardOpenOption.READ)) {
                    reader.scan(image, ch, start, end, c);
                } catch (IOException e) {
                    return java.util.Optional.empty();
                }
                return java.util.Optional.of(c.result(start, end));
            }
        }
        return java.util.Optional.empty();
    }

    /**
     * Collects the file ranges of mapped guest ranges, which come in guest order but not in
     * file order: in bounded memory, sorting and joining touching ones now and then, and past
     * {@code max} ranges merging across the smallest gaps.
     */
    static final class HostCollector implements GuestAllocationReader.RangeSink {
        private final int max;
        private final List<long[]> ranges = new ArrayList<>();
        private long bytes;
        private boolean merged;

        HostCollector(int max) {
            this.max = max;
        }

        @Override
        public void mapped(long start, long end) {
            throw new IllegalStateException("a reader reported a guest range without its file offset");
        }

        @Override
        public void mapped(long start, long end, long hostStart, long hostLength) {
            if (hostLength <= 0) {
                return;
            }
            bytes += hostLength;
            if (!ranges.isEmpty() && ranges.get(ranges.size() - 1)[1] == hostStart) {
                ranges.get(ranges.size() - 1)[1] = hostStart + hostLength;
                return;
            }
            ranges.add(new long[] {hostStart, hostStart + hostLength});
            if (ranges.size() > 8 * max) {
                compact();
            }
        }

        private void compact() {
            ranges.sort(java.util.Comparator.comparingLong(r -> r[0]));
            List<long[]> joined = new ArrayList<>();
            for (long[] r : ranges) {
                if (!joined.isEmpty() && joined.get(joined.size() - 1)[1] >= r[0]) {
                    long[] last = joined.get(joined.size() - 1);
                    last[1] = Math.max(last[1], r[1]);
                } else {
                    joined.add(r);
                }
            }
            if (joined.size() > max) {
                long[] gaps = new long[joined.size() - 1];
                for (int i = 0; i + 1 < joined.size(); i++) {
                    gaps[i] = joined.get(i + 1)[0] - joined.get(i)[1];
                }
                long[] sorted = gaps.clone();
                java.util.Arrays.sort(sorted);
                long limit = sorted[joined.size() - max - 1]; // merging every gap up to it leaves <= max
                List<long[]> out = new ArrayList<>();
                for (int i = 0; i < joined.size(); i++) {
                    if (i > 0 && gaps[i - 1] <= limit) {
                        out.get(out.size() - 1)[1] = joined.get(i)[1];
                    } else {
                        out.add(joined.get(i));
                    }
                }
                joined = out;
                merged = true;
            }
            ranges.clear();
            ranges.addAll(joined);
        }

        HostRanges result(long from, long to) {
            compact();
            return new HostRanges(from, to, bytes,
                    ranges.stream().map(r -> new GuestAllocation.Range(r[0], r[1])).toList(), merged);
        }
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
