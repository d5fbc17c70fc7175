package org.diskplan.app.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Locale;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Text and Sizes.threeDigits write what java.util.Formatter writes. */
class TextTest {
    private static final long[] EDGES = {0, 1, -1, 9, 10, 99, 100, 999, 1000, -999, -1000, 999_999, 1_000_000,
        1_234_567, -1_234_567, 67_108_864, Long.MAX_VALUE, Long.MIN_VALUE, Integer.MAX_VALUE, Integer.MIN_VALUE};

    private static long[] samples() {
        SplittableRandom r = new SplittableRandom(20);
        long[] v = new long[EDGES.length + 4000];
        System.arraycopy(EDGES, 0, v, 0, EDGES.length);
        for (int i = EDGES.length; i < v.length; i++) {
            // every magnitude: a random value shifted right by a random amount
            long x = r.nextLong() >> r.nextInt(64);
            v[i] = x;
        }
        return v;
    }

    @Test
    void numbersAsTheFormatterWritesThemInThisLocale() {
        for (long n : samples()) {
            assertThat(Text.grouped(n)).as("%%,d of %d", n).isEqualTo(String.format("%,d", n));
            assertThat(Text.dec(n)).isEqualTo(String.format("%d", n));
            assertThat(Text.right(n, 20)).isEqualTo(String.format("%20d", n));
            assertThat(Text.right(n, 6)).isEqualTo(String.format("%6d", n));
            assertThat(Text.left(n, 14)).isEqualTo(String.format("%-14d", n));
            assertThat(Text.hex(n, 8)).isEqualTo(String.format("%08x", n));
            assertThat(Text.hex(n, 12)).isEqualTo(String.format("%012x", n));
        }
    }

    @Test
    void plainLocalesGroupWithCommasAndAsciiDigits() {
        for (Locale l : new Locale[] {Locale.ROOT, Locale.ENGLISH, Locale.US, Locale.UK, new Locale("en", "AU"),
            Locale.CANADA, new Locale("en", "NZ"), new Locale("en", "IE")}) {
            assertThat(Text.plain(l)).as("%s", l).isTrue();
            for (long n : EDGES) {
                assertThat(String.format(l, "%,d|%d|%-14d|%20d", n, n, n, n)).as("%s", l)
                        .isEqualTo(String.format(Locale.ROOT, "%,d|%d|%-14d|%20d", n, n, n, n));
            }
            assertThat(String.format(l, "%,d", 1_234_567)).isEqualTo("1,234,567");
        }
        for (Locale l : new Locale[] {Locale.GERMANY, Locale.FRANCE, new Locale("en", "ZA"), new Locale("en", "CH"),
            new Locale("en", "IN"), Locale.forLanguageTag("en-US-u-nu-arab"), new Locale("ar", "SA")}) {
            assertThat(Text.plain(l)).as("%s", l).isFalse();
        }
    }

    @Test
    void paddingOfText() {
        assertThat(Text.left("ab", 5)).isEqualTo(String.format("%-5s", "ab"));
        assertThat(Text.right("ab", 5)).isEqualTo(String.format("%5s", "ab"));
        assertThat(Text.left("abcdef", 3)).isEqualTo(String.format("%-3s", "abcdef"));
        assertThat(Text.right("", 20)).isEqualTo(String.format("%20s", ""));
        assertThat(Text.left(null, 6)).isEqualTo(String.format("%-6s", (Object) null));
    }

    @Test
    void threeSignificantDigitsAsTheFormatterWritesThem() {
        SplittableRandom r = new SplittableRandom(3);
        for (int i = 0; i < 200_000; i++) {
            // the quotients Sizes.human divides: a long over a power of 1024, and random doubles in [1, 1024)
            double v = i % 2 == 0 ? (double) (r.nextLong(1, Long.MAX_VALUE) >>> r.nextInt(63))
                    / Math.pow(1024, 1 + r.nextInt(6)) : 1 + r.nextDouble() * 1023;
            if (v < 1 || v >= 1024) {
                continue;
            }
            assertThat(Sizes.threeDigits(v)).as("%s", v).isEqualTo(String.format(Locale.ROOT, "%.3g", v));
        }
        for (double v : new double[] {1, 1.005, 1.0049999, 1.995, 9.995, 9.994999, 10, 99.95, 99.949, 100, 999.4,
            999.5, 999.49999, 1000, 1023.999, 1.125, 2.5, 512, 64}) {
            assertThat(Sizes.threeDigits(v)).as("%s", v).isEqualTo(String.format(Locale.ROOT, "%.3g", v));
        }
        assertThat(Sizes.human(67_108_864)).isEqualTo("64 MiB");
        assertThat(Sizes.human(2_424_832)).isEqualTo("2.31 MiB");
    }

    /** Trailing zeros (and a bare point) dropped as the regular expressions "0+$" and "\\.$" did. */
    @Test
    void trailingZerosDroppedAsTheRegularExpressionsDid() {
        SplittableRandom r = new SplittableRandom(5);
        for (int i = 0; i < 100_000; i++) {
            String s = Sizes.threeDigits(1 + r.nextDouble() * 1023);
            String regex = s.contains(".") ? s.replaceAll("0+$", "").replaceAll("\\.$", "") : s;
            assertThat(Sizes.withoutTrailingZeros(s)).as(s).isEqualTo(regex);
        }
        for (String s : new String[] {"1.00", "1.50", "100", "10.0", "1.02e+03", "1.00e+03", "2.31"}) {
            String regex = s.contains(".") ? s.replaceAll("0+$", "").replaceAll("\\.$", "") : s;
            assertThat(Sizes.withoutTrailingZeros(s)).as(s).isEqualTo(regex);
        }
        assertThat(Sizes.human(1L << 30)).isEqualTo("1 GiB");
        assertThat(Sizes.human(3L << 29)).isEqualTo("1.5 GiB");
    }
}
