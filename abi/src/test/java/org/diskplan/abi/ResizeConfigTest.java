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

/** Golden vectors and decoder errors for the 112-byte ResizeConfig of docs/abi.md. */
class ResizeConfigTest {

    /** Every field non-zero and distinct, so each offset is pinned. */
    static final ResizeConfig FULL_RECORD = new ResizeConfig(ImageFormat.VMDK4, false, true, true,
            Preallocation.FULL, 4096, 0x0102030405060708L, 0x1112131415161718L, 65536, 16,
            VmdkSubformat.TWO_GB_MAX_EXTENT_FLAT, VhdSubformat.FIXED, 32768, 0x200000,
            0x2122232425262728L);

    static final String FULL_HEX = """
            49 53 45 52  03 00 00 00  36 00 00 00  00 10 00 00
            08 07 06 05  04 03 02 01  18 17 16 15  14 13 12 11
            00 00 01 00  10 04 01 00  00 80 00 00  00 00 20 00
            28 27 26 25  24 23 22 21  00 00 00 00  00 00 00 00
            00 00 00 00  00 00 00 00  00 00 00 00  00 00 00 00
            00 00 00 00  00 00 00 00  00 00 00 00  00 00 00 00
            00 00 00 00  00 00 00 00  00 00 00 00  00 00 00 00
            """;

    /** A raw shrink from 1 GiB to 512 MiB with defaults otherwise. */
    static final ResizeConfig SHRINK_RECORD =
            ResizeConfig.of(ImageFormat.RAW, 0x40000000L, 0x20000000L, 0x40000000L)
                    .withShrink(true).withQuiet(true);

    static final String SHRINK_HEX = """
            49 53 45 52  01 00 00 00  05 00 00 00  00 02 00 00
            00 00 00 40  00 00 00 00  00 00 00 20  00 00 00 00
            00 00 00 00  00 00 00 00  00 00 00 00  00 00 00 00
            00 00 00 40  00 00 00 00  00 00 00 00  00 00 00 00
            00 00 00 00  00 00 00 00  00 00 00 00  00 00 00 00
            00 00 00 00  00 00 00 00  00 00 00 00  00 00 00 00
            00 00 00 00  00 00 00 00  00 00 00 00  00 00 00 00
            """;

    static byte[] full() {
        return Hex.bytes(FULL_HEX);
    }

    @Test
    void layoutConstants() {
        assertThat(ResizeConfig.SIZE).isEqualTo(112);
        assertThat(ResizeConfig.MAGIC).isEqualTo(0x52455349);
        assertThat(ResizeConfig.OFFSET_MAGIC).isEqualTo(0);
        assertThat(ResizeConfig.OFFSET_TARGET_FORMAT).isEqualTo(4);
        assertThat(ResizeConfig.OFFSET_FLAGS).isEqualTo(8);
        assertThat(ResizeConfig.OFFSET_SECTOR_SIZE).isEqualTo(12);
        assertThat(ResizeConfig.OFFSET_CURRENT_VIRTUAL_SIZE).isEqualTo(16);
        assertThat(ResizeConfig.OFFSET_NEW_VIRTUAL_SIZE).isEqualTo(24);
        assertThat(ResizeConfig.OFFSET_QCOW2_CLUSTER_SIZE).isEqualTo(32);
        assertThat(ResizeConfig.OFFSET_QCOW2_REFCOUNT_BITS).isEqualTo(36);
        assertThat(ResizeConfig.OFFSET_VMDK_SUBFORMAT).isEqualTo(37);
        assertThat(ResizeConfig.OFFSET_VHD_SUBFORMAT).isEqualTo(38);
        assertThat(ResizeConfig.OFFSET_PAD).isEqualTo(39);
        assertThat(ResizeConfig.OFFSET_VMDK_GRAIN_SIZE).isEqualTo(40);
        assertThat(ResizeConfig.OFFSET_BLOCK_SIZE).isEqualTo(44);
        assertThat(ResizeConfig.OFFSET_CURRENT_FILE_SIZE).isEqualTo(48);
        assertThat(ResizeConfig.OFFSET_RESERVED).isEqualTo(56);
        assertThat(ResizeConfig.RESERVED_SIZE).isEqualTo(56);
        assertThat(ResizeConfig.FLAG_SHRINK).isEqualTo(1);
        assertThat(ResizeConfig.FLAG_EXTENDED_L2).isEqualTo(2);
        assertThat(ResizeConfig.FLAG_QUIET).isEqualTo(4);
        assertThat(ResizeConfig.PREALLOC_MASK).isEqualTo(0x30);
        assertThat(ResizeConfig.PREALLOC_SHIFT).isEqualTo(4);
    }

