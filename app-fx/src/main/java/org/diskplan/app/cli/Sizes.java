package org.diskplan.app.cli;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.Locale;

/** qemu-style human sizes: "1 MiB", "1.5 GiB", "0 B". */
public final class Sizes {
    private static final String[] UNITS = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};

    private Sizes() {
    }

    public static String human(long bytes) {
        double v = bytes;
        int unit = 0;
        while (v >= 1024 && unit < UNITS.length - 1) {
            v /= 1024;
            unit++;
        }
        if (unit == 0) {
            return bytes + " B";
        }
        return withoutTrailingZeros(threeDigits(v)) + " " + UNITS[unit];
    }

    /** "1.50" to "1.5", "2.00" to "2", "100" as it is (no regular expression: start-up). */
    static String withoutTrailingZeros(String s) {
        if (s.indexOf('.') < 0) {
            return s;
        }
        int end = s.length();
        while (s.charAt(end - 1) == '0') {
            end--;
        }
        if (s.charAt(end - 1) == '.') {
            end--;
        }
        return s.substring(0, end);
    }

    /**
     * {@code String.format(Locale.ROOT, "%.3g", v)} for 1 <= v < 1024, without the Formatter
     * (whose first use loads the locale's number symbols): the Formatter rounds the shortest
     * decimal form of {@code v} ({@link Double#toString}) half up to three significant
     * digits, and writes a result below 1000 in plain notation with as many decimals as make
     * three digits. A result of 1000 or more (written 1.00e+03) is left to the Formatter.
     */
    static String threeDigits(double v) {
        if (v >= 1 && v < 1000) {
            BigDecimal r = new BigDecimal(Double.toString(v)).round(new MathContext(3, RoundingMode.HALF_UP));
            if (r.compareTo(THOUSAND) < 0) {
                int intDigits = r.compareTo(BigDecimal.TEN) < 0 ? 1 : r.compareTo(HUNDRED) < 0 ? 2 : 3;
                return r.setScale(3 - intDigits, RoundingMode.UNNECESSARY).toPlainString();
            }
        }
        return String.format(Locale.ROOT, "%.3g", v);
    }

    private static final BigDecimal HUNDRED = BigDecimal.valueOf(100);
    private static final BigDecimal THOUSAND = BigDecimal.valueOf(1000);
}
