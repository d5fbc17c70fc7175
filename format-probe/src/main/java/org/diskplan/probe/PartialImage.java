package org.diskplan.probe;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.diskplan.abi.ImageFormat;

/**
 * What a probe had parsed of a damaged image when it failed: for an inspector to show, never
 * for a planner (it has no {@link FormatHeader}, so it cannot be resized). Carried by
 * {@link ProbeException#partial()}.
 *
 * @param path     the image file
 * @param format   the detected format
 * @param fileSize the length of the file in bytes
 * @param fields   every field read before the failure, groups in file order
 * @param regions  the structures those fields lie in (one region per group)
 * @param badField index in {@code fields} of the field the failure names, -1 when it was not read
 */
public record PartialImage(Path path, ImageFormat format, long fileSize, List<HeaderField> fields,
                           List<LayoutRegion> regions, int badField) {
    // No lambdas or streams here: info of a damaged image runs this on its start-up path (see ReadWatch / issue 20).

    public PartialImage {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(format, "format");
        fields = List.copyOf(fields);
        regions = List.copyOf(regions);
        if (badField < -1 || badField >= fields.size()) {
            throw new IllegalArgumentException("bad field index " + badField);
        }
    }

    /** The field the failure names, if the probe had read it. */
    public Optional<HeaderField> bad() {
        return badField < 0 ? Optional.empty() : Optional.of(fields.get(badField));
    }

    /** Field groups by the offset of their first field. */
    private static final class ByFirstOffset implements Comparator<List<HeaderField>> {
        @Override
        public int compare(List<HeaderField> a, List<HeaderField> b) {
            return Long.compare(a.get(0).offset(), b.get(0).offset());
        }
    }

    /** Group spans by where they start. */
    private static final class BySpanStart implements Comparator<Map.Entry<String, long[]>> {
        @Override
        public int compare(Map.Entry<String, long[]> a, Map.Entry<String, long[]> b) {
            return Long.compare(a.getValue()[0], b.getValue()[0]);
        }
    }

    /** Builds the partial result from the fields collected before {@code failure}. */
    static PartialImage of(Path path, ImageFormat format, long fileSize, List<List<HeaderField>> sinks,
                           ProbeException failure) {
        List<List<HeaderField>> groups = new ArrayList<>();
        for (List<HeaderField> s : sinks) {
            if (!s.isEmpty()) {
                groups.add(s);
            }
        }
        groups.sort(new ByFirstOffset());
        List<HeaderField> fields = new ArrayList<>();
        for (List<HeaderField> g : groups) {
            fields.addAll(g);
        }
        return new PartialImage(path, format, fileSize, fields, regions(fields, fileSize), badIndex(fields, failure));
    }

    /** The field named by the failure at its offset; else one named so whose bytes hold the offset. */
    private static int badIndex(List<HeaderField> fields, ProbeException failure) {
        int holding = -1;
        for (int i = fields.size() - 1; i >= 0; i--) {
            HeaderField f = fields.get(i);
            if (!f.name().equals(failure.field())) {
                continue;
            }
            if (f.offset() == failure.offset()) {
                return i;
            }
            if (holding < 0 && failure.offset() >= f.offset() && failure.offset() < f.offset() + f.length()) {
                holding = i;
            }
        }
        return holding;
    }

    /** One header region per group of fields, clipped to the file and to each other. */
    private static List<LayoutRegion> regions(List<HeaderField> fields, long fileSize) {
        Map<String, long[]> spans = new LinkedHashMap<>();
        for (HeaderField f : fields) {
            if (f.length() == 0) {
                continue;
            }
            long[] s = spans.get(f.group());
            if (s == null) {
                s = new long[] {f.offset(), f.offset() + f.length()};
                spans.put(f.group(), s);
            }
            s[0] = Math.min(s[0], f.offset());
            s[1] = Math.max(s[1], f.offset() + f.length());
        }
        List<Map.Entry<String, long[]>> sorted = new ArrayList<>(spans.entrySet());
        sorted.sort(new BySpanStart());
        List<LayoutRegion> out = new ArrayList<>();
        long pos = 0;
        for (Map.Entry<String, long[]> e : sorted) {
            long start = Math.max(pos, e.getValue()[0]);
            long end = Math.min(fileSize, e.getValue()[1]);
            if (end > start) {
                out.add(new LayoutRegion(RegionKind.HEADER, start, end - start, e.getKey()));
                pos = end;
            }
        }
        return out;
    }
}