    @Test
    void goldenVectorsAre112Bytes() {
        assertThat(Hex.bytes(FULL_HEX)).hasSize(112);
        assertThat(Hex.bytes(SHRINK_HEX)).hasSize(112);
    }

    @Test
    void encodeMatchesGolden() {
        assertThat(FULL_RECORD.encode()).isEqualTo(Hex.bytes(FULL_HEX));
        assertThat(SHRINK_RECORD.encode()).isEqualTo(Hex.bytes(SHRINK_HEX));
    }

    @Test
    void decodeGolden() throws AbiException {
        assertThat(ResizeConfig.decode(Hex.bytes(FULL_HEX))).isEqualTo(FULL_RECORD);
        assertThat(ResizeConfig.decode(Hex.bytes(SHRINK_HEX))).isEqualTo(SHRINK_RECORD);
    }

    @Test
    void decodeByteBufferReadsFromPositionIgnoringOrderAndAdvances() throws AbiException {
        byte[] golden = full();
        ByteBuffer buf = ByteBuffer.allocate(3 + golden.length + 5).order(ByteOrder.BIG_ENDIAN);
        buf.put(new byte[] {(byte) 0xEE, (byte) 0xEE, (byte) 0xEE}).put(golden);
        buf.position(3);

        assertThat(ResizeConfig.decode(buf)).isEqualTo(FULL_RECORD);
        assertThat(buf.position()).isEqualTo(3 + 112);
        assertThat(buf.order()).isEqualTo(ByteOrder.BIG_ENDIAN);
    }

    @Test
    void decodeByteBufferFailureLeavesPosition() {
        byte[] bad = full();
        bad[0] = 0;
        ByteBuffer buf = ByteBuffer.wrap(bad);
        assertThatThrownBy(() -> ResizeConfig.decode(buf)).isInstanceOf(AbiException.class);
        assertThat(buf.position()).isZero();
    }

    @Test
    void decodeAcceptsLongerArrays() throws AbiException {
        byte[] longer = Arrays.copyOf(full(), 200);
        Arrays.fill(longer, 112, 200, (byte) 0x77);
        assertThat(ResizeConfig.decode(longer)).isEqualTo(FULL_RECORD);
    }

    @Test
    void padAndReservedBytesAreIgnoredOnDecode() throws AbiException {
        byte[] bytes = full();
        bytes[39] = (byte) 0x5A;
        Arrays.fill(bytes, 56, 112, (byte) 0xA5);
        assertThat(ResizeConfig.decode(bytes)).isEqualTo(FULL_RECORD);
    }

    @Test
    void encodeWritesZeroPadAndReserved() {
        byte[] bytes = FULL_RECORD.encode();
        assertThat(bytes[39]).isZero();
        assertThat(Arrays.copyOfRange(bytes, 56, 112)).containsOnly((byte) 0);
    }

    @ParameterizedTest
    @EnumSource(ImageFormat.class)
    void roundTripsEveryFormat(ImageFormat format) throws AbiException {
        ResizeConfig c = ResizeConfig.of(format, 1L << 30, 2L << 30, 12345);
        assertThat(ResizeConfig.decode(c.encode())).isEqualTo(c);
    }

    @ParameterizedTest
    @EnumSource(Preallocation.class)
    void roundTripsEveryPreallocation(Preallocation p) throws AbiException {
        ResizeConfig c = FULL_RECORD.withPreallocation(p);
        byte[] bytes = c.encode();
        assertThat(bytes[8] & ResizeConfig.PREALLOC_MASK).isEqualTo(p.code() << 4);
        assertThat(ResizeConfig.decode(bytes)).isEqualTo(c);
    }

    @ParameterizedTest
    @EnumSource(VmdkSubformat.class)
    void roundTripsEveryVmdkSubformat(VmdkSubformat s) throws AbiException {
        ResizeConfig c = new ResizeConfig(ImageFormat.VMDK_DESCRIPTOR, false, false, false,
                Preallocation.OFF, 512, 1, 2, 0, 0, s, VhdSubformat.DYNAMIC, 65536, 0, 3);
        assertThat(c.encode()[37]).isEqualTo((byte) s.code());
        assertThat(ResizeConfig.decode(c.encode())).isEqualTo(c);
    }

    @ParameterizedTest
    @EnumSource(VhdSubformat.class)
    void roundTripsEveryVhdSubformat(VhdSubformat s) throws AbiException {
        ResizeConfig c = new ResizeConfig(ImageFormat.VHD, true, false, false,
                Preallocation.OFF, 512, 4, 2, 0, 0, VmdkSubformat.MONOLITHIC_SPARSE, s, 0,
                0x200000, 3);
        assertThat(c.encode()[38]).isEqualTo((byte) s.code());
        assertThat(ResizeConfig.decode(c.encode())).isEqualTo(c);
    }

