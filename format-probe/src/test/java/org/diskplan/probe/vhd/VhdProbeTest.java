package org.diskplan.probe.vhd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.diskplan.abi.ImageFormat;
import org.diskplan.probe.HeaderField;
import org.diskplan.probe.ImageReader;
import org.diskplan.probe.LayoutRegion;
import org.diskplan.probe.ProbeException;
import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.RegionKind;
import org.junit.jupiter.api.Test;

class VhdProbeTest {
    private static final Path PATH = Path.of("test.vhd");
    private static final long FIXED_DATA_OFFSET = -1L;

    /** A 512-byte VHD footer, big-endian, with a correct checksum. */
    static byte[] footer(String app, int type, long dataOffset, long currentSize, int cyl, int heads, int secs) {
        ByteBuffer b = ByteBuffer.allocate(512).order(ByteOrder.BIG_ENDIAN);
        b.put(0, "conectix".getBytes(StandardCharsets.US_ASCII));
        b.putInt(8, 2);
        b.putInt(12, 0x0001_0000);
        b.putLong(16, dataOffset);
        b.putInt(24, 12345);
        b.put(28, app.getBytes(StandardCharsets.ISO_8859_1));
        b.putInt(32, 0x0005_0003);
        b.put(36, "Wi2k".getBytes(StandardCharsets.US_ASCII));
        b.putLong(40, currentSize);
        b.putLong(48, currentSize);
        b.putShort(56, (short) cyl);
        b.put(58, (byte) heads);
        b.put(59, (byte) secs);
        b.putInt(60, type);
        for (int i = 0; i < 16; i++) {
            b.put(68 + i, (byte) (0x10 + i));
        }
        byte[] a = b.array();
        b.putInt(64, (int) VhdLayout.checksum(a, 64));
        return a;
    }

    static byte[] fixed(String app, long dataBytes, long currentSize, int cyl, int heads, int secs) {
        byte[] img = new byte[(int) dataBytes + 512];
        System.arraycopy(footer(app, 2, FIXED_DATA_OFFSET, currentSize, cyl, heads, secs), 0, img, (int) dataBytes,
                512);
        return img;
    }

    /**
     * A dynamic VHD: footer copy at 0, dynamic header at 512, BAT at 1536 (4 entries,
     * one sector), block 0 and block 2 allocated (block size 4096, bitmap 512), footer.
     */
    static byte[] dynamic() {
        int blockSize = 4096;
        int blockBytes = 512 + blockSize;
        int firstBlock = 2048;
        int size = firstBlock + 2 * blockBytes + 512;
        ByteBuffer b = ByteBuffer.allocate(size).order(ByteOrder.BIG_ENDIAN);
        byte[] f = footer("qem2", 3, 512, 16384, 0, 0, 0);
        b.put(0, f);
        b.put(size - 512, f);
        ByteBuffer d = ByteBuffer.allocate(1024).order(ByteOrder.BIG_ENDIAN);
        d.put(0, "cxsparse".getBytes(StandardCharsets.US_ASCII));
        d.putLong(8, -1L);
        d.putLong(16, 1536);
        d.putInt(24, 0x0001_0000);
        d.putInt(28, 4);
        d.putInt(32, blockSize);
        d.putInt(36, (int) VhdLayout.checksum(d.array(), 36));
        b.put(512, d.array());
        for (int i = 0; i < 128; i++) {
            b.putInt(1536 + 4 * i, -1);
        }
        b.putInt(1536, firstBlock / 512);
        b.putInt(1536 + 8, (firstBlock + blockBytes) / 512);
        return b.array();
    }

    static ProbedImage probe(byte[] img) throws ProbeException {
        return new VhdProbe().probe(PATH, new ArrayReader(img));
    }

