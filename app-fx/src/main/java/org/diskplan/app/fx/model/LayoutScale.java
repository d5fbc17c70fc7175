package org.diskplan.app.fx.model;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.diskplan.probe.LayoutRegion;
import org.diskplan.probe.RegionKind;

/**
 * Where each stretch of a file goes on a bar {@code width} pixels wide: a segmented
 * scale on which every region is at least {@link #MIN} pixels wide (an 8-byte table
 * next to gigabytes of data stays visible) and the rest of the width is shared in
 * proportion to the bytes. Stretches no region covers are gaps ({@code kind == null}).
 * Adjacent regions of one kind are merged first; when even then every segment cannot
 * get {@link #MIN} pixels, the minimum shrinks to fit.
 */
public final class LayoutScale {
    public static final double MIN = 6;
    static final int MAX_MARKED_STEPS = 2000;

    /** One stretch of the file and its place on the bar. */
    public record Segment(RegionKind kind, long offset, long length, String label, double x, double width) {
        public long end() {
            return offset + length;
        }
    }

    private final List<Segment> segments;
    private final long fileSize;
    private final double width;

    private LayoutScale(List<Segment> segments, long fileSize, double width) {
        this.segments = List.copyOf(segments);
        this.fileSize = fileSize;
        this.width = width;
    }

    public List<Segment> segments() {
        return segments;
    }

    public long fileSize() {
        return fileSize;
    }

    /** Lays {@code regions} of a {@code fileSize}-byte file out on {@code width} pixels. */
    public static LayoutScale of(List<LayoutRegion> regions, long fileSize, double width) {
        List<long[]> spans = new ArrayList<>(); // offset, length
        List<RegionKind> kinds = new ArrayList<>();
        List<String> labels = new ArrayList<>();
        List<LayoutRegion> sorted = new ArrayList<>(regions);
        sorted.sort(Comparator.comparingLong(LayoutRegion::offset));
        long cursor = 0;
        for (LayoutRegion r : sorted) {
            long start = Math.max(cursor, r.offset());
            long end = Math.min(fileSize, r.end());
            if (end <= start) {
                continue;
            }
            if (start > cursor) {
                add(spans, kinds, labels, null, cursor, start - cursor, "");
            }
            add(spans, kinds, labels, r.kind(), start, end - start, r.label());
            cursor = end;
        }
        if (cursor < fileSize) {
            add(spans, kinds, labels, null, cursor, fileSize - cursor, "");
        }
        int n = spans.size();
        double[] w = widths(spans, Math.max(0, width));
        List<Segment> out = new ArrayList<>(n);
        double x = 0;
        for (int i = 0; i < n; i++) {
            out.add(new Segment(kinds.get(i), spans.get(i)[0], spans.get(i)[1], labels.get(i), x, w[i]));
            x += w[i];
        }
        return new LayoutScale(out, fileSize, width);
    }

    private static void add(List<long[]> spans, List<RegionKind> kinds, List<String> labels, RegionKind kind,
                            long offset, long length, String label) {
        int last = spans.size() - 1;
        if (last >= 0 && kinds.get(last) == kind && spans.get(last)[0] + spans.get(last)[1] == offset) {
            spans.get(last)[1] += length;
            if (!labels.get(last).equals(label)) {
                labels.set(last, kind == null ? "" : kind.jsonName() + " (several)");
            }
            return;
        }
        spans.add(new long[] {offset, length});
        kinds.add(kind);
        labels.add(label);
    }

    /** Widths summing to {@code width}: each at least the minimum, the rest by bytes. */
    static double[] widths(List<long[]> spans, double width) {
        int n = spans.size();
        double[] w = new double[n];
        if (n == 0) {
            return w;
        }
        double min = Math.min(MIN, width / n);
        boolean[] fixed = new boolean[n];
        boolean again = true;
        while (again) {
            again = false;
            double free = width;
            double bytes = 0;
            for (int i = 0; i < n; i++) {
                if (fixed[i]) {
                    free -= min;
                } else {
                    bytes += spans.get(i)[1];
                }
            }
            double scale = bytes == 0 ? 0 : Math.max(0, free) / bytes;
            for (int i = 0; i < n; i++) {
                if (!fixed[i]) {
                    w[i] = spans.get(i)[1] * scale;
                    if (w[i] < min) {
                        fixed[i] = true;
                        again = true;
                    }
                } else {
                    w[i] = min;
                }
            }
        }
        return w;
    }

    /** The x of a file offset (linear inside its segment). */
    public double x(long offset) {
        for (Segment s : segments) {
            if (offset < s.end()) {
                return s.x() + (offset <= s.offset() ? 0 : (double) (offset - s.offset()) / s.length() * s.width());
            }
        }
        return width;
    }

    /** The segment under pixel {@code x}, if any. */
    public java.util.Optional<Segment> at(double x) {
        for (Segment s : segments) {
            if (x >= s.x() && x < s.x() + s.width()) {
                return java.util.Optional.of(s);
            }
        }
        return java.util.Optional.empty();
    }

    /** The file offset under pixel {@code x}. */
    public long offsetAt(double x) {
        return at(x).map(s -> s.offset() + (long) ((x - s.x()) / Math.max(1e-9, s.width()) * s.length()))
                .orElse(fileSize);
    }

    /**
     * The layout after a plan: the regions as they are, cut at the new end of the file,
     * with the range each step writes marked by the kind of region it writes.
     */
    public static List<LayoutRegion> after(List<LayoutRegion> now, org.diskplan.planner.ResizePlan plan) {
        long end = plan.newFileSize();
        List<LayoutRegion> out = new ArrayList<>();
        for (LayoutRegion r : now) {
            if (r.offset() < end) {
                out.add(new LayoutRegion(r.kind(), r.offset(), Math.min(r.end(), end) - r.offset(), r.label()));
            }
        }
        if (plan.patches().size() > MAX_MARKED_STEPS) {
            return out; // too many steps to lay over one by one: the regions, cut at the new end
        }
        for (org.diskplan.planner.ResizePatch p : plan.patches()) {
            if (p.file() != org.diskplan.planner.ResizePatch.IMAGE || p.offset() >= end) {
                continue;
            }
            long len = Math.min(p.offset() + p.length(), end) - p.offset();
            // a step's range replaces whatever lay there
            List<LayoutRegion> cut = new ArrayList<>();
            for (LayoutRegion r : out) {
                if (r.end() <= p.offset() || r.offset() >= p.offset() + len) {
                    cut.add(r);
                    continue;
                }
                if (r.offset() < p.offset()) {
                    cut.add(new LayoutRegion(r.kind(), r.offset(), p.offset() - r.offset(), r.label()));
                }
                if (r.end() > p.offset() + len) {
                    cut.add(new LayoutRegion(r.kind(), p.offset() + len, r.end() - p.offset() - len, r.label()));
                }
            }
            cut.add(new LayoutRegion(p.region(), p.offset(), len, p.label()));
            out = cut;
        }
        out.sort(Comparator.comparingLong(LayoutRegion::offset));
        return out;
    }
}
