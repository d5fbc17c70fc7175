package org.diskplan.probe.vhdx;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;

/** VHDX layout arithmetic against [MS-VHDX] and qemu's vhdx_calc_bat_entries. */
class VhdxLayoutTest {
    private static final long MIB = 1 << 20;

    @Test
    void chunkRatioForBothSectorSizesAndSeveralBlockSizes() {
        assertThat(VhdxLayout.chunkRatio(512, MIB)).isEqualTo(4096);
        assertThat(VhdxLayout.chunkRatio(512, 32 * MIB)).isEqualTo(128);
        assertThat(VhdxLayout.chunkRatio(512, 256 * MIB)).isEqualTo(16);
        assertThat(VhdxLayout.chunkRatio(4096, MIB)).isEqualTo(32768);
        assertThat(VhdxLayout.chunkRatio(4096, 32 * MIB)).isEqualTo(1024);
        assertThat(VhdxLayout.chunkRatio(4096, 256 * MIB)).isEqualTo(128);
    }

    @Test
    void batEntriesInterleaveSectorBitmapEntries() {
        assertThat(VhdxLayout.payloadBlocks(0, 32 * MIB)).isZero();
        assertThat(VhdxLayout.payloadBlocks(32 * MIB + 512, 32 * MIB)).isEqualTo(2);
        assertThat(VhdxLayout.batEntries(0, 4096, false)).isZero();
        assertThat(VhdxLayout.batEntries(1, 4096, false)).isEqualTo(1);
        // no bitmap entry after the last chunk of a non-differencing disk
        assertThat(VhdxLayout.batEntries(4096, 4096, false)).isEqualTo(4096);
        assertThat(VhdxLayout.batEntries(4097, 4096, false)).isEqualTo(4098);
        // a differencing disk has every chunk's bitmap entry
        assertThat(VhdxLayout.batEntries(1, 4096, true)).isEqualTo(4097);
        assertThat(VhdxLayout.batEntries(4096, 4096, true)).isEqualTo(4097);
        assertThat(VhdxLayout.batEntries(4097, 4096, true)).isEqualTo(8194);
        // 64 TiB in 32 MiB blocks: 2^21 payload entries and 16383 bitmap entries between them
        long payload = VhdxLayout.payloadBlocks(VhdxLayout.MAX_VIRTUAL_SIZE, 32 * MIB);
        assertThat(payload).isEqualTo(1L << 21);
        assertThat(VhdxLayout.batEntries(payload, 128, false)).isEqualTo((1L << 21) + 16383);
    }

    @Test
    void batIndexAndItsInverse() {
        long ratio = 4096;
        assertThat(VhdxLayout.batIndex(0, ratio)).isZero();
        assertThat(VhdxLayout.batIndex(4095, ratio)).isEqualTo(4095);
        assertThat(VhdxLayout.batIndex(4096, ratio)).isEqualTo(4097); // index 4096 is chunk 0's bitmap
        assertThat(VhdxLayout.isSectorBitmapEntry(4096, ratio)).isTrue();
        assertThat(VhdxLayout.isSectorBitmapEntry(4095, ratio)).isFalse();
        assertThat(VhdxLayout.isSectorBitmapEntry(8193, ratio)).isTrue();
        for (long block : new long[] {0, 1, 4095, 4096, 4097, 123456}) {
            long index = VhdxLayout.batIndex(block, ratio);
            assertThat(VhdxLayout.isSectorBitmapEntry(index, ratio)).isFalse();
            assertThat(VhdxLayout.payloadBlockOf(index, ratio)).isEqualTo(block);
        }
    }

    @Test
    void batEntryEncoding() {
        long e = VhdxLayout.batEntry(VhdxLayout.STATE_FULLY_PRESENT, 5 * MIB);
        assertThat(e).isEqualTo(0x500006L);
        assertThat(VhdxLayout.batEntryState(e)).isEqualTo(VhdxLayout.STATE_FULLY_PRESENT);
        assertThat(VhdxLayout.batEntryOffsetMiB(e)).isEqualTo(5);
        assertThat(VhdxLayout.batEntry(VhdxLayout.STATE_ZERO, 0)).isEqualTo(2);
        assertThat(VhdxLayout.batEntryOffsetMiB(-1L)).isEqualTo((1L << 44) - 1);
    }

    /** The headers and region table of an image qemu-img 7.2 created carry these CRC-32C values. */
    @Test
    void crc32cOfQemusHeadersAndRegionTable() throws IOException {
        byte[] image;
        try (InputStream in = new GZIPInputStream(getClass().getResourceAsStream("/org/diskplan/probe/seeds/"
                + "vhdx-dynamic.vhdx.gz"))) {
            image = in.readNBytes((int) (VhdxLayout.REGION_TABLE2_OFFSET + VhdxLayout.REGION_TABLE_SIZE));
        }
        for (long at : new long[] {VhdxLayout.HEADER1_OFFSET, VhdxLayout.HEADER2_OFFSET}) {
            byte[] h = Arrays.copyOfRange(image, (int) at, (int) at + VhdxLayout.HEADER_SIZE);
            assertThat(VhdxLayout.crc32c(h, VhdxLayout.H_CHECKSUM)).isEqualTo(stored(h, VhdxLayout.H_CHECKSUM));
        }
        byte[] header1 = Arrays.copyOfRange(image, (int) VhdxLayout.HEADER1_OFFSET,
                (int) VhdxLayout.HEADER1_OFFSET + VhdxLayout.HEADER_SIZE);
        assertThat(VhdxLayout.crc32c(header1, VhdxLayout.H_CHECKSUM)).isEqualTo(0xef760401L);
        for (long at : new long[] {VhdxLayout.REGION_TABLE1_OFFSET, VhdxLayout.REGION_TABLE2_OFFSET}) {
            byte[] t = Arrays.copyOfRange(image, (int) at, (int) at + VhdxLayout.REGION_TABLE_SIZE);
            assertThat(VhdxLayout.crc32c(t, VhdxLayout.R_CHECKSUM)).isEqualTo(stored(t, VhdxLayout.R_CHECKSUM));
        }
        // the stored checksum itself never counts
        header1[VhdxLayout.H_CHECKSUM] ^= 0x55;
        assertThat(VhdxLayout.crc32c(header1, VhdxLayout.H_CHECKSUM)).isEqualTo(0xef760401L);
    }

    private static long stored(byte[] structure, int at) {
        return Integer.toUnsignedLong(ByteBuffer.wrap(structure).order(VhdxLayout.ORDER).getInt(at));
    }
}
