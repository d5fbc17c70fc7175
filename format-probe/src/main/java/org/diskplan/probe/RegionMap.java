package org.diskplan.probe;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Builds a layout map covering {@code [0, fileSize)}: structures first (header, tables), then
 * data runs in whatever space the structures leave; gaps are filled with one kind. Regions that
 * reach past the file end are clipped, overlaps are trimmed (and counted), and the result never
 * holds more than {@link #MAX_REGIONS} regions.
 */
public final class RegionMap {
    // No lambdas or streams here: this class runs on every command's start-up path (see ReadWatch / issue 20).

    /** Regions by offset. */
    private static final Comparator<LayoutRegion> BY_OFFSET = new Comparator<>() {
        @Override
        public int compare(LayoutRegion a, LayoutRegion b) {
            return Long.compare(a.offset(), b.offset());
        }
    };

    public static final int MAX_REGIONS = 10_000;
    /** Runs per coalesced table or data class; keeps the total well below {@link #MAX_REGIONS}. */
    public static final int MAX_RUNS = 2_000;

    private final long fileSize;
    private final List<LayoutRegion> structures = new ArrayList<>();
    private final List<LayoutRegion> data = new ArrayList<>();
    private int overlaps;

    public RegionMap(long fileSize) {
        this.fileSize = fileSize;
    }

    public void structure(RegionKind kind, long offset, long length, String label) {
        add(structures, kind, offset, length, label);
    }

    public void data(RegionKind kind, long offset, long length, String label) {
        add(data, kind, offset, length, label);
    }

    private void add(List<LayoutRegion> to, RegionKind kind, long offset, long length, String label) {
        if (offset < 0 || length <= 0 || offset >= fileSize) {
            return;
        }
        long len = Math.min(length, fileSize - offset);
        to.add(new LayoutRegion(kind, offset, len, label));
    }

    /** Structures that overlapped one another (after trimming). */
    public int overlaps() {
        return overlaps;
    }

    public List<LayoutRegion> build(RegionKind gapKind, String gapLabel) {
        List<LayoutRegion> s = sweep(structures);
        List<LayoutRegion> d = subtract(sweep(data), s);
        List<LayoutRegion> all = new ArrayList<>(s.size() + d.size());
        all.addAll(s);
        all.addAll(d);
        all.sort(BY_OFFSET);
        List<LayoutRegion> out = new ArrayList<>();
        long pos = 0;
        for (LayoutRegion r : all) {
            if (r.offset() > pos) {
                append(out, new LayoutRegion(gapKind, pos, r.offset() - pos, gapLabel));
            }
            append(out, r);
            pos = r.end();
        }
        if (pos < fileSize) {
            append(out, new LayoutRegion(gapKind, pos, fileSize - pos, gapLabel));
        }
        return cap(out);
    }

    private static void append(List<LayoutRegion> out, LayoutRegion r) {
        if (!out.isEmpty()) {
            LayoutRegion last = out.get(out.size() - 1);
            if (last.kind() == r.kind() && last.label().equals(r.label()) && last.end() == r.offset()) {
                out.set(out.size() - 1, new LayoutRegion(r.kind(), last.offset(), last.length() + r.length(),
                        r.label()));
                return;
            }
        }
        out.add(r);
    }

    private List<LayoutRegion> sweep(List<LayoutRegion> in) {
        List<LayoutRegion> sorted = new ArrayList<>(in);
        sorted.sort(BY_OFFSET);
        List<LayoutRegion> out = new ArrayList<>();
        long end = 0;
        for (LayoutRegion r : sorted) {
            long start = Math.max(r.offset(), end);
            if (start >= r.end()) {
                overlaps++;
                continue;
            }
            if (start > r.offset()) {
                overlaps++;
            }
            out.add(new LayoutRegion(r.kind(), start, r.end() - start, r.label()));
            end = r.end();
        }
        return out;
    }

    /** The parts of {@code d} (sorted, disjoint) not covered by {@code s} (sorted, disjoint). */
    private static List<LayoutRegion> subtract(List<LayoutRegion> d, List<LayoutRegion> s) {
        List<LayoutRegion> out = new ArrayList<>();
        int j = 0;
        for (LayoutRegion r : d) {
            long pos = r.offset();
            while (j < s.size() && s.get(j).end() <= pos) {
                j++;
            }
            int k = j;
            while (pos < r.end()) {
                if (k >= s.size() || s.get(k).offset() >= r.end()) {
                    out.add(new LayoutRegion(r.kind(), pos, r.end() - pos, r.label()));
                    break;
                }
                LayoutRegion blocker = s.get(k);
                if (blocker.offset() > pos) {
                    out.add(new LayoutRegion(r.kind(), pos, blocker.offset() - pos, r.label()));
                }
                pos = Math.max(pos, blocker.end());
                k++;
            }
        }
        return out;
    }

    /** Last resort: fold neighbours together until the map is small enough. */
    private static List<LayoutRegion> cap(List<LayoutRegion> in) {
        if (in.size() <= MAX_REGIONS) {
            return in;
        }
        int per = (in.size() + MAX_REGIONS / 2 - 1) / (MAX_REGIONS / 2);
        List<LayoutRegion> out = new ArrayList<>();
        for (int i = 0; i < in.size(); i += per) {
            int to = Math.min(in.size(), i + per);
            LayoutRegion first = in.get(i);
            LayoutRegion last = in.get(to - 1);
            if (to - i == 1) {
                out.add(first);
                continue;
            }
            LayoutRegion biggest = first;
            for (int k = i; k < to; k++) {
                if (in.get(k).length() > biggest.length()) {
                    biggest = in.get(k);
                }
            }
            out.add(new LayoutRegion(biggest.kind(), first.offset(), last.end() - first.offset(),
                    "mixed: " + (to - i) + " small regions, mostly " + biggest.label()));
        }
        return out;
    }

    /**
     * Coalesces fixed-size units starting at {@code starts[0..n)} (sorted in place) into runs
     * {@code [start, end)}; when there are more than {@code limit} runs, runs separated by the
     * smallest gaps are merged until there are not.
     */
    public static List<long[]> runs(long[] starts, int n, long unit, int limit) {
        Arrays.sort(starts, 0, n);
        List<long[]> runs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            long s = starts[i];
            long e = s + unit;
            if (!runs.isEmpty() && runs.get(runs.size() - 1)[1] >= s) {
                long[] last = runs.get(runs.size() - 1);
                last[1] = Math.max(last[1], e);
            } else {
                runs.add(new long[] {s, e});
            }
        }
        long threshold = Math.max(1, unit);
        while (runs.size() > limit && threshold > 0) {
            List<long[]> merged = new ArrayList<>();
            for (long[] r : runs) {
                if (!merged.isEmpty() && r[0] - merged.get(merged.size() - 1)[1] <= threshold) {
                    merged.get(merged.size() - 1)[1] = r[1];
                } else {
                    merged.add(r);
                }
            }
            runs = merged;
            threshold = threshold > Long.MAX_VALUE / 2 ? Long.MAX_VALUE : threshold * 2;
            if (threshold == Long.MAX_VALUE && runs.size() > limit) {
                break;
            }
        }
        return runs;
    }

    /**
     * Like {@link #runs} for units of varying size: each value is {@code startSector << 31 | lengthSectors}
     * (start sector below 2^32, length below 2^31). Returns byte ranges.
     */
    public static List<long[]> runsPacked(long[] packed, int n, int limit) {
        Arrays.sort(packed, 0, n);
        List<long[]> runs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            long s = (packed[i] >>> 31) * 512;
            long e = s + (packed[i] & 0x7fffffffL) * 512;
            if (!runs.isEmpty() && runs.get(runs.size() - 1)[1] >= s) {
                long[] last = runs.get(runs.size() - 1);
                last[1] = Math.max(last[1], e);
            } else {
                runs.add(new long[] {s, e});
            }
        }
        if (runs.size() <= limit) {
            return runs;
        }
        // Too many runs: merge neighbours across ever larger gaps.
        long threshold = 512;
        while (runs.size() > limit) {
            List<long[]> merged = new ArrayList<>();
            for (long[] r : runs) {
                if (!merged.isEmpty() && r[0] - merged.get(merged.size() - 1)[1] <= threshold) {
                    long[] last = merged.get(merged.size() - 1);
                    last[1] = Math.max(last[1], r[1]);
                } else {
                    merged.add(r);
                }
            }
            runs = merged;
            if (threshold > Long.MAX_VALUE / 2) {
                break;
            }
            threshold *= 2;
        }
        return runs;
    }
}
