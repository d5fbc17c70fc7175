package org.diskplan.probe;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.function.LongFunction;

/**
 * Reads the fields of one on-disk structure and records each as a
 * {@link HeaderField} (group, name, absolute offset, raw bytes, decoded value,
 * meaning). Offsets passed in are relative to the structure; the recorded ones
 * are absolute. Endianness is explicit per structure.
 *
 * <pre>{@code
 * FieldReader h = new FieldReader("qcow2 header", 0, bytes, ByteOrder.BIG_ENDIAN, fields);
 * long size = h.u64("size", 24, "virtual disk size in bytes");
 * }</pre>
 */
public final class FieldReader {
    // No lambdas or streams here: this class runs on every command's start-up path (see ReadWatch / issue 20).
    /** {@link #decimal}, as an object: a method reference would link a lambda class at its first use. */
    public static final LongFunction<String> DECIMAL = Render.DECIMAL;
    /** {@link #decimalAndHex}, as an object. */
    public static final LongFunction<String> DECIMAL_AND_HEX = Render.DECIMAL_AND_HEX;
    /** {@link #hex}, as an object. */
    public static final LongFunction<String> HEX = Render.HEX;

    /** The plain renderings of a field's value. */
    private enum Render implements LongFunction<String> {
        DECIMAL, DECIMAL_AND_HEX, HEX;

        @Override
        public String apply(long v) {
            switch (this) {
                case DECIMAL:
                    return decimal(v);
                case HEX:
                    return hex(v);
                default:
                    return decimalAndHex(v);
            }
        }
    }

    private final String group;
    private final long base;
    private final ByteBuffer buf;
    private final List<HeaderField> sink;

    public FieldReader(String group, long base, byte[] bytes, ByteOrder order, List<HeaderField> sink) {
        this.group = Objects.requireNonNull(group, "group");
        this.base = base;
        this.buf = ByteBuffer.wrap(bytes).order(order);
        this.sink = Objects.requireNonNull(sink, "sink");
        FieldCollector.register(sink);
    }

    public String group() {
        return group;
    }

    /** Absolute file offset of relative offset {@code rel}. */
    public long at(int rel) {
        return base + rel;
    }

    public int length() {
        return buf.capacity();
    }

    public long u8(String name, int rel, String meaning) {
        return record(name, rel, 1, Byte.toUnsignedLong(buf.get(rel)), DECIMAL, meaning);
    }

    public long u16(String name, int rel, String meaning) {
        return record(name, rel, 2, Short.toUnsignedLong(buf.getShort(rel)), DECIMAL, meaning);
    }

    public long u32(String name, int rel, String meaning) {
        return u32(name, rel, meaning, DECIMAL_AND_HEX);
    }

    public long u32(String name, int rel, String meaning, LongFunction<String> render) {
        return record(name, rel, 4, Integer.toUnsignedLong(buf.getInt(rel)), render, meaning);
    }

    /** An unsigned 64-bit field; values ≥ 2^63 come back negative and render unsigned. */
    public long u64(String name, int rel, String meaning) {
        return u64(name, rel, meaning, DECIMAL_AND_HEX);
    }

    public long u64(String name, int rel, String meaning, LongFunction<String> render) {
        return record(name, rel, 8, buf.getLong(rel), render, meaning);
    }

    /** Raw bytes with a caller-decoded value. */
    public byte[] bytes(String name, int rel, int len, String value, String meaning) {
        byte[] raw = slice(rel, len);
        sink.add(new HeaderField(group, name, base + rel, len, raw, value, meaning));
        return raw;
    }

    /** ASCII text, shown with non-printable bytes escaped; trailing NULs trimmed from the value. */
    public String ascii(String name, int rel, int len, String meaning) {
        byte[] raw = slice(rel, len);
        String text = printable(raw);
        sink.add(new HeaderField(group, name, base + rel, len, raw, "'" + text + "'", meaning));
        return new String(raw, StandardCharsets.ISO_8859_1);
    }

