package org.diskplan.probe.vhd;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import org.diskplan.probe.vhd.VhdLayout.Geometry;
import org.junit.jupiter.api.Test;

/** VHD layout arithmetic against the specification's CHS algorithm and what qemu-img 7.2 writes. */
class VhdLayoutTest {

    @Test
    void specGeometryOf127GiB() {
        long sectors = (127L << 30) / 512; // 266338304
        // total ≥ 65535 × 16 × 63: 255 sectors per track, 16 heads, cylinders = total / 255 / 16
        assertThat(Geometry.of(sectors)).isEqualTo(new Geometry(65278, 16, 255));
        assertThat(Geometry.of(sectors).sectors()).isLessThan(sectors);
    }

    /** The geometries qemu-img create -f vpc writes (read back from its footers). */
    @Test
    void coveringGeometryIsQemuImgCreates() {
        assertThat(Geometry.covering((1L << 20) / 512)).isEqualTo(new Geometry(31, 4, 17));
        assertThat(Geometry.covering(12345L * 1024 / 512)).isEqualTo(new Geometry(364, 4, 17));
        assertThat(Geometry.covering((1L << 30) / 512)).isEqualTo(new Geometry(2081, 16, 63));
        assertThat(Geometry.covering((10L << 30) / 512)).isEqualTo(new Geometry(20806, 16, 63));
        assertThat(Geometry.covering((127L << 30) / 512)).isEqualTo(new Geometry(65279, 16, 255));
        assertThat(Geometry.covering((127L << 30) / 512).bytes()).isEqualTo(136365219840L);
        assertThat(Geometry.covering((200L << 30) / 512)).isEqualTo(Geometry.MAX);
        assertThat(Geometry.of(Long.MAX_VALUE)).isEqualTo(Geometry.MAX);
        assertThat(Geometry.MAX.sectors()).isEqualTo(267382800L);
    }

    @Test
    void smallDisksUseSeventeenSectorsAndAtLeastFourHeads() {
        assertThat(Geometry.of(17 * 4)).isEqualTo(new Geometry(1, 4, 17));
        // 1024 cylinders × 16 heads × 17 sectors no longer fit: 31 sectors per track
        assertThat(Geometry.of(17L * 16 * 1024).sectorsPerTrack()).isEqualTo(31);
        // nor 31 × 16 × 1024: 63 sectors per track
        assertThat(Geometry.of(31L * 16 * 1024).sectorsPerTrack()).isEqualTo(63);
    }

    @Test
    void readersTakeTheSizeFromTheGeometryUnlessTheCreatorSaysOtherwise() {
        Geometry g = new Geometry(31, 4, 17);
        assertThat(VhdLayout.sizeFromGeometry("vpc ", g)).isTrue();
        assertThat(VhdLayout.sizeFromGeometry("qemu", g)).isTrue();
        assertThat(VhdLayout.sizeFromGeometry("dpln", g)).isTrue();
        for (String app : new String[] {"win ", "qem2", "d2v ", "CTXS", "tap\0"}) {
            assertThat(VhdLayout.sizeFromGeometry(app, g)).as(app).isFalse();
        }
        assertThat(VhdLayout.sizeFromGeometry("vpc ", Geometry.MAX)).isFalse();
    }

    @Test
    void checksumIsTheOnesComplementOfTheByteSumWithoutTheField() throws IOException {
        assertThat(VhdLayout.checksum(new byte[512], VhdLayout.F_CHECKSUM)).isEqualTo(0xFFFF_FFFFL);
        byte[] b = new byte[512];
        b[0] = 1;
        b[511] = 2;
        b[VhdLayout.F_CHECKSUM] = 0x7f; // the field itself does not count
        assertThat(VhdLayout.checksum(b, VhdLayout.F_CHECKSUM)).isEqualTo(~3L & 0xFFFF_FFFFL);
        // a footer and a dynamic header written by qemu-img 7.2
        byte[] image;
        try (InputStream in = getClass().getResourceAsStream("qemu-dynamic-12345K-chs.vhd")) {
            image = in.readAllBytes();
        }
        byte[] footer = java.util.Arrays.copyOf(image, VhdLayout.FOOTER_SIZE);
        assertThat(VhdLayout.checksum(footer, VhdLayout.F_CHECKSUM))
                .isEqualTo(Integer.toUnsignedLong(ByteBuffer.wrap(footer).getInt(VhdLayout.F_CHECKSUM)));
        byte[] dyn = java.util.Arrays.copyOfRange(image, 512, 512 + VhdLayout.DYNAMIC_HEADER_SIZE);
        assertThat(VhdLayout.checksum(dyn, VhdLayout.D_CHECKSUM))
                .isEqualTo(Integer.toUnsignedLong(ByteBuffer.wrap(dyn).getInt(VhdLayout.D_CHECKSUM)));
    }

    @Test
    void batAndBitmaps() {
        assertThat(VhdLayout.batEntries(127L << 30, VhdLayout.DEFAULT_BLOCK_SIZE)).isEqualTo(65024);
        assertThat(VhdLayout.batEntries((2L << 20) + 1, VhdLayout.DEFAULT_BLOCK_SIZE)).isEqualTo(2);
        assertThat(VhdLayout.batBytes(63500)).isEqualTo(254464); // 254000 bytes, in whole sectors
        assertThat(VhdLayout.batBytes(128)).isEqualTo(512);
        assertThat(VhdLayout.bitmapSize(2L << 20)).isEqualTo(512); // 4096 sectors: 512 bytes of bits
        assertThat(VhdLayout.bitmapSize(512L << 10)).isEqualTo(512); // 128 bytes, one whole sector
        assertThat(VhdLayout.bitmapSize(32L << 20)).isEqualTo(8192);
        assertThat(VhdLayout.blockOffset(0x10)).isEqualTo(0x2000);
        assertThat(VhdLayout.blockOffset(-2)).isEqualTo(0xFFFF_FFFEL * 512);
        assertThat(VhdLayout.MAX_SECTORS * VhdLayout.SECTOR).isEqualTo(2040L << 30);
    }
}