    static HeaderField field(ProbedImage img, String group, String name) {
        return img.fields().stream().filter(f -> f.group().equals(group) && f.name().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no field " + group + "/" + name));
    }

    static void assertCovers(ProbedImage img) {
        long cursor = 0;
        for (LayoutRegion r : img.regions()) {
            assertThat(r.offset()).as("region %s", r).isEqualTo(cursor);
            assertThat(r.length()).as("region %s", r).isPositive();
            cursor = r.end();
        }
        assertThat(cursor).isEqualTo(img.fileSize());
        assertThat(img.regions().size()).isLessThanOrEqualTo(10_000);
    }

    @Test
    void fixedQemuImageReadsSizeFromGeometry() throws Exception {
        // qemu-img create -f vpc -o subformat=fixed 1M: geometry 31/4/17 = 2108 sectors
        byte[] img = fixed("qemu", 1_079_296, 1_079_296, 31, 4, 17);
        ProbedImage p = probe(img);
        assertThat(p.format()).isEqualTo(ImageFormat.VHD);
        assertThat(p.subformat()).isEqualTo("fixed");
        assertThat(p.virtualSize()).isEqualTo(31L * 4 * 17 * 512);
        assertThat(p.allocationUnit()).isZero();
        assertThat(p.flags()).contains("creator: qemu", "size from CHS geometry 31/4/17");
        HeaderField cyl = field(p, "VHD footer", "cylinders");
        assertThat(cyl.offset()).isEqualTo(1_079_296 + 56);
        assertThat(cyl.value()).isEqualTo("31");
        assertThat(field(p, "VHD footer", "disk_type").value()).isEqualTo("2 (fixed)");
        assertThat(field(p, "VHD footer", "checksum (computed)").value()).endsWith("(valid)");
        assertThat(field(p, "VHD footer", "unique_id").value()).isEqualTo("10111213-1415-1617-1819-1a1b1c1d1e1f");
        assertThat(p.regions()).extracting(LayoutRegion::kind).containsExactly(RegionKind.DATA, RegionKind.FOOTER);
        assertCovers(p);
        VhdHeader h = (VhdHeader) p.header();
        assertThat(h.footerOffset()).isEqualTo(1_079_296);
        assertThat(h.sizeFromGeometry()).isTrue();
        assertThat(h.hasFooterCopy()).isFalse();
    }

    @Test
    void currentSizeCreatorsAndMaximumGeometryUseCurrentSize() throws Exception {
        for (String app : List.of("win ", "qem2", "d2v ", "CTXS", "tap\0")) {
            ProbedImage p = probe(fixed(app, 4096, 4000, 1, 1, 1));
            assertThat(p.virtualSize()).as(app).isEqualTo(3584);
            assertThat(p.flags()).contains("size from current_size");
        }
        assertThat(probe(fixed("tap\0", 4096, 4096, 1, 1, 1)).flags()).contains("creator: tap\\x00");
        // 'vpc ' with the maximum geometry 65535/16/255 also means current_size
        ProbedImage max = probe(fixed("vpc ", 4096, 4096, 65535, 16, 255));
        assertThat(max.virtualSize()).isEqualTo(4096);
        // an unknown creator reads geometry, like 'vpc '
        assertThat(probe(fixed("abcd", 4096, 4096, 2, 2, 1)).virtualSize()).isEqualTo(2048);
    }

    @Test
    void oldImagesWithA511ByteFooter() throws Exception {
        byte[] full = fixed("vpc ", 8192, 8192, 4, 4, 1);
        byte[] old = Arrays.copyOf(full, full.length - 1);
        ProbedImage p = probe(old);
        assertThat(p.virtualSize()).isEqualTo(8192);
        assertThat(p.flags()).contains("511-byte footer (made before Virtual PC 2004)");
        assertThat(field(p, "VHD footer", "checksum (computed)").value()).endsWith("(valid)");
        assertThat(((VhdHeader) p.header()).footerLength()).isEqualTo(511);
        assertThat(p.regions().get(1)).isEqualTo(new LayoutRegion(RegionKind.FOOTER, 8192, 511, "VHD footer"));
        assertCovers(p);
    }

    @Test
    void dynamicImageFieldsBatAndRegions() throws Exception {
        byte[] img = dynamic();
        ProbedImage p = probe(img);
        assertThat(p.subformat()).isEqualTo("dynamic");
        assertThat(p.virtualSize()).isEqualTo(16384);
        assertThat(p.allocationUnit()).isEqualTo(4096);
        assertThat(field(p, "dynamic header", "table_offset").offset()).isEqualTo(512 + 16);
        assertThat(field(p, "dynamic header", "table_offset").value()).isEqualTo("1536 (0x600)");
        assertThat(field(p, "dynamic header", "max_table_entries").value()).isEqualTo("4 (0x4)");
        assertThat(field(p, "dynamic header", "checksum (computed)").value()).endsWith("(valid)");
        assertThat(field(p, "BAT", "summary").value()).contains("4 entries", "2 allocated", "2 absent");
        assertThat(field(p, "dynamic header: parent locator 8", "platform_data_offset").offset())
                .isEqualTo(512 + 576 + 7 * 24 + 16);
        assertThat(p.regions()).extracting(LayoutRegion::kind).containsExactly(RegionKind.HEADER,
                RegionKind.HEADER, RegionKind.TABLE, RegionKind.DATA, RegionKind.FOOTER);
        assertThat(p.regions().get(3).offset()).isEqualTo(2048);
        assertThat(p.regions().get(3).length()).isEqualTo(2 * (512 + 4096));
        assertCovers(p);
        VhdHeader h = (VhdHeader) p.header();
        assertThat(h.batOffset()).isEqualTo(1536);
        assertThat(h.allocatedBlocks()).isEqualTo(2);
        assertThat(h.bitmapSize()).isEqualTo(512);
        assertThat(h.firstDataBlockOffset()).isEqualTo(2048);
        assertThat(h.dataEnd()).isEqualTo(img.length - 512);
        assertThat(h.dynamicHeaderOffset()).isEqualTo(512);
    }

    @Test
    void badChecksumIsReportedNotFatal() throws Exception {
        byte[] img = fixed("qemu", 4096, 4096, 2, 2, 2);
        img[4096 + 40] ^= 1;
        ProbedImage p = probe(img);
        assertThat(field(p, "VHD footer", "checksum (computed)").value()).endsWith("(MISMATCH)");
        assertThat(p.flags()).anyMatch(f -> f.startsWith("corrupt: footer checksum"));
        assertThat(((VhdHeader) p.header()).footerChecksumValid()).isFalse();
    }

    @Test
    void hostileValuesNameTheField() {
        byte[] img = dynamic();
        ByteBuffer.wrap(img).putInt(512 + 32, 3000); // block size not a power of two
        assertThatThrownBy(() -> probe(img)).isInstanceOf(ProbeException.class)
                .hasMessageContaining("block_size at offset 544");
        byte[] img2 = dynamic();
        ByteBuffer.wrap(img2).putLong(16, 1L << 40); // data offset beyond the file
        assertThatThrownBy(() -> probe(img2)).isInstanceOf(ProbeException.class)
                .hasMessageContaining("data_offset at offset 16");
        byte[] huge = fixed("qem2", 1024, -1L, 1, 1, 1);
        assertThatThrownBy(() -> probe(huge)).isInstanceOf(ProbeException.class)
                .hasMessageContaining("current_size at offset 1072").hasMessageContaining("2040 GiB");
        assertThatThrownBy(() -> probe(new byte[600])).isInstanceOf(ProbeException.class)
                .hasMessageContaining("cookie");
    }

    /**
     * qemu's vpc_open checks no overlap, but a resize writes the footer copy, the dynamic
     * header, the BAT and the footer at the end: a block or a BAT on top of one of them would
     * change it (a block's guest data, the header's checksum). Flagged corrupt, naming the
     * entry or field and its offset.
     */
    @Test
    void blocksAndBatOverWrittenStructuresAreCorrupt() throws Exception {
        assertThat(probe(dynamic()).flags()).noneMatch(f -> f.startsWith("corrupt"));

        byte[] onCopy = dynamic();
        ByteBuffer.wrap(onCopy).putInt(1536, 0);
        assertThat(probe(onCopy).flags()).contains("corrupt: BAT entry 0 at offset 1536 places its block (0 to "
                + "4608, bitmap and data) over the footer copy (0 to 512) (a resize writes there: the block's data "
                + "would change)");

        byte[] onTail = dynamic();
        ByteBuffer.wrap(onTail).putInt(1536 + 8, (onTail.length - 4608) / 512);
        assertThat(probe(onTail).flags()).anyMatch(f -> f.startsWith("corrupt: BAT entry 2 at offset 1544 places "
                + "its block (" + (onTail.length - 4608) + " to " + onTail.length + ", bitmap and data) over the "
                + "footer (" + (onTail.length - 512) + " to " + onTail.length + ")"));

        byte[] batInBlock = dynamic();
        ByteBuffer b = ByteBuffer.wrap(batInBlock);
        for (int i = 0; i < 4; i++) {
            b.putInt(2048 + 1024 + 4 * i, b.getInt(1536 + 4 * i));
        }
        setTableOffset(batInBlock, 2048 + 1024);
        assertThat(probe(batInBlock).flags()).anyMatch(f -> f.startsWith("corrupt: BAT entry 0 at offset 3072 "
                + "places its block (2048 to 6656, bitmap and data) over the BAT (3072 to 3088)"));

        byte[] batInHeader = dynamic();
        ByteBuffer.wrap(batInHeader).putLong(1024, -1L).putLong(1032, -1L);
        setTableOffset(batInHeader, 1024);
        assertThat(probe(batInHeader).flags()).contains("corrupt: dynamic header field table_offset at offset 528: "
                + "the BAT (1024 to 1040) overlaps the dynamic header (512 to 1536) (a resize writes both)");
    }

    /** The dynamic header moved to the last 1024 bytes: its second half is the footer at the end. */
    @Test
    void dynamicHeaderOnTheFooterAtTheEndIsCorrupt() throws Exception {
        byte[] img = dynamic();
        int at = img.length - 1024;
        ByteBuffer b = ByteBuffer.wrap(img);
        byte[] header = Arrays.copyOfRange(img, 512, 1536);
        byte[] f = footer("qem2", 3, at, 16384, 0, 0, 0);
        b.put(0, f);
        System.arraycopy(f, 0, header, 512, 512);
        ByteBuffer.wrap(header).putInt(36, 0).putInt(36, (int) VhdLayout.checksum(header, 36));
        b.put(at, header);
        assertThat(probe(img).flags()).contains("corrupt: VHD footer field data_offset at offset 16: the dynamic "
                + "header (" + at + " to " + img.length + ") overlaps the footer (" + (img.length - 512) + " to "
                + img.length + ") (a resize writes both)");
    }

    private static void setTableOffset(byte[] img, long at) {
        ByteBuffer b = ByteBuffer.wrap(img);
        b.putLong(512 + 16, at);
        b.putInt(512 + 36, 0);
        b.putInt(512 + 36, (int) VhdLayout.checksum(Arrays.copyOfRange(img, 512, 1536), 36));
    }

    @Test
    void batBeyondFileIsBoundedByFileSize() throws Exception {
        byte[] img = dynamic();
        ByteBuffer.wrap(img).putInt(512 + 28, 0x7fff_ffff); // max_table_entries
        ProbedImage p = probe(img);
        VhdHeader h = (VhdHeader) p.header();
        assertThat(h.batEntriesRead()).isEqualTo((img.length - 1536) / 4);
        assertThat(p.flags()).anyMatch(f -> f.contains("runs past the end of the file"));
        assertCovers(p);
    }

    @Test
    void seededMutationsEndInAnImageOrAProbeException() {
        List<byte[]> seeds = List.of(dynamic(), fixed("qemu", 8192, 8192, 4, 4, 1),
                Arrays.copyOf(fixed("vpc ", 4096, 4096, 2, 4, 1), 4607), dynamicWithParent());
        Random rnd = new Random(0x5eed_0d15L);
        long[] extremes = {0, 0xFFFF_FFFFL, 1L << 63, -1L, 0x7FFF_FFFFL, 512, 1L << 32};
        for (int n = 0; n < 20_000; n++) {
            byte[] seed = seeds.get(n % seeds.size());
            byte[] img = seed.clone();
            int kind = rnd.nextInt(4);
            if (kind == 0) {
                for (int k = 1 + rnd.nextInt(8); k > 0; k--) {
                    img[rnd.nextInt(img.length)] ^= (byte) (1 << rnd.nextInt(8));
                }
            } else if (kind == 1) {
                int at = structureOffset(rnd, img.length) + 4 * rnd.nextInt(20);
                long v = extremes[rnd.nextInt(extremes.length)];
                if (at + 8 <= img.length) {
                    ByteBuffer.wrap(img).putLong(at, v);
                }
            } else if (kind == 2) {
                int at = structureOffset(rnd, img.length) + rnd.nextInt(96);
                long v = extremes[rnd.nextInt(extremes.length)];
                if (at + 4 <= img.length) {
                    ByteBuffer.wrap(img).putInt(at, (int) v);
                }
                refreshChecksums(img);
            } else {
                img = Arrays.copyOf(img, rnd.nextInt(img.length + 1));
            }
            try {
                ProbedImage p = probe(img);
                assertCovers(p);
                assertThat(p.virtualSize()).isNotNegative();
            } catch (ProbeException e) {
                assertThat(e.getMessage()).isNotBlank();
            } catch (Throwable t) {
                fail("mutation " + n + " threw " + t, t);
            }
        }
    }

    private static int structureOffset(Random rnd, int length) {
        int[] starts = {0, 512, 512 + 512, 1536, Math.max(0, length - 512)};
        return starts[rnd.nextInt(starts.length)];
    }

    private static void refreshChecksums(byte[] img) {
        ByteBuffer b = ByteBuffer.wrap(img);
        if (img.length >= 512) {
            byte[] head = Arrays.copyOf(img, 512);
            b.putInt(64, (int) VhdLayout.checksum(head, 64));
            byte[] tail = Arrays.copyOfRange(img, img.length - 512, img.length);
            b.putInt(img.length - 512 + 64, (int) VhdLayout.checksum(tail, 64));
        }
    }

    /** A differencing disk with a W2ku parent locator. */
    static byte[] dynamicWithParent() {
        byte[] img = dynamic();
        ByteBuffer b = ByteBuffer.wrap(img);
        byte[] f = footer("qem2", 4, 512, 16384, 0, 0, 0);
        b.put(0, f);
        b.put(img.length - 512, f);
        byte[] name = "parent.vhd".getBytes(StandardCharsets.UTF_16BE);
        b.put(512 + 64, name);
        b.putInt(512 + 576, 0x5732_6B75); // W2ku
        b.putInt(512 + 576 + 4, 512);
        b.putInt(512 + 576 + 8, 20);
        b.putLong(512 + 576 + 16, 1536 + 16); // inside the BAT's unused tail
        b.put(1536 + 16, ".\\parent.vhd".substring(0, 10).getBytes(StandardCharsets.UTF_16LE));
        byte[] d = Arrays.copyOfRange(img, 512, 1536);
        b.putInt(512 + 36, 0);
        b.putInt(512 + 36, (int) VhdLayout.checksum(d, 36));
        return img;
    }

    @Test
    void differencingDiskShowsParent() throws Exception {
        ProbedImage p = probe(dynamicWithParent());
        assertThat(p.subformat()).isEqualTo("differencing");
        assertThat(p.flags()).contains("has parent: parent.vhd");
        assertThat(field(p, "dynamic header", "parent_unicode_name").value()).isEqualTo("'parent.vhd'");
        assertThat(field(p, "parent locator 1 data", "platform_data").value()).isEqualTo("'.\\parent.v'");
        assertCovers(p);
    }

    /** An {@link ImageReader} over bytes that does not copy them (the mutation test makes many). */
    static final class ArrayReader implements ImageReader {
        private final byte[] bytes;

        ArrayReader(byte[] bytes) {
            this.bytes = bytes;
        }

        @Override
        public long size() {
            return bytes.length;
        }

        @Override
        public void readFullyUnchecked(long offset, byte[] into, int length) {
            System.arraycopy(bytes, (int) offset, into, 0, length);
        }
    }
}
