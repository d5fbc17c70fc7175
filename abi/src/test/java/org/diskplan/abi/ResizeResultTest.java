package org.diskplan.abi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/** Golden vectors and decoder errors for the 40-byte ResizeResult of docs/abi.md. */
class ResizeResultTest {

    /** Every field non-zero and distinct, so each offset is pinned. */
    static final ResizeResult FULL_RECORD = new ResizeResult(ImageFormat.VDI,
            0x0102030405060708L, 0x1112131415161718L, 0x2122232425262728L, ResizeAction.SHRINK,
            ErrorCode.INTERRUPTED_RESIZE);

    static final String FULL_HEX = """
            53 45 52 52  08 00 00 00  08 07 06 05  04 03 02 01
            18 17 16 15  14 13 12 11  28 27 26 25  24 23 22 21
            02 00 00 00  11 00 00 00
            """;

    /** A successful qcow2 grow to 20 GiB. */
    static final ResizeResult GROW_RECORD = new ResizeResult(ImageFormat.QCOW2, 20L << 30,
            0x50000, 0x60000, ResizeAction.GROW, ErrorCode.OK);

    static final String GROW_HEX = """
            53 45 52 52  02 00 00 00  00 00 00 00  05 00 00 00
            00 00 05 00  00 00 00 00  00 00 06 00  00 00 00 00
            01 00 00 00  00 00 00 00
            """;

    static byte[] full() {
        return Hex.bytes(FULL_HEX);
    }

    @Test
    void layoutConstants() {
        assertThat(ResizeResult.SIZE).isEqualTo(40);
        assertThat(ResizeResult.MAGIC).isEqualTo(0x52524553);
        assertThat(ResizeResult.OFFSET_MAGIC).isEqualTo(0);
        assertThat(ResizeResult.OFFSET_TARGET_FORMAT).isEqualTo(4);
        assertThat(ResizeResult.OFFSET_RESOLVED_NEW_VIRTUAL_SIZE).isEqualTo(8);
        assertThat(ResizeResult.OFFSET_FILE_SIZE_BEFORE).isEqualTo(16);
        assertThat(ResizeResult.OFFSET_FILE_SIZE_AFTER).isEqualTo(24);
        assertThat(ResizeResult.OFFSET_ACTION).isEqualTo(32);
        assertThat(ResizeResult.OFFSET_ERROR).isEqualTo(36);
    }

    @Test
    void encodeMatchesGolden() {
        assertThat(Hex.bytes(FULL_HEX)).hasSize(40);
        assertThat(FULL_RECORD.encode()).isEqualTo(Hex.bytes(FULL_HEX));
        assertThat(GROW_RECORD.encode()).isEqualTo(Hex.bytes(GROW_HEX));
    }

    @Test
    void decodeGolden() throws AbiException {
        assertThat(ResizeResult.decode(Hex.bytes(FULL_HEX))).isEqualTo(FULL_RECORD);
        assertThat(ResizeResult.decode(Hex.bytes(GROW_HEX))).isEqualTo(GROW_RECORD);
    }

    @Test
    void decodeByteBufferReadsFromPositionIgnoringOrderAndAdvances() throws AbiException {
        ByteBuffer buf = ByteBuffer.allocate(42).order(ByteOrder.BIG_ENDIAN);
        buf.put((byte) 1).put((byte) 2).put(full());
        buf.position(2);
        assertThat(ResizeResult.decode(buf)).isEqualTo(FULL_RECORD);
        assertThat(buf.position()).isEqualTo(42);
    }

    @Test
    void roundTripsEveryEnumValue() throws AbiException {
        for (ImageFormat f : ImageFormat.values()) {
            for (ResizeAction a : ResizeAction.values()) {
                for (ErrorCode e : ErrorCode.values()) {
                    ResizeResult r = new ResizeResult(f, 1L << 40, 7, Long.MAX_VALUE, a, e);
                    assertThat(ResizeResult.decode(r.encode())).isEqualTo(r);
                }
            }
        }
    }