    @Test
    void roundTripsEveryFlagCombination() throws AbiException {
        for (int bits = 0; bits < 8; bits++) {
            ResizeConfig c = new ResizeConfig(ImageFormat.QCOW2, (bits & 1) != 0,
                    (bits & 2) != 0, (bits & 4) != 0, Preallocation.OFF, 512, 0, 0, 65536, 64,
                    VmdkSubformat.STREAM_OPTIMIZED, VhdSubformat.FIXED, 0, 0, 0);
            assertThat(c.encode()[8]).isEqualTo((byte) bits);
            assertThat(ResizeConfig.decode(c.encode())).isEqualTo(c);
        }
    }

    @Test
    void roundTripsExtremes() throws AbiException {
        ResizeConfig c = new ResizeConfig(ImageFormat.VHDX, false, false, false,
                Preallocation.METADATA, Integer.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE,
                Integer.MAX_VALUE, 64, VmdkSubformat.MONOLITHIC_FLAT, VhdSubformat.DYNAMIC,
                Integer.MAX_VALUE, Integer.MAX_VALUE, Long.MAX_VALUE);
        assertThat(ResizeConfig.decode(c.encode())).isEqualTo(c);
    }

    // ---- decoder errors ----

    private static AbiException decodeError(byte[] bytes) {
        try {
            ResizeConfig.decode(bytes);
        } catch (AbiException e) {
            return e;
        }
        throw new AssertionError("decode succeeded");
    }

    @Test
    void tooShort() {
        AbiException e = decodeError(new byte[111]);
        assertThat(e.code()).isEqualTo(ErrorCode.PARSE_FAILED);
        assertThat(e).hasMessage("ResizeConfig needs 112 bytes, got 111");

        assertThat(decodeError(new byte[0])).hasMessage("ResizeConfig needs 112 bytes, got 0");
        ByteBuffer buf = ByteBuffer.wrap(full());
        buf.position(1);
        assertThatThrownBy(() -> ResizeConfig.decode(buf))
                .hasMessage("ResizeConfig needs 112 bytes, got 111");
    }

    @Test
    void wrongMagic() {
        byte[] bytes = full();
        bytes[0] = 0x52; // big-endian "RESI"
        bytes[1] = 0x45;
        bytes[2] = 0x53;
        bytes[3] = 0x49;
        AbiException e = decodeError(bytes);
        assertThat(e.code()).isEqualTo(ErrorCode.PARSE_FAILED);
        assertThat(e).hasMessage(
                "ResizeConfig magic at offset 0 is 0x49534552, expected 0x52455349");
    }

    @Test
    void resizeResultBytesAreNotAConfig() {
        byte[] bytes = Arrays.copyOf(Hex.bytes("53 45 52 52"), 112);
        assertThat(decodeError(bytes).code()).isEqualTo(ErrorCode.PARSE_FAILED);
    }

    @ParameterizedTest
    @CsvSource({
        // offset, byte value, expected code, fragments the message must contain
        "8,  0x08, INVALID_OPTION,     offset 8;0x8",
        "8,  0x40, INVALID_OPTION,     offset 8;0x40",
        "8,  0xB6, INVALID_OPTION,     offset 8;0x80",
        "11, 0x80, INVALID_OPTION,     offset 8;0x80000000",
        "4,  0x19, UNSUPPORTED_FORMAT, offset 4;code 25",
        "7,  0x01, UNSUPPORTED_FORMAT, offset 4;code 16777219",
        "37, 0x05, INVALID_OPTION,     vmdk_subformat;offset 37;is 5",
        "37, 0xFF, INVALID_OPTION,     vmdk_subformat;offset 37;is 255",
        "38, 0x02, INVALID_OPTION,     vhd_subformat;offset 38;is 2",
        "36, 0x41, INVALID_OPTION,     qcow2_refcount_bits;offset 36;is 65",
        "15, 0x80, INVALID_OPTION,     sector_size;offset 12",
        "35, 0x80, INVALID_OPTION,     qcow2_cluster_size;offset 32",
        "43, 0x80, INVALID_OPTION,     vmdk_grain_size;offset 40",
        "47, 0x80, INVALID_OPTION,     block_size;offset 44",
        "23, 0x81, INVALID_NEW_SIZE,   current_virtual_size;offset 16;9295995896645158664",
        "31, 0x80, INVALID_NEW_SIZE,   new_virtual_size;offset 24",
        "55, 0xFF, INVALID_NEW_SIZE,   current_file_size;offset 48",
    })
    void rejectsBadField(int offset, String value, ErrorCode code, String fragments) {
        byte[] bytes = full();
        bytes[offset] = (byte) Integer.parseInt(value.substring(2), 16);
        AbiException e = decodeError(bytes);
        assertThat(e.code()).isEqualTo(code);
        assertThat(e.getMessage()).startsWith("ResizeConfig ")
                .contains(fragments.split(";"));
    }

