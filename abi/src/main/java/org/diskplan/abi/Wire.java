package org.diskplan.abi;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Decoding helpers shared by {@link ResizeConfig} and {@link ResizeResult}. */
final class Wire {
    private Wire() {
    }

    /** A little-endian view of {@code bytes}, after checking there are at least {@code size}. */
    static ByteBuffer littleEndian(byte[] bytes, int size, String struct) throws AbiException {
        if (bytes.length < size) {
            throw tooShort(struct, size, bytes.length);
        }
        return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Copies {@code size} bytes from the buffer's position, leaving the buffer untouched. */
    static byte[] peek(ByteBuffer buf, int size, String struct) throws AbiException {
        if (buf.remaining() < size) {
            throw tooShort(struct, size, buf.remaining());
        }
        byte[] bytes = new byte[size];
        buf.duplicate().get(bytes);
        return bytes;
    }

    static void checkMagic(ByteBuffer b, int expected, String struct) throws AbiException {
        int magic = b.getInt(0);
        if (magic != expected) {
            throw new AbiException(ErrorCode.PARSE_FAILED, String.format(
                    "%s magic at offset 0 is 0x%08X, expected 0x%08X", struct, magic, expected));
        }
    }

    static ImageFormat format(ByteBuffer b, int offset, String struct) throws AbiException {
        long code = u32(b, offset);
        return ImageFormat.fromCode(code).orElseThrow(() -> new AbiException(
                ErrorCode.UNSUPPORTED_FORMAT, String.format(
                        "%s target_format at offset %d has unknown ImageFormat code %d",
                        struct, offset, code)));
    }

    /** A u64 size, which must be below 2^63 to fit a Java {@code long}. */
    static long size(ByteBuffer b, int offset, String struct, String field) throws AbiException {
        long v = b.getLong(offset);
        if (v < 0) {
            throw new AbiException(ErrorCode.INVALID_NEW_SIZE, String.format(
                    "%s %s at offset %d is %s, must be below 2^63",
                    struct, field, offset, Long.toUnsignedString(v)));
        }
        return v;
    }

    static long u32(ByteBuffer b, int offset) {
        return Integer.toUnsignedLong(b.getInt(offset));
    }

    static int u8(ByteBuffer b, int offset) {
        return Byte.toUnsignedInt(b.get(offset));
    }

    private static AbiException tooShort(String struct, int size, int got) {
        return new AbiException(ErrorCode.PARSE_FAILED,
                struct + " needs " + size + " bytes, got " + got);
    }
}
