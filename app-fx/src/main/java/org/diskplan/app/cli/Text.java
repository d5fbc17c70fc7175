package org.diskplan.app.cli;

import java.util.Locale;

/**
 * The few {@link java.util.Formatter} conversions the human output uses ({@code %Nd},
 * {@code %-Nd}, {@code %,d}, {@code %Ns}, {@code %-Ns}, {@code %0Nx}), written without the
 * Formatter where their text is plain ASCII: a Formatter's first {@code %d} loads the
 * locale's number symbols (the CLDR provider and its resource bundles), which cost a small
 * {@code info} or {@code plan} more start-up time than its own work.
 *
 * <p>The text is the Formatter's, in every locale: where the default format locale is one
 * whose digits, minus sign and grouping separator are known to be {@code 0-9}, {@code -}
 * and {@code ,} ({@link #plain}), the numbers are written here; in any other locale the
 * Formatter writes them, as before.
 */
final class Text {
    /** Whether the default format locale writes numbers as plain ASCII (checked once). */
    static final boolean PLAIN = plain(Locale.getDefault(Locale.Category.FORMAT));

    private Text() {
    }

    /**
     * English without region (the JDK's reading of the C and POSIX locales), the root
     * locale, and English regions whose CLDR grouping separator is a comma; no script,
     * variant or extension (a {@code -u-nu-} extension changes the digits).
     */
    static boolean plain(Locale l) {
        if (!l.getScript().isEmpty() || !l.getVariant().isEmpty() || l.hasExtensions()) {
            return false;
        }
        return switch (l.getLanguage()) {
            case "" -> l.getCountry().isEmpty();
            case "en" -> switch (l.getCountry()) {
                case "", "US", "GB", "AU", "CA", "NZ", "IE" -> true;
                default -> false;
            };
            default -> false;
        };
    }

    /** {@code %,d} in the default format locale. */
    static String grouped(long n) {
        if (!PLAIN) {
            return String.format("%,d", n);
        }
        String digits = Long.toString(n);
        int start = n < 0 ? 1 : 0;
        int len = digits.length() - start;
        StringBuilder b = new StringBuilder(digits.length() + len / 3);
        b.append(digits, 0, start);
        for (int i = 0; i < len; i++) {
            if (i > 0 && (len - i) % 3 == 0) {
                b.append(',');
            }
            b.append(digits.charAt(start + i));
        }
        return b.toString();
    }

    /** {@code %WIDTHd} (right-justified) in the default format locale. */
    static String right(long n, int width) {
        return PLAIN ? right(Long.toString(n), width) : String.format("%" + width + "d", n);
    }

    /** {@code %-WIDTHd} (left-justified) in the default format locale. */
    static String left(long n, int width) {
        return PLAIN ? left(Long.toString(n), width) : String.format("%-" + width + "d", n);
    }

    /** {@code %d} in the default format locale. */
    static String dec(long n) {
        return PLAIN ? Long.toString(n) : String.format("%d", n);
    }

    /** {@code %WIDTHs}: {@code s} with spaces before it up to {@code width} characters. */
    static String right(String s, int width) {
        String t = String.valueOf(s);
        return t.length() >= width ? t : " ".repeat(width - t.length()) + t;
    }

    /** {@code %-WIDTHs}: {@code s} with spaces after it up to {@code width} characters. */
    static String left(String s, int width) {
        String t = String.valueOf(s);
        return t.length() >= width ? t : t + " ".repeat(width - t.length());
    }

    /** {@code %0WIDTHx} (the same in every locale: the Formatter pads hexadecimal with ASCII zeros). */
    static String hex(long n, int width) {
        String h = Long.toHexString(n);
        return h.length() >= width ? h : "0".repeat(width - h.length()) + h;
    }
}