    private static AbiException decodeError(byte[] bytes) {
        try {
            ResizeResult.decode(bytes);
        } catch (AbiException e) {
            return e;
        }
        throw new AssertionError("decode succeeded");
    }

    @Test
    void tooShort() {
        AbiException e = decodeError(new byte[39]);
        assertThat(e.code()).isEqualTo(ErrorCode.PARSE_FAILED);
        assertThat(e).hasMessage("ResizeResult needs 40 bytes, got 39");
    }

    @Test
    void wrongMagic() {
        byte[] bytes = full();
        System.arraycopy(Hex.bytes("49 53 45 52"), 0, bytes, 0, 4); // ResizeConfig magic
        AbiException e = decodeError(bytes);
        assertThat(e.code()).isEqualTo(ErrorCode.PARSE_FAILED);
        assertThat(e).hasMessage(
                "ResizeResult magic at offset 0 is 0x52455349, expected 0x52524553");
    }

    @ParameterizedTest
    @CsvSource({
        "4,  0x19, UNSUPPORTED_FORMAT, target_format;offset 4;code 25",
        "32, 0x03, PARSE_FAILED,       action;offset 32;code 3",
        "35, 0x80, PARSE_FAILED,       action;offset 32;code 2147483650",
        "36, 0x12, PARSE_FAILED,       error;offset 36;code 18",
        "15, 0x80, INVALID_NEW_SIZE,   resolved_new_virtual_size;offset 8",
        "23, 0x80, INVALID_NEW_SIZE,   file_size_before;offset 16",
        "31, 0xFF, INVALID_NEW_SIZE,   file_size_after;offset 24",
    })
    void rejectsBadField(int offset, String value, ErrorCode code, String fragments) {
        byte[] bytes = full();
        bytes[offset] = (byte) Integer.parseInt(value.substring(2), 16);
        AbiException e = decodeError(bytes);
        assertThat(e.code()).isEqualTo(code);
        assertThat(e.getMessage()).startsWith("ResizeResult ").contains(fragments.split(";"));
    }

    @ParameterizedTest
    @EnumSource(ErrorCode.class)
    void errorCodeIsWrittenAtOffset36(ErrorCode error) {
        byte[] bytes = new ResizeResult(ImageFormat.RAW, 0, 0, 0, ResizeAction.NOOP, error)
                .encode();
        assertThat(Arrays.copyOfRange(bytes, 36, 40))
                .containsExactly((byte) error.code(), (byte) 0, (byte) 0, (byte) 0);
    }

    @Test
    void constructorValidates() {
        assertThatThrownBy(() -> new ResizeResult(null, 0, 0, 0, ResizeAction.NOOP, ErrorCode.OK))
                .isInstanceOf(NullPointerException.class).hasMessage("targetFormat");
        assertThatThrownBy(() -> new ResizeResult(ImageFormat.RAW, 0, 0, 0, null, ErrorCode.OK))
                .isInstanceOf(NullPointerException.class).hasMessage("action");
        assertThatThrownBy(() -> new ResizeResult(ImageFormat.RAW, 0, 0, 0, ResizeAction.NOOP,
                null)).isInstanceOf(NullPointerException.class).hasMessage("error");
        assertThatThrownBy(() -> new ResizeResult(ImageFormat.RAW, -1, 0, 0, ResizeAction.NOOP,
                ErrorCode.OK)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("resolvedNewVirtualSize");
        assertThatThrownBy(() -> new ResizeResult(ImageFormat.RAW, 0, -1, 0, ResizeAction.NOOP,
                ErrorCode.OK)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("fileSizeBefore");
        assertThatThrownBy(() -> new ResizeResult(ImageFormat.RAW, 0, 0, -1, ResizeAction.NOOP,
                ErrorCode.OK)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("fileSizeAfter");
    }
}
