package org.diskplan.probe.vdi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.diskplan.abi.ImageFormat;
import org.diskplan.probe.ByteArrayImageReader;
import org.diskplan.probe.HeaderField;
import org.diskplan.probe.ImageProber;
import org.diskplan.probe.LayoutRegion;
import org.diskplan.probe.ProbeException;
import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.RegionKind;
import org.junit.jupiter.api.Test;

class VdiProbeTest {
    static final Path PATH = Path.of("test.vdi");

    /**
     * A VDI 1.1 image: header (VirtualBox's 400-byte cbHeader with LCHS geometry, or qemu's 384),
     * block map at 512, data after the map; {@code map} holds the entries, host blocks are filled.
     */
    static byte[] vdi(int type, long cbDisk, int cbBlock, int headerSize, long[] map) {
        int mapBytes = (map.length * 4 + 511) / 512 * 512;
        int offData = 512 + mapBytes;
        long highest = -1;
        long allocated = 0;
        for (long e : map) {
            if (e < 0xfffffffeL) {
                highest = Math.max(highest, e);
                allocated++;
            }
        }
        ByteBuffer b = ByteBuffer.allocate((int) (offData + (highest + 1) * cbBlock)).order(ByteOrder.LITTLE_ENDIAN);
        b.put(0, "<<< Oracle VM VirtualBox Disk Image >>>\n".getBytes(StandardCharsets.US_ASCII));
        b.putInt(64, 0xbeda107f);
        b.putInt(68, 0x00010001);
        b.putInt(72, headerSize);
        b.putInt(76, type);
        b.putInt(80, 0);
        b.put(84, "a comment".getBytes(StandardCharsets.US_ASCII));
        b.putInt(340, 512);
        b.putInt(344, offData);
        b.putInt(348, 0);
        b.putInt(360, 512);
        b.putLong(368, cbDisk);
        b.putInt(376, cbBlock);
        b.putInt(384, map.length);
        b.putInt(388, (int) allocated);
        for (int i = 0; i < 16; i++) {
            b.put(392 + i, (byte) (0x10 + i));
            b.put(408 + i, (byte) (0x20 + i));
        }
        if (headerSize >= 400) {
            b.putInt(456, 1024);
            b.putInt(460, 16);
            b.putInt(464, 63);
            b.putInt(468, 512);
        }
        for (int i = 0; i < map.length; i++) {
            b.putInt(512 + i * 4, (int) map[i]);
        }
        for (long h = 0; h <= highest; h++) {
            b.put((int) (offData + h * cbBlock), (byte) (h + 1));
        }
        return b.array();
    }

    static byte[] dynamic() {
        long f = 0xffffffffL;
        return vdi(1, 10 * 4096 - 1000, 4096, 400, new long[] {0, f, 2, f, 0xfffffffeL, 1, f, f, f, f});
    }

    private static ProbedImage probe(byte[] bytes) throws ProbeException {
        return new VdiProbe().probe(PATH, new ByteArrayImageReader(bytes));
    }

