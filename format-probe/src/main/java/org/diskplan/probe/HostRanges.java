package org.diskplan.probe;

import java.util.List;

/**
 * Where in the image file the data of a guest range lies: the file byte ranges that hold
 * the guest bytes a block map maps in {@code [from, to)} (see {@link GuestAllocations#hosts}).
 * For a layout map of the file, e.g. to mark what a shrink would cut.
 *
 * @param from   first guest byte asked about
 * @param to     first guest byte after the range asked about
 * @param bytes  file bytes holding that data (compressed extents count whole)
 * @param ranges file offset ranges in file order, touching ones joined; at most
 *               {@link GuestAllocations#MAX_HOST_RANGES}, so close ranges may have been merged
 *               across bytes that hold no data from the range (then {@code merged} is true)
 * @param merged whether some range covers other bytes because the list was capped
 */
public record HostRanges(long from, long to, long bytes, List<GuestAllocation.Range> ranges, boolean merged) {
    public HostRanges {
        ranges = List.copyOf(ranges);
    }
}
