package org.diskplan.probe;

import java.util.ArrayList;
import java.util.List;

/**
 * Collects the structures found in a file and turns them into a layout map that
 * covers the whole file: sorted, overlaps clipped (first come wins at the same
 * start), gaps labelled, adjacent runs merged, and at most about
 * {@link #MAX_REGIONS} regions. Used by the cluster formats (qcow, QED, qcow2), whose
 * probes add one run per table or cluster class as they walk the tables.
 */
public final class RunLayout {
    public static final int MAX_REGIONS = 10_000;
    public static final int MAX_RUNS = 1_000_000;

    private final long fileSize;
    private final List<long[]> runs = new ArrayList<>();
    private final List<RegionKind> kinds = new ArrayList<>();
    private final List<String> labels = new ArrayList<>();
    private boolean truncated;
    private long overlaps;

    public RunLayout(long fileSize) {
        this.fileSize = fileSize;
    }

    public boolean truncated() {
        return truncated;
    }

    public long overlaps() {
        return overlaps;
    }

    /** Adds {@code [start, start + len)}, clipped to the file, merged with the previous run when adjacent. */
    public void add(long start, long len, RegionKind kind, String label) {
        if (len <= 0 || start < 0 || start >= fileSize) {
            return;
        }
        long end = fileSize - start < len ? fileSize : start + len;
        int last = runs.size() - 1;
        if (last >= 0 && runs.get(last)[1] == start && kinds.get(last) == kind && labels.get(last).equals(label)) {
            runs.get(last)[1] = end;
            return;
        }
        if (runs.size() >= MAX_RUNS) {
            truncated = true;
            return;
        }
        runs.add(new long[] {start, end, runs.size()});
        kinds.add(kind);
        labels.add(label);
    }

    public List<LayoutRegion> build(RegionKind gapKind, String gapLabel) {
        List<long[]> sorted = new ArrayList<>(runs);
        sorted.sort((a, b) -> a[0] != b[0] ? Long.compare(a[0], b[0]) : Long.compare(a[2], b[2]));
        List<LayoutRegion> out = new ArrayList<>();
        long pos = 0;
        for (long[] r : sorted) {
            long s = r[0];
            long e = r[1];
            RegionKind kind = kinds.get((int) r[2]);
            if (s < pos) {
                if (out.isEmpty() || out.get(out.size() - 1).kind() != kind) {
                    overlaps++;
                }
                s = pos;
            }
            if (e <= s) {
                continue;
            }
            if (s > pos) {
                append(out, new LayoutRegion(gapKind, pos, s - pos, gapLabel));
            }
            append(out, new LayoutRegion(kind, s, e - s, labels.get((int) r[2])));
            pos = e;
        }
        if (pos < fileSize) {
            append(out, new LayoutRegion(gapKind, pos, fileSize - pos, gapLabel));
        }
        return coalesce(out, fileSize, 1);
    }

    /** Adds {@code r} to a sorted map, merged into the last region when it continues it (same kind and label). */
    public static void append(List<LayoutRegion> out, LayoutRegion r) {
        if (r.length() == 0) {
            return;
        }
        if (!out.isEmpty()) {
            LayoutRegion last = out.get(out.size() - 1);
            if (last.end() == r.offset() && last.kind() == r.kind() && last.label().equals(r.label())) {
                out.set(out.size() - 1, new LayoutRegion(r.kind(), last.offset(), last.length() + r.length(),
                        r.label()));
                return;
            }
        }
        out.add(r);
    }

    /**
     * Merges runs of small regions until at most about MAX_REGIONS remain; a merged
     * region is at least {@code minGranule} bytes (a cluster, say) and takes the kind
     * that holds most of its bytes.
     */
    public static List<LayoutRegion> coalesce(List<LayoutRegion> in, long fileSize, long minGranule) {
        if (in.size() <= MAX_REGIONS) {
            return in;
        }
        long granule = Math.max(minGranule, fileSize / (MAX_REGIONS / 2) + 1);
        List<LayoutRegion> out = new ArrayList<>();
        int i = 0;
        while (i < in.size()) {
            LayoutRegion r = in.get(i);
            if (r.length() >= granule) {
                out.add(r);
                i++;
                continue;
            }
            long start = r.offset();
            long[] byKind = new long[RegionKind.values().length];
            long end = start;
            int n = 0;
            while (i < in.size() && in.get(i).length() < granule && end - start < granule) {
                LayoutRegion x = in.get(i);
                byKind[x.kind().ordinal()] += x.length();
                end = x.end();
                n++;
                i++;
            }
            if (n == 1) {
                out.add(r);
                continue;
            }
            int best = 0;
            StringBuilder label = new StringBuilder("mixed: ");
            boolean first = true;
            for (RegionKind k : RegionKind.values()) {
                long b = byKind[k.ordinal()];
                if (b > byKind[best]) {
                    best = k.ordinal();
                }
                if (b > 0) {
                    label.append(first ? "" : ", ").append(k.jsonName()).append(' ').append(b);
                    first = false;
                }
            }
            out.add(new LayoutRegion(RegionKind.values()[best], start, end - start, label.append(" bytes").toString()));
        }
        return out;
    }
}
