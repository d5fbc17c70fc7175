package org.diskplan.probe;

import java.util.List;
import java.util.Objects;

/**
 * Which guest bytes of a range the image maps to data, read from its block map
 * (a read-only view; see {@link GuestAllocations#of}).
 */
public sealed interface GuestAllocation permits GuestAllocation.Known, GuestAllocation.Unknown {

    /** The guest range asked about: {@code [from, to)}. */
    long from();

    long to();

    /** A guest byte range {@code [start, end)}. */
    record Range(long start, long end) {
        public Range {
            if (start < 0 || end < start) {
                throw new IllegalArgumentException("bad range " + start + ".." + end);
            }
        }

        public long length() {
            return end - start;
        }
    }

    /**
     * The block map was read.
     *
     * @param from      first guest byte asked about
     * @param to        first guest byte after the range asked about
     * @param bytes     exact count of mapped guest bytes in {@code [from, to)}
     * @param ranges    the mapped ranges in guest order, each inside {@code [from, to)}; at most
     *                  {@link GuestAllocations#MAX_RANGES}, so close ranges may have been merged
     *                  across unmapped gaps (then {@code merged} is true)
     * @param merged    whether some range covers unmapped bytes because the list was capped
     */
    record Known(long from, long to, long bytes, List<Range> ranges, boolean merged) implements GuestAllocation {
        public Known {
            ranges = List.copyOf(ranges);
        }

        /** First mapped guest byte, -1 when none. */
        public long first() {
            return ranges.isEmpty() ? -1 : ranges.get(0).start();
        }

        /** First guest byte after the last mapped one, -1 when none. */
        public long end() {
            return ranges.isEmpty() ? -1 : ranges.get(ranges.size() - 1).end();
        }
    }

    /**
     * The image does not say (a raw or fixed image maps every byte; a format whose map
     * DiskPlan does not read; a map that could not be read): every byte may hold data.
     *
     * @param reason why, in a sentence fragment ("raw images have no block map")
     */
    record Unknown(long from, long to, String reason) implements GuestAllocation {
        public Unknown {
            Objects.requireNonNull(reason, "reason");
        }
    }
}
