package org.diskplan.planner.vmdk;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

// No lambdas or streams here: this class runs on the command line's start-up path (see ReadWatch / issue 20).
/**
 * Edits the text of a VMDK descriptor (embedded or a file of its own) for a resize: the
 * sector count of chosen extent lines, {@code ddb.geometry.cylinders} and the CID. Every
 * other line — comments, blank lines, unknown keys, {@code parentCID}, every other
 * {@code ddb.*} line — and every line ending is kept byte for byte; an edited line keeps
 * its spacing and quotes, only the number changes.
 */
public final class DescriptorEdit {
    // The lines are matched by hand, not with java.util.regex: its character classes link
    // lambdas at start-up. Whitespace is regex's \s ([ \t\n\x0B\f\r]), digits ASCII 0-9.

    private final List<String> lines = new ArrayList<>();

    /** The descriptor text, split into lines that keep their terminators. */
    public DescriptorEdit(String text) {
        int start = 0;
        for (int i = 0; i < text.length(); i++) {
            if (text.charAt(i) == '\n') {
                lines.add(text.substring(start, i + 1));
                start = i + 1;
            }
        }
        if (start < text.length()) {
            lines.add(text.substring(start));
        }
    }

    /** Sets the sector count of the extent on 1-based {@code lineNumber}. */
    public DescriptorEdit extentSectors(int lineNumber, long sectors) throws IllegalArgumentException {
        String line = line(lineNumber);
        Split m = extentLine(body(line));
        if (m == null) {
            throw new IllegalArgumentException("descriptor line " + lineNumber + " is not an extent line: " + line.strip());
        }
        lines.set(lineNumber - 1, m.head() + sectors + m.tail() + ending(line));
        return this;
    }

    /** Replaces the extent on 1-based {@code lineNumber} by {@code newLine} (no terminator: the old one is kept). */
    public DescriptorEdit replaceLine(int lineNumber, String newLine) {
        String line = line(lineNumber);
        lines.set(lineNumber - 1, newLine + ending(line));
        return this;
    }

    /** Inserts {@code newLine} after 1-based {@code lineNumber}, with that line's terminator. */
    public DescriptorEdit insertAfter(int lineNumber, String newLine) {
        String line = line(lineNumber);
        String end = ending(line).isEmpty() ? "\n" : ending(line);
        if (ending(line).isEmpty()) {
            lines.set(lineNumber - 1, line + end);
        }
        lines.add(lineNumber, newLine + end);
        return this;
    }

    /** Removes 1-based {@code lineNumber}. */
    public DescriptorEdit remove(int lineNumber) {
        line(lineNumber);
        lines.remove(lineNumber - 1);
        return this;
    }

    /**
     * Sets {@code ddb.geometry.cylinders} for a disk of {@code bytes}: whole cylinders of
     * {@code ddb.geometry.heads} × {@code ddb.geometry.sectors} sectors (qemu's formula);
     * the line is left alone when any of the three is missing. Returns the value set.
     */
    public OptionalLong cylinders(long bytes, Map<String, String> ddb) {
        Optional<Long> heads = number(ddb.get("ddb.geometry.heads"));
        Optional<Long> sectors = number(ddb.get("ddb.geometry.sectors"));
        if (heads.isEmpty() || sectors.isEmpty() || heads.get() == 0 || sectors.get() == 0) {
            return OptionalLong.empty();
        }
        long cylinders = bytes / (heads.get() * sectors.get() * 512);
        for (int i = 0; i < lines.size(); i++) {
            Split m = keyLine(body(lines.get(i)), "ddb.geometry.cylinders", true, false);
            if (m != null) {
                lines.set(i, m.head() + cylinders + m.tail() + ending(lines.get(i)));
                return OptionalLong.of(cylinders);
            }
        }
        return OptionalLong.empty();
    }

    /** Sets the {@code CID} line's value (8 hex digits); {@code parentCID} is another key and is kept. */
    public boolean cid(String cid) {
        for (int i = 0; i < lines.size(); i++) {
            Split m = keyLine(body(lines.get(i)), "CID", false, true);
            if (m != null) {
                lines.set(i, m.head() + cid + m.tail() + ending(lines.get(i)));
                return true;
            }
        }
        return false;
    }