    @Test
    void zeroSectorSize() {
        byte[] bytes = full();
        Arrays.fill(bytes, 12, 16, (byte) 0);
        AbiException e = decodeError(bytes);
        assertThat(e.code()).isEqualTo(ErrorCode.INVALID_OPTION);
        assertThat(e).hasMessage("ResizeConfig sector_size at offset 12 is 0, must be positive");
    }

    @ParameterizedTest
    @EnumSource(value = Preallocation.class, names = "OFF", mode = EnumSource.Mode.EXCLUDE)
    void shrinkWithPreallocation(Preallocation p) {
        byte[] bytes = Hex.bytes(SHRINK_HEX);
        bytes[8] = (byte) (0x05 | p.code() << 4);
        AbiException e = decodeError(bytes);
        assertThat(e.code()).isEqualTo(ErrorCode.INVALID_OPTION);
        assertThat(e).hasMessage("Preallocation can only be used for growing images");
    }

    // ---- construction ----

    @Test
    void factoryDefaults() {
        ResizeConfig c = ResizeConfig.of(ImageFormat.QCOW2, 1, 2, 3);
        assertThat(c).isEqualTo(new ResizeConfig(ImageFormat.QCOW2, false, false, false,
                Preallocation.OFF, 512, 1, 2, 0, 0, VmdkSubformat.MONOLITHIC_SPARSE,
                VhdSubformat.DYNAMIC, 0, 0, 3));
        assertThat(c.withShrink(true).shrink()).isTrue();
        assertThat(c.withQuiet(true).quiet()).isTrue();
        assertThat(c.withPreallocation(Preallocation.FALLOC).preallocation())
                .isEqualTo(Preallocation.FALLOC);
        assertThat(FULL_RECORD.withShrink(true).withShrink(false)).isEqualTo(FULL_RECORD);
    }

    @Test
    void constructorRejectsNullEnumsNamingTheField() {
        assertThatThrownBy(() -> ResizeConfig.of(null, 1, 2, 3))
                .isInstanceOf(NullPointerException.class).hasMessage("targetFormat");
        assertThatThrownBy(() -> FULL_RECORD.withPreallocation(null))
                .isInstanceOf(NullPointerException.class).hasMessage("preallocation");
        assertThatThrownBy(() -> new ResizeConfig(ImageFormat.RAW, false, false, false,
                Preallocation.OFF, 512, 0, 0, 0, 0, null, VhdSubformat.DYNAMIC, 0, 0, 0))
                .isInstanceOf(NullPointerException.class).hasMessage("vmdkSubformat");
        assertThatThrownBy(() -> new ResizeConfig(ImageFormat.RAW, false, false, false,
                Preallocation.OFF, 512, 0, 0, 0, 0, VmdkSubformat.MONOLITHIC_SPARSE, null, 0, 0,
                0)).isInstanceOf(NullPointerException.class).hasMessage("vhdSubformat");
    }

    @Test
    void constructorRejectsOutOfRangeValues() {
        assertThatThrownBy(() -> ResizeConfig.of(ImageFormat.RAW, -1, 0, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("currentVirtualSize");
        assertThatThrownBy(() -> ResizeConfig.of(ImageFormat.RAW, 0, -1, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("newVirtualSize");
        assertThatThrownBy(() -> ResizeConfig.of(ImageFormat.RAW, 0, 0, -1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("currentFileSize");
        assertThatThrownBy(() -> config(0, 0, 0, 0, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("sectorSize");
        assertThatThrownBy(() -> config(-512, 0, 0, 0, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("sectorSize");
        assertThatThrownBy(() -> config(512, -1, 0, 0, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("qcow2ClusterSize");
        assertThatThrownBy(() -> config(512, 0, 65, 0, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("qcow2RefcountBits");
        assertThatThrownBy(() -> config(512, 0, -1, 0, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("qcow2RefcountBits");
        assertThatThrownBy(() -> config(512, 0, 0, -1, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("vmdkGrainSize");
        assertThatThrownBy(() -> config(512, 0, 0, 0, -1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("blockSize");
    }

    private static ResizeConfig config(int sector, int cluster, int refcountBits, int grain,
            int block) {
        return new ResizeConfig(ImageFormat.RAW, false, false, false, Preallocation.OFF, sector,
                0, 0, cluster, refcountBits, VmdkSubformat.MONOLITHIC_SPARSE, VhdSubformat.DYNAMIC,
                grain, block, 0);
    }
}
