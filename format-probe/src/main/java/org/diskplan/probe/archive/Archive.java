package org.diskplan.probe.archive;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Optional;
import java.util.zip.CRC32;
import org.diskplan.abi.ImageFormat;

/**
 * Compressed files and archives that people download disk images in. qemu-img takes every one
 * of them for a raw disk; DiskPlan recognises them by their signature, checked strictly (a
 * checksum where the format has one) so that no real disk is ever taken for an archive, and
 * refuses to resize them.
 */
public enum Archive {
    // No lambdas or streams here: this class runs on every command's start-up path (see ReadWatch / issue 20).

    // ID1 ID2, CM = 8 (deflate), no reserved flag bits (RFC 1952)
    GZIP(ImageFormat.GZIP, "a gzip-compressed file", Magic.DECOMPRESS, 10, "magic 1f 8b, method 8 (deflate) at offset 0"),
    XZ(ImageFormat.XZ, "an xz-compressed file", Magic.DECOMPRESS, 12,
            "magic fd 37 7a 58 5a 00 at offset 0 and a stream header whose CRC32 matches"),
    BZIP2(ImageFormat.BZIP2, "a bzip2-compressed file", Magic.DECOMPRESS, 4,
            "magic 'BZh1'..'BZh9' at offset 0 and a block or end-of-stream marker at offset 4"),
    // frame magic 0xfd2fb528 little-endian; reserved bit 3 of the frame header descriptor clear
    ZSTD(ImageFormat.ZSTD, "a zstd-compressed file", Magic.DECOMPRESS, 5, "frame magic 28 b5 2f fd at offset 0"),
    ZIP(ImageFormat.ZIP, "a zip archive", Magic.EXTRACT, 30, "local file header 'PK\\x03\\x04' at offset 0"),
    TAR(ImageFormat.TAR, "a tar archive", Magic.EXTRACT, 512, "'ustar' at offset 257 and a header checksum that matches"),
    SEVEN_ZIP(ImageFormat.SEVEN_ZIP, "a 7z archive", Magic.EXTRACT, 32,
            "signature 37 7a bc af 27 1c at offset 0 and a start header whose CRC32 matches");

    /** The signatures (a nested class, so that the constants can use them). */
    static final class Magic {
        static final String DECOMPRESS = "decompress it first";
        static final String EXTRACT = "extract the image from it first";
        static final byte[] XZ = {(byte) 0xfd, '7', 'z', 'X', 'Z', 0};
        static final byte[] BZIP2_BLOCK = {0x31, 0x41, 0x59, 0x26, 0x53, 0x59};
        static final byte[] BZIP2_END = {0x17, 0x72, 0x45, 0x38, 0x50, (byte) 0x90};
        static final byte[] ZSTD = {0x28, (byte) 0xb5, 0x2f, (byte) 0xfd};
        static final byte[] USTAR = "ustar".getBytes(StandardCharsets.US_ASCII);
        static final byte[] SEVEN_ZIP = {'7', 'z', (byte) 0xbc, (byte) 0xaf, 0x27, 0x1c};

        private Magic() {
        }
    }

    private final ImageFormat format;
    private final String description;
    private final String advice;
    private final int headerSize;
    private final String evidence;

    Archive(ImageFormat format, String description, String advice, int headerSize, String evidence) {
        this.format = format;
        this.description = description;
        this.advice = advice;
        this.headerSize = headerSize;
        this.evidence = evidence;
    }

