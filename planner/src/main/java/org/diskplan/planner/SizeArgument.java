package org.diskplan.planner;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;

/**
 * The size argument of {@code resize} and {@code plan}, parsed exactly as
 * qemu-img 7.2 parses it: an optional {@code +} or {@code -} (relative to the
 * current size), then a decimal or {@code 0x} hexadecimal number, an optional
 * fraction (only with a suffix), and an optional suffix {@code b B k K m M g G t
 * T p P e E} (powers of 1024). Values are unsigned 64-bit; the result is resolved
 * with qemu's signed 64-bit arithmetic, so out-of-range requests end in the same
 * messages qemu prints.
 *
 * @param sign     -1, 0 (absolute) or +1
 * @param amount   the unsigned 64-bit amount in bytes (as a long's bits)
 * @param warnings qemu's deprecation warnings met while parsing
 */
public record SizeArgument(int sign, long amount, List<String> warnings) {
    public static final String INVALID =
            "Parameter 'size' expects a non-negative number below 2^64";
    public static final String SUFFIX_HINT =
            "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\n"
                    + "and exabytes, respectively.";
    private static final BigInteger TWO_64 = BigInteger.ONE.shiftLeft(64);
    private static final double TWO_64_DOUBLE = 0x1p64;

    public SizeArgument {
        warnings = List.copyOf(warnings);
    }

    /** Parses a size argument as qemu-img resize does. */
    public static SizeArgument parse(String argument) throws SizeSyntaxException {
        int sign = 0;
        String number = argument;
        if (!argument.isEmpty() && argument.charAt(0) == '+') {
            sign = 1;
            number = argument.substring(1);
        } else if (!argument.isEmpty() && argument.charAt(0) == '-') {
            sign = -1;
            number = argument.substring(1);
        }
        List<String> warnings = new ArrayList<>();
        long value = strtosz(number, warnings);
        return new SizeArgument(sign, value, warnings);
    }

    /** The absolute size asked for, given the image's current size (qemu's int64 arithmetic). */
    public long resolve(long current) {
        return sign == 0 ? amount : current + amount * sign;
    }

    /** qemu's do_strtosz with unit 1024 and default suffix 'B'. */
    static long strtosz(String s, List<String> warnings) throws SizeSyntaxException {
        int start = 0;
        int error = 0; // 0, EINVAL (1) or ERANGE (2)
        boolean hex = false;
        long fractionBits = 0;
        ParsedInteger integer = strtou64(s, start, 10);
        int end = integer.end;
        long value = integer.value;
        error = integer.error;
        if (error == 0 && s.substring(start, end).indexOf('-') >= 0) {
            end = start;
            error = EINVAL;
        }
        if (error == 0 && value == 0 && (at(s, end) == 'x' || at(s, end) == 'X')) {
            integer = strtou64(s, start, 16);
            end = integer.end;
            value = integer.value;
            error = integer.error;
            if (error == 0 && at(s, end) == '.') {
                end = start;
                error = EINVAL;
            }
            hex = true;
        } else if (error == 0 && at(s, end) == '.') {
            int digits = end + 1;
            while (digits < s.length() && isDigit(s.charAt(digits))) {
                digits++;
            }
            if (digits == end + 1) {
                end++; // strtod found no number: step over the '.'
            } else if (hasExponent(s, digits)) {
                end = start;
                error = EINVAL;
            } else {
                double fraction = Double.parseDouble("0" + s.substring(end, digits));
                fractionBits = toUnsigned64(fraction * TWO_64_DOUBLE);
                end = digits;
            }
        }
        if (error == 0) {
            long mul = suffixMultiplier(at(s, end));
            if (mul > 0) {
                if (hex) {
                    warnings.add("Using a multiplier suffix on hex numbers is deprecated: " + s);
                }
                end++;
            } else {
                mul = 1;
            }
            if (mul == 1) {
                if (fractionBits != 0) {
                    end = start;
                    error = EINVAL;
                }
            } else {
                BigInteger whole = new BigInteger(Long.toUnsignedString(value)).multiply(BigInteger.valueOf(mul));
                BigInteger frac = new BigInteger(Long.toUnsignedString(fractionBits))
                        .multiply(BigInteger.valueOf(mul));
                BigInteger total = whole.add(frac.shiftRight(64))
                        .add(frac.mod(TWO_64).shiftRight(63)); // round 0.5 up
                if (total.compareTo(TWO_64) >= 0) {
                    error = ERANGE;
                } else {
                    value = total.longValue();
                }
            }
        }
        if (end < s.length()) {
            error = EINVAL; // qemu_strtosz insists on consuming the whole string
        }
        if (error == ERANGE) {
            throw new SizeSyntaxException("Value '" + s + "' is out of range for parameter 'size'", "");
        }
        if (error != 0) {
            throw new SizeSyntaxException(INVALID, SUFFIX_HINT);
        }
        return value;
    }

    private static final int EINVAL = 1;
    private static final int ERANGE = 2;

    private record ParsedInteger(long value, int end, int error) {
    }

    /** C's strtoull as qemu_strtou64 uses it: whitespace, sign, digits, overflow. */
    private static ParsedInteger strtou64(String s, int start, int base) {
        int i = start;
        while (i < s.length() && isSpace(s.charAt(i))) {
            i++;
        }
        boolean negative = false;
        if (i < s.length() && (s.charAt(i) == '+' || s.charAt(i) == '-')) {
            negative = s.charAt(i) == '-';
            i++;
        }
        if (base == 16 && i + 1 < s.length() && s.charAt(i) == '0'
                && (s.charAt(i + 1) == 'x' || s.charAt(i + 1) == 'X')
                && i + 2 < s.length() && Character.digit(s.charAt(i + 2), 16) >= 0) {
            i += 2;
        }
        int digitsStart = i;
        BigInteger value = BigInteger.ZERO;
        BigInteger radix = BigInteger.valueOf(base);
        while (i < s.length() && s.charAt(i) < 128 && Character.digit(s.charAt(i), base) >= 0) {
            value = value.multiply(radix).add(BigInteger.valueOf(Character.digit(s.charAt(i), base)));
            i++;
        }
        if (i == digitsStart) {
            return new ParsedInteger(0, start, EINVAL); // no conversion
        }
        if (value.compareTo(TWO_64) >= 0) {
            return new ParsedInteger(-1, i, ERANGE);
        }
        long v = value.longValue();
        return new ParsedInteger(negative ? -v : v, i, 0);
    }

    private static boolean hasExponent(String s, int i) {
        if (i >= s.length() || (s.charAt(i) != 'e' && s.charAt(i) != 'E')) {
            return false;
        }
        int j = i + 1;
        if (j < s.length() && (s.charAt(j) == '+' || s.charAt(j) == '-')) {
            j++;
        }
        return j < s.length() && isDigit(s.charAt(j));
    }

    private static long suffixMultiplier(char c) {
        return switch (Character.toUpperCase(c)) {
            case 'B' -> 1L;
            case 'K' -> 1L << 10;
            case 'M' -> 1L << 20;
            case 'G' -> 1L << 30;
            case 'T' -> 1L << 40;
            case 'P' -> 1L << 50;
            case 'E' -> 1L << 60;
            default -> -1L;
        };
    }

    private static long toUnsigned64(double d) {
        return new java.math.BigDecimal(d).toBigInteger().longValue();
    }

    private static char at(String s, int i) {
        return i < s.length() ? s.charAt(i) : '\0';
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    private static boolean isSpace(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\u000b' || c == '\f' || c == '\r';
    }
}