    private static HeaderField field(ProbedImage img, String name) {
        return img.fields().stream().filter(f -> f.name().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no field " + name));
    }

    static void assertCoversFile(ProbedImage img) {
        List<LayoutRegion> regions = img.regions();
        assertThat(regions.size()).isLessThanOrEqualTo(10_000);
        long pos = 0;
        for (LayoutRegion r : regions) {
            assertThat(r.offset()).as("region %s", r).isEqualTo(pos);
            assertThat(r.length()).as("region %s", r).isPositive();
            pos = r.end();
        }
        assertThat(pos).isEqualTo(img.fileSize());
    }

    @Test
    void dynamicImage() throws Exception {
        byte[] bytes = dynamic();
        ProbedImage img = ImageProber.probe(PATH, new ByteArrayImageReader(bytes), Optional.empty());
        assertThat(img.format()).isEqualTo(ImageFormat.VDI);
        assertThat(img.subformat()).isEqualTo("dynamic");
        // cbDisk 39960 is not sector-aligned: qemu rounds up to 40448
        assertThat(img.virtualSize()).isEqualTo(40448);
        assertThat(img.allocationUnit()).isEqualTo(4096);
        assertThat(img.flags()).contains("block size 4096 (qemu opens only 1 MiB blocks)", "comment: a comment",
                "disk size 39960 is not a multiple of 512; qemu reads it as 40448");

        assertThat(field(img, "u32Signature").offset()).isEqualTo(64);
        assertThat(field(img, "u32Signature").value()).isEqualTo("0xbeda107f");
        assertThat(field(img, "u32Version").value()).isEqualTo("1.1 (0x00010001)");
        assertThat(field(img, "cbHeader").value()).startsWith("400");
        assertThat(field(img, "u32Type").value()).isEqualTo("1 (dynamic)");
        assertThat(field(img, "offBlocks").offset()).isEqualTo(340);
        assertThat(field(img, "offData").offset()).isEqualTo(344);
        assertThat(field(img, "cbDisk").offset()).isEqualTo(368);
        assertThat(field(img, "cbDisk").length()).isEqualTo(8);
        assertThat(field(img, "cbBlock").offset()).isEqualTo(376);
        assertThat(field(img, "cBlocks").offset()).isEqualTo(384);
        assertThat(field(img, "cBlocksAllocated").offset()).isEqualTo(388);
        assertThat(field(img, "uuidCreate").offset()).isEqualTo(392);
        assertThat(field(img, "uuidCreate").value()).isEqualTo("13121110-1514-1716-1819-1a1b1c1d1e1f");
        assertThat(field(img, "uuidParentModify").offset()).isEqualTo(440);
        assertThat(field(img, "LCHSGeometry.cCylinders").offset()).isEqualTo(456);
        assertThat(field(img, "LCHSGeometry.cCylinders").value()).startsWith("1024");
        assertThat(field(img, "allocated entries").value()).isEqualTo("3");
        assertThat(field(img, "zero entries").value()).isEqualTo("1");
        assertThat(field(img, "free entries").value()).isEqualTo("6");

        VdiHeader h = (VdiHeader) img.header();
        assertThat(h.diskSize()).isEqualTo(39960);
        assertThat(h.blockCount()).isEqualTo(10);
        assertThat(h.blocksOffset()).isEqualTo(512);
        assertThat(h.dataOffset()).isEqualTo(1024);
        assertThat(h.mapAllocated()).isEqualTo(3);
        assertThat(h.highestBlockIndex()).isEqualTo(2);
        assertThat(h.dataEnd()).isEqualTo(1024 + 3 * 4096);
        assertThat(h.hasLchsGeometry()).isTrue();
        assertThat(h.isDynamic()).isTrue();

        assertCoversFile(img);
        assertThat(img.regions()).containsExactly(
                new LayoutRegion(RegionKind.HEADER, 0, 472, "VDI pre-header and header"),
                new LayoutRegion(RegionKind.FREE, 472, 40, "unused"),
                new LayoutRegion(RegionKind.TABLE, 512, 40, "block map (10 entries)"),
                new LayoutRegion(RegionKind.FREE, 552, 472, "unused"),
                new LayoutRegion(RegionKind.DATA, 1024, 3 * 4096, "data blocks"));
    }

    @Test
    void fixedImageWithQemuHeaderSize() throws Exception {
        byte[] bytes = vdi(2, 3 * 4096, 4096, 384, new long[] {0, 1, 2});
        ProbedImage img = probe(bytes);
        assertThat(img.subformat()).isEqualTo("static");
        assertThat(img.virtualSize()).isEqualTo(3 * 4096);
        assertThat(img.fields()).noneMatch(f -> f.name().startsWith("LCHS"));
        assertThat(img.regions().get(0).length()).isEqualTo(456);
        assertCoversFile(img);
    }

    @Test
    void qemuFixture() throws Exception {
        byte[] bytes;
        try (InputStream in = getClass().getResourceAsStream("qemu-dynamic-1m.vdi")) {
            bytes = in.readAllBytes();
        }
        ProbedImage img = probe(bytes);
        // qemu-img info --output=json: "virtual-size": 1048576, cluster size 1 MiB
        assertThat(img.virtualSize()).isEqualTo(1 << 20);
        assertThat(img.allocationUnit()).isEqualTo(1 << 20);
        assertThat(img.subformat()).isEqualTo("dynamic");
        assertThat(img.flags()).isEmpty();
        assertThat(field(img, "szFileInfo").value()).isEqualTo("'<<< QEMU VM Virtual Disk Image >>>\\x0a'");
        assertCoversFile(img);
    }

    @Test
    void corruptMapsAreFlagged() throws Exception {
        long f = 0xffffffffL;
        byte[] bytes = vdi(1, 4 * 4096, 4096, 400, new long[] {0, 0, 1, f});
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt(512 + 12, 1_000_000);
        ProbedImage img = probe(bytes);
        assertThat(img.flags()).anyMatch(s -> s.contains("share a host block"));
        assertThat(img.flags()).anyMatch(s -> s.contains("beyond the end of the file (first: block 3)"));
        assertThat(img.flags()).anyMatch(s -> s.startsWith("cBlocksAllocated says 3"));
        assertCoversFile(img);
    }

    @Test
    void parentIsFlagged() throws Exception {
        byte[] bytes = dynamic();
        bytes[424] = 1;
        bytes[76] = 4;
        assertThat(probe(bytes).flags()).anyMatch(s -> s.startsWith("has parent 00000001-"));
        assertThat(probe(bytes).subformat()).isEqualTo("diff");
    }

    @Test
    void hostileFieldsAreRefusedByName() {
        assertRefused(64, 4, 0x12345678, "u32Signature at offset 64");
        assertRefused(68, 4, 0x00010000, "u32Version at offset 68");
        assertRefused(340, 4, 513, "offBlocks at offset 340");
        assertRefused(344, 4, 1025, "offData at offset 344");
        assertRefused(360, 4, 4096, "cbSector at offset 360");
        assertRefused(376, 4, 0, "cbBlock at offset 376");
        assertRefused(376, 4, 3000, "cbBlock at offset 376");
        assertRefused(380, 4, 7, "cbBlockExtra at offset 380");
        assertRefused(384, 4, -1, "cBlocks at offset 384");
        assertRefused(368, 8, -1, "cbDisk at offset 368");
    }

    /**
     * qemu's vdi_open checks no overlap: it opens a map on the header, a data area over the
     * map and a map past the end of the file (reading zeros there). Flagged corrupt, naming the
     * field, so that info shows them and the planner refuses them.
     */
    @Test
    void overlappingStructuresAreFlaggedCorrupt() throws Exception {
        assertThat(flagsWith(340, 0)).contains("corrupt: VDI header field offBlocks at offset 340: block map offset 0 "
                + "overlaps the header (ends at 472); VirtualBox refuses it (qemu opens it)");
        assertThat(flagsWith(344, 512)).anyMatch(f -> f.startsWith("corrupt: VDI header field offData at offset "
                + "344: the data area from offset 512 overlaps the block map [512, "));
        assertThat(flagsWith(384, 100_000)).anyMatch(f -> f.startsWith("corrupt: VDI header field cBlocks at offset "
                + "384: block map of 100000 entries at offset 512 (400000 bytes) runs past the end of the file"));
    }

    private static List<String> flagsWith(int off, int value) throws ProbeException {
        byte[] b = dynamic();
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(off, value);
        ProbedImage img = probe(b);
        assertCoversFile(img);
        return img.flags();
    }

    private static void assertRefused(int off, int len, long value, String message) {
        byte[] b = dynamic();
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        if (len == 8) {
            bb.putLong(off, value);
        } else {
            bb.putInt(off, (int) value);
        }
        assertThatThrownBy(() -> probe(b)).isInstanceOf(ProbeException.class).hasMessageContaining(message);
    }

    @Test
    void truncatedHeaderIsRefused() {
        assertThatThrownBy(() -> probe(Arrays.copyOf(dynamic(), 500))).isInstanceOf(ProbeException.class)
                .hasMessageContaining("512-byte header");
    }

    @Test
    void hugeDynamicImageProbesFast() throws Exception {
        // 2^22 blocks of 1 MiB = 4 TiB, map of 16 MiB, nothing allocated
        int blocks = 1 << 22;
        ByteBuffer b = ByteBuffer.allocate(512 + blocks * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(64, 0xbeda107f);
        b.putInt(68, 0x00010001);
        b.putInt(72, 384);
        b.putInt(76, 1);
        b.putInt(340, 512);
        b.putInt(344, 512 + blocks * 4);
        b.putInt(360, 512);
        b.putLong(368, (long) blocks << 20);
        b.putInt(376, 1 << 20);
        b.putInt(384, blocks);
        for (int i = 0; i < blocks; i++) {
            b.putInt(512 + i * 4, -1);
        }
        long t = System.nanoTime();
        ProbedImage img = probe(b.array());
        assertThat((System.nanoTime() - t) / 1_000_000).isLessThan(3_000);
        assertThat(img.virtualSize()).isEqualTo(4L << 40);
        assertCoversFile(img);
    }
}