    /**
     * A new random CID: as many hex digits as {@code old} has (qemu writes it without leading
     * zeros, so the descriptor keeps its length), 8 when {@code old} is not 1..8 hex digits; never
     * {@code old}, 0 or ffffffff (the parent "none").
     */
    public static String newCid(String old, java.util.random.RandomGenerator random) {
        String o = old.trim();
        int width = o.length() >= 1 && o.length() <= 8 && digitsEnd(o, 0, true) == o.length() ? o.length() : 8;
        long low = width == 1 ? 1 : 1L << (4 * (width - 1));
        long high = 1L << (4 * width);
        while (true) {
            long v = low + Math.floorMod(random.nextLong(), high - low);
            String s = Long.toHexString(v);
            if (v != 0xffffffffL && !s.equalsIgnoreCase(o)) {
                return s;
            }
        }
    }

    public String text() {
        return String.join("", lines);
    }

    public byte[] bytes() {
        return text().getBytes(StandardCharsets.ISO_8859_1);
    }

    private String line(int lineNumber) {
        if (lineNumber < 1 || lineNumber > lines.size()) {
            throw new IllegalArgumentException("descriptor has no line " + lineNumber);
        }
        return lines.get(lineNumber - 1);
    }

    private static String body(String line) {
        return line.substring(0, line.length() - ending(line).length());
    }

    private static String ending(String line) {
        if (line.endsWith("\r\n")) {
            return "\r\n";
        }
        return line.endsWith("\n") ? "\n" : "";
    }

    /** A line cut around its number: what comes before, the number's digits, and the rest. */
    private record Split(String head, String value, String tail) {
    }

    /**
     * An extent line: {@code ^(\s*\S+\s+)(\d+)(\s.*)?$} (the access, the count, then nothing
     * or a blank and the rest); null when it is not one.
     */
    private static Split extentLine(String s) {
        int i = blanksEnd(s, 0);
        int j = i;
        while (j < s.length() && !blank(s.charAt(j))) {
            j++;
        }
        int k = blanksEnd(s, j);
        int l = digitsEnd(s, k, false);
        if (j == i || k == j || l == k || (l < s.length() && !blank(s.charAt(l)))) {
            return null;
        }
        return new Split(s.substring(0, k), s.substring(k, l), s.substring(l));
    }

    /**
     * A line {@code ^(\s*KEY\s*=\s*"?)(\d+)(.*)$} ({@code quote}: the optional quote; {@code hex}:
     * hex digits and no quote); null when it is not one.
     */
    private static Split keyLine(String s, String key, boolean quote, boolean hex) {
        int i = blanksEnd(s, 0);
        if (!s.startsWith(key, i)) {
            return null;
        }
        i = blanksEnd(s, i + key.length());
        if (i >= s.length() || s.charAt(i) != '=') {
            return null;
        }
        i = blanksEnd(s, i + 1);
        if (quote && i < s.length() && s.charAt(i) == '"') {
            i++;
        }
        int l = digitsEnd(s, i, hex);
        if (l == i) {
            return null;
        }
        return new Split(s.substring(0, i), s.substring(i, l), s.substring(l));
    }

    /** Regex's {@code \s}. */
    private static boolean blank(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == 0x0B || c == '\f' || c == '\r';
    }

    private static int blanksEnd(String s, int from) {
        int i = from;
        while (i < s.length() && blank(s.charAt(i))) {
            i++;
        }
        return i;
    }

    /** The end of the run of ASCII digits (or hex digits) at {@code from}. */
    private static int digitsEnd(String s, int from, boolean hex) {
        int i = from;
        while (i < s.length()) {
            char c = s.charAt(i);
            if (!(c >= '0' && c <= '9') && !(hex && (c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'))) {
                break;
            }
            i++;
        }
        return i;
    }

    private static Optional<Long> number(String s) {
        if (s == null) {
            return Optional.empty();
        }
        try {
            return Optional.of(Long.parseLong(s.trim()));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }
}