    /** Whether the first bytes of a file ({@code head}, up to 512 of them) are this kind's signature. */
    boolean matches(byte[] head) {
        byte[] h = head;
        switch (this) {
            case GZIP:
                return h.length >= 10 && (h[0] & 0xff) == 0x1f && (h[1] & 0xff) == 0x8b && h[2] == 8
                        && (h[3] & 0xe0) == 0;
            case XZ:
                return h.length >= 12 && startsWith(h, Magic.XZ) && h[6] == 0 && (h[7] & 0xf0) == 0
                        && crc32(h, 6, 2) == le32(h, 8);
            case BZIP2:
                return h.length >= 10 && h[0] == 'B' && h[1] == 'Z' && h[2] == 'h' && h[3] >= '1' && h[3] <= '9'
                        && (Arrays.equals(h, 4, 10, Magic.BZIP2_BLOCK, 0, 6)
                        || Arrays.equals(h, 4, 10, Magic.BZIP2_END, 0, 6));
            case ZSTD:
                return h.length >= 5 && startsWith(h, Magic.ZSTD) && (h[4] & 0x08) == 0;
            case ZIP:
                return h.length >= 30 && h[0] == 'P' && h[1] == 'K' && h[2] == 3 && h[3] == 4;
            case TAR:
                if (h.length < 512 || !Arrays.equals(h, 257, 262, Magic.USTAR, 0, 5)) {
                    return false;
                }
                Optional<Long> sum = octal(h, 148, 8);
                return sum.isPresent() && sum.get() == tarChecksum(h);
            case SEVEN_ZIP:
                return h.length >= 32 && startsWith(h, Magic.SEVEN_ZIP) && h[6] == 0 && crc32(h, 12, 20) == le32(h, 8);
            default:
                throw new IllegalStateException("no signature for " + this);
        }
    }

    /** The bytes that told, for the detection evidence. */
    public String evidence() {
        return evidence;
    }

    public ImageFormat format() {
        return format;
    }

    /** "an xz-compressed file". */
    public String description() {
        return description;
    }

    /** What to do instead: "decompress it first". */
    public String advice() {
        return advice;
    }

    /** The one-line refusal: "'x.img.xz' is an xz-compressed file; decompress it first". */
    public String refusal(String file) {
        return "'" + file + "' is " + description + "; " + advice;
    }

    /** Bytes of the fixed header the probe shows. */
    int headerSize() {
        return headerSize;
    }

    /** The kind whose signature {@code head} starts with, if any. */
    public static Optional<Archive> detect(byte[] head) {
        for (Archive a : values()) {
            if (a.matches(head)) {
                return Optional.of(a);
            }
        }
        return Optional.empty();
    }

    /** The kind behind a detected format, empty for disk image formats. */
    public static Optional<Archive> of(ImageFormat format) {
        for (Archive a : values()) {
            if (a.format == format) {
                return Optional.of(a);
            }
        }
        return Optional.empty();
    }

    static boolean startsWith(byte[] h, byte[] magic) {
        return h.length >= magic.length && Arrays.equals(h, 0, magic.length, magic, 0, magic.length);
    }

    static long crc32(byte[] b, int from, int len) {
        CRC32 crc = new CRC32();
        crc.update(b, from, len);
        return crc.getValue();
    }

    static long le32(byte[] b, int at) {
        return Integer.toUnsignedLong(ByteBuffer.wrap(b, at, 4).order(ByteOrder.LITTLE_ENDIAN).getInt());
    }

    /** A NUL- or space-terminated octal number as tar stores it; empty when it is not one. */
    static Optional<Long> octal(byte[] b, int at, int len) {
        long v = 0;
        int i = at;
        while (i < at + len && b[i] == ' ') {
            i++;
        }
        int digits = 0;
        for (; i < at + len && b[i] >= '0' && b[i] <= '7'; i++) {
            v = v * 8 + (b[i] - '0');
            digits++;
        }
        if (digits == 0 || digits > 21 || (i < at + len && b[i] != 0 && b[i] != ' ')) {
            return Optional.empty();
        }
        return Optional.of(v);
    }

    /** The tar header checksum: the sum of its 512 bytes with the checksum field taken as spaces. */
    static long tarChecksum(byte[] h) {
        long sum = 0;
        for (int i = 0; i < 512; i++) {
            sum += i >= 148 && i < 156 ? ' ' : h[i] & 0xff;
        }
        return sum;
    }
}
