package org.diskplan.probe;

import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The {@code -o key=value,...} options of one {@link SampleWriter}, checked against the
 * keys that writer knows, with qemu-img's spelling of sizes (a number with an optional
 * binary suffix k, M, G, T) and booleans (on/off).
 */
public final class SampleOptions {
    private final String format;
    private final Map<String, String> options;

    private SampleOptions(String format, Map<String, String> options) {
        this.format = format;
        this.options = options;
    }

    /** Refuses any key outside {@code known}, naming the unknown keys and the known ones. */
    public static SampleOptions of(String format, Map<String, String> options, Set<String> known) {
        Set<String> unknown = new TreeSet<>(options.keySet());
        unknown.removeAll(known);
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException(format + " does not take the option" + (unknown.size() == 1 ? " " : "s ")
                    + String.join(", ", unknown) + " (it takes " + String.join(", ", new TreeSet<>(known)) + ")");
        }
        return new SampleOptions(format, options);
    }

    /** The value of {@code key}, which must be one of {@code allowed}; the first is the default. */
    public String choice(String key, java.util.List<String> allowed) {
        String v = options.get(key);
        if (v == null) {
            return allowed.get(0);
        }
        if (!allowed.contains(v)) {
            throw new IllegalArgumentException(format + " takes " + key + "=" + String.join("|", allowed)
                    + ", not '" + v + "'");
        }
        return v;
    }

    /** The size in bytes given for {@code key}, or {@code fallback} when it is absent. */
    public long size(String key, long fallback) {
        String v = options.get(key);
        return v == null ? fallback : parseSize(key, v);
    }

    /** The on/off value of {@code key}, or {@code fallback} when it is absent. */
    public boolean bool(String key, boolean fallback) {
        String v = options.get(key);
        if (v == null) {
            return fallback;
        }
        return switch (v.toLowerCase(Locale.ROOT)) {
            case "on", "true", "yes" -> true;
            case "off", "false", "no" -> false;
            default -> throw new IllegalArgumentException(format + " option " + key + " takes on or off, not '" + v + "'");
        };
    }

    public boolean has(String key) {
        return options.containsKey(key);
    }

    private long parseSize(String key, String v) {
        String t = v.trim();
        int shift = 0;
        if (!t.isEmpty() && !Character.isDigit(t.charAt(t.length() - 1))) {
            shift = switch (Character.toUpperCase(t.charAt(t.length() - 1))) {
                case 'B' -> 0;
                case 'K' -> 10;
                case 'M' -> 20;
                case 'G' -> 30;
                case 'T' -> 40;
                default -> -1;
            };
            t = t.substring(0, t.length() - 1);
        }
        try {
            long n = Long.parseLong(t);
            if (shift < 0 || n < 0 || n > Long.MAX_VALUE >> shift) {
                throw new NumberFormatException();
            }
            return n << shift;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(format + " option " + key + " takes a size such as 1M, not '" + v + "'");
        }
    }
}
