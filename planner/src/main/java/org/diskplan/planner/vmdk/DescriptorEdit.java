package org.diskplan.planner.vmdk;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Edits the text of a VMDK descriptor (embedded or a file of its own) for a resize: the
 * sector count of chosen extent lines, {@code ddb.geometry.cylinders} and the CID. Every
 * other line — comments, blank lines, unknown keys, {@code parentCID}, every other
 * {@code ddb.*} line — and every line ending is kept byte for byte; an edited line keeps
 * its spacing and quotes, only the number changes.
 */
public final class DescriptorEdit {
    private static final Pattern EXTENT = Pattern.compile("^(\\s*\\S+\\s+)(\\d+)(\\s.*)?$", Pattern.DOTALL);
    private static final Pattern CYLINDERS = Pattern.compile(
            "^(\\s*ddb\\.geometry\\.cylinders\\s*=\\s*\"?)(\\d+)(.*)$", Pattern.DOTALL);
    private static final Pattern CID = Pattern.compile("^(\\s*CID\\s*=\\s*)([0-9a-fA-F]+)(.*)$", Pattern.DOTALL);

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
        Matcher m = EXTENT.matcher(body(line));
        if (!m.matches()) {
            throw new IllegalArgumentException("descriptor line " + lineNumber + " is not an extent line: " + line.strip());
        }
        lines.set(lineNumber - 1, m.group(1) + sectors + (m.group(3) == null ? "" : m.group(3)) + ending(line));
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
            Matcher m = CYLINDERS.matcher(body(lines.get(i)));
            if (m.matches()) {
                lines.set(i, m.group(1) + cylinders + m.group(3) + ending(lines.get(i)));
                return OptionalLong.of(cylinders);
            }
        }
        return OptionalLong.empty();
    }

    /** Sets the {@code CID} line's value (8 hex digits); {@code parentCID} is another key and is kept. */
    public boolean cid(String cid) {
        for (int i = 0; i < lines.size(); i++) {
            Matcher m = CID.matcher(body(lines.get(i)));
            if (m.matches()) {
                lines.set(i, m.group(1) + cid + m.group(3) + ending(lines.get(i)));
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
        int width = o.matches("[0-9a-fA-F]{1,8}") ? o.length() : 8;
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
