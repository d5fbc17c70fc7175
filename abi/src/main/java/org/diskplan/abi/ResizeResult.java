package org.diskplan.abi;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * The outcome of a resize, the 40-byte little-endian {@code ResizeResult} struct of
 * {@code docs/abi.md} (byte compatible with instar's shared crate).
 *
 * <p>The decoder rejects a short buffer, a wrong magic, an unknown action or an unknown error
 * code ({@link ErrorCode#PARSE_FAILED}), an unknown format ({@link ErrorCode#UNSUPPORTED_FORMAT})
 * and a u64 size of 2^63 or more ({@link ErrorCode#INVALID_NEW_SIZE}).
 *
 * @param targetFormat            format of the image (offset 4)
 * @param resolvedNewVirtualSize  the size the image really has now, after any rounding
 * @param fileSizeBefore          file size before the resize
 * @param fileSizeAfter           file size after the resize
 * @param action                  what was done
 * @param error                   {@link ErrorCode#OK} or the failure
 */
public record ResizeResult(
        ImageFormat targetFormat,
        long resolvedNewVirtualSize,
        long fileSizeBefore,
        long fileSizeAfter,
        ResizeAction action,
        ErrorCode error) {

    public static final int SIZE = 40;
    /** "RRES" read from the high byte; on disk {@code 53 45 52 52}. */
    public static final int MAGIC = 0x52524553;

    public static final int OFFSET_MAGIC = 0;
    public static final int OFFSET_TARGET_FORMAT = 4;
    public static final int OFFSET_RESOLVED_NEW_VIRTUAL_SIZE = 8;
    public static final int OFFSET_FILE_SIZE_BEFORE = 16;
    public static final int OFFSET_FILE_SIZE_AFTER = 24;
    public static final int OFFSET_ACTION = 32;
    public static final int OFFSET_ERROR = 36;

    private static final String STRUCT = "ResizeResult";

    public ResizeResult {
        Objects.requireNonNull(targetFormat, "targetFormat");
        Objects.requireNonNull(action, "action");
        Objects.requireNonNull(error, "error");
        requireNonNegative("resolvedNewVirtualSize", resolvedNewVirtualSize);
        requireNonNegative("fileSizeBefore", fileSizeBefore);
        requireNonNegative("fileSizeAfter", fileSizeAfter);
    }

    /** The 40-byte little-endian encoding. */
    public byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(OFFSET_MAGIC, MAGIC);
        b.putInt(OFFSET_TARGET_FORMAT, targetFormat.code());
        b.putLong(OFFSET_RESOLVED_NEW_VIRTUAL_SIZE, resolvedNewVirtualSize);
        b.putLong(OFFSET_FILE_SIZE_BEFORE, fileSizeBefore);
        b.putLong(OFFSET_FILE_SIZE_AFTER, fileSizeAfter);
        b.putInt(OFFSET_ACTION, action.code());
        b.putInt(OFFSET_ERROR, error.code());
        return b.array();
    }

    /** Decodes the first 40 bytes of {@code bytes}; longer arrays are accepted. */
    public static ResizeResult decode(byte[] bytes) throws AbiException {
        ByteBuffer b = Wire.littleEndian(bytes, SIZE, STRUCT);
        Wire.checkMagic(b, MAGIC, STRUCT);
        ImageFormat format = Wire.format(b, OFFSET_TARGET_FORMAT, STRUCT);
        long actionCode = Wire.u32(b, OFFSET_ACTION);
        ResizeAction action = ResizeAction.fromCode(actionCode).orElseThrow(() ->
                unknown("action", OFFSET_ACTION, actionCode));
        long errorCode = Wire.u32(b, OFFSET_ERROR);
        ErrorCode error = ErrorCode.fromCode(errorCode).orElseThrow(() ->
                unknown("error", OFFSET_ERROR, errorCode));
        return new ResizeResult(
                format,
                Wire.size(b, OFFSET_RESOLVED_NEW_VIRTUAL_SIZE, STRUCT, "resolved_new_virtual_size"),
                Wire.size(b, OFFSET_FILE_SIZE_BEFORE, STRUCT, "file_size_before"),
                Wire.size(b, OFFSET_FILE_SIZE_AFTER, STRUCT, "file_size_after"),
                action,
                error);
    }

    /**
     * Decodes 40 bytes starting at the buffer's position, whatever the buffer's byte order.
     * On success the position advances by {@link #SIZE}; on failure it is unchanged.
     */
    public static ResizeResult decode(ByteBuffer buf) throws AbiException {
        ResizeResult result = decode(Wire.peek(buf, SIZE, STRUCT));
        buf.position(buf.position() + SIZE);
        return result;
    }

    private static AbiException unknown(String field, int offset, long code) {
        return new AbiException(ErrorCode.PARSE_FAILED, String.format(
                "ResizeResult %s at offset %d has unknown code %d", field, offset, code));
    }

    private static void requireNonNegative(String field, long value) {
        if (value < 0) {
            throw new IllegalArgumentException(field + " must be non-negative, got " + value);
        }
    }
}