    /** A GUID in Microsoft's mixed-endian layout (VHDX; VHD stores its GUIDs big-endian), rendered as text. */
    public String guid(String name, int rel, String meaning) {
        byte[] raw = slice(rel, 16);
        String text = guidText(raw);
        sink.add(new HeaderField(group, name, base + rel, 16, raw, text, meaning));
        return text;
    }

    /** Records a field whose value the caller already decoded. */
    public long record(String name, int rel, int len, long value, LongFunction<String> render, String meaning) {
        sink.add(new HeaderField(group, name, base + rel, len, slice(rel, len), render.apply(value), meaning));
        return value;
    }

    private byte[] slice(int rel, int len) {
        return Arrays.copyOfRange(buf.array(), rel, rel + len);
    }

    public static String decimal(long v) {
        return Long.toUnsignedString(v);
    }

    public static String decimalAndHex(long v) {
        return Long.toUnsignedString(v) + " (0x" + Long.toHexString(v) + ")";
    }

    public static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }

    /**
     * {@code v} as lower-case hex digits, left-padded with zeros to {@code width} (as
     * {@code %0Nx} would print it, without java.util.Formatter: info's start-up pays for
     * Formatter and its regular expressions otherwise).
     */
    public static String hexDigits(long v, int width) {
        String digits = Long.toHexString(v);
        return digits.length() >= width ? digits : "0".repeat(width - digits.length()) + digits;
    }

    /** First second of the year 10000: {@link #instant} formats the instants before it itself. */
    private static final long YEAR_10000 = 253402300800L;

    /**
     * {@code Instant.ofEpochSecond(epochSecond).toString()} ("2024-05-01T12:00:00Z"), worked out by hand
     * for the years 1970-9999: Instant.toString's DateTimeFormatter links lambdas at its first use.
     */
    public static String instant(long epochSecond) {
        if (epochSecond < 0 || epochSecond >= YEAR_10000) {
            return java.time.Instant.ofEpochSecond(epochSecond).toString();
        }
        long days = epochSecond / 86400;
        int secs = (int) (epochSecond % 86400);
        // Civil date from days since 1970-01-01 (the proleptic Gregorian calendar, eras of 400 years).
        long z = days + 719468;
        long era = z / 146097;
        long doe = z - era * 146097;
        long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        long mp = (5 * doy + 2) / 153;
        long day = doy - (153 * mp + 2) / 5 + 1;
        long month = mp < 10 ? mp + 3 : mp - 9;
        long year = yoe + era * 400 + (month <= 2 ? 1 : 0);
        StringBuilder sb = new StringBuilder(20);
        pad(sb, year, 4).append('-');
        pad(sb, month, 2).append('-');
        pad(sb, day, 2).append('T');
        pad(sb, secs / 3600, 2).append(':');
        pad(sb, secs / 60 % 60, 2).append(':');
        return pad(sb, secs % 60, 2).append('Z').toString();
    }

    private static StringBuilder pad(StringBuilder sb, long v, int width) {
        String digits = Long.toString(v);
        for (int i = digits.length(); i < width; i++) {
            sb.append('0');
        }
        return sb.append(digits);
    }

    /** Bytes as text with anything outside printable ASCII escaped as \xNN; trailing NULs dropped. */
    public static String printable(byte[] raw) {
        int end = raw.length;
        while (end > 0 && raw[end - 1] == 0) {
            end--;
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < end; i++) {
            int c = raw[i] & 0xff;
            if (c >= 0x20 && c < 0x7f && c != '\\') {
                sb.append((char) c);
            } else {
                sb.append("\\x").append(hexDigits(c, 2));
            }
        }
        return sb.toString();
    }

    /** Text as {@link #ascii} returns it (one char per byte), shown as {@link #printable(byte[])} shows bytes. */
    public static String printable(String raw) {
        return printable(raw.getBytes(StandardCharsets.ISO_8859_1));
    }

    /** Microsoft GUID text: the first three groups little-endian, the rest as stored ({@link Guids}). */
    public static String guidText(byte[] g) {
        return Guids.mixedEndianText(g, 0);
    }
}
