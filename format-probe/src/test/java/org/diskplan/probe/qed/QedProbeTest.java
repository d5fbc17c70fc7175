package org.diskplan.probe.qed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.diskplan.abi.ImageFormat;
import org.diskplan.probe.ByteArrayImageReader;
import org.diskplan.probe.HeaderField;
import org.diskplan.probe.LayoutRegion;
import org.diskplan.probe.ProbeException;
import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.RegionKind;
import org.junit.jupiter.api.Test;

class QedProbeTest {
    static final int CS = 4096;

    /**
     * Header cluster 0 (backing "base.raw" at 64), L1 at clusters 1-2, L2 at 3-4, data at 5, unused cluster 6;
     * tables of 2 clusters (qemu refuses 1), 8 MiB virtual.
     */
    static byte[] image() {
        ByteBuffer b = ByteBuffer.allocate(7 * CS).order(ByteOrder.LITTLE_ENDIAN);
        b.put(0, new byte[] {'Q', 'E', 'D', 0});
        b.putInt(4, CS);
        b.putInt(8, 2);
        b.putInt(12, 1);
        b.putLong(16, QedHeader.F_BACKING_FILE | QedHeader.F_NEED_CHECK);
        b.putLong(40, CS);
        b.putLong(48, 8L << 20);
        b.putInt(56, 64);
        b.putInt(60, 8);
        b.put(64, "base.raw".getBytes(StandardCharsets.US_ASCII));
        b.putLong(CS, 3L * CS);
        b.putLong(3 * CS, 5L * CS);
        b.putLong(3 * CS + 8, 1); // zero cluster
        return b.array();
    }

    static ProbedImage probe(byte[] b) throws ProbeException {
        return new QedProbe().probe(Path.of("t.qed"), new ByteArrayImageReader(b));
    }

    static HeaderField field(ProbedImage img, String group, String name) {
        return img.fields().stream().filter(f -> f.group().equals(group) && f.name().equals(name)).findFirst()
                .orElseThrow();
    }

    /** qemu reads the backing file name inside the 64 header bytes too; shown, flagged. */
    @Test
    void aBackingFileNameInsideTheHeaderFieldsIsFlagged() throws Exception {
        byte[] b = image();
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(48, 0x30303000L).putInt(56, 49).putInt(60, 3);
        ProbedImage img = probe(b);
        assertThat(img.flags()).contains("backing file: 000", "corrupt: QED header field backing_filename_offset at "
                + "offset 56: the backing file name (49 to 52) overlaps the 64-byte header (0 to 64)");
        assertThat(probe(image()).flags()).noneMatch(f -> f.startsWith("corrupt"));
    }

    @Test
    void parsesHeaderTablesAndLayout() throws Exception {
        ProbedImage img = probe(image());
        assertThat(img.format()).isEqualTo(ImageFormat.QED);
        assertThat(img.virtualSize()).isEqualTo(8L << 20);
        assertThat(img.allocationUnit()).isEqualTo(CS);
        assertThat(field(img, "QED header", "image_size").offset()).isEqualTo(48);
        assertThat(field(img, "QED header", "features").value())
                .isEqualTo("0x3 (backing file, needs check)");
        assertThat(field(img, "backing file name", "backing file").value()).isEqualTo("'base.raw'");
        assertThat(field(img, "L1 table", "allocated entries").value()).isEqualTo("1");
        assertThat(field(img, "L1 table", "zero clusters").value()).isEqualTo("1");
        assertThat(img.flags()).containsExactly("dirty (needs check)", "backing file: base.raw");
        List<LayoutRegion> r = img.regions();
        assertThat(r).extracting(LayoutRegion::label).containsExactly("QED header", "backing file name",
                "header clusters (unused)", "L1 table", "L2 tables", "guest data", "unused (nothing points at it)");
        assertThat(r.get(r.size() - 1).kind()).isEqualTo(RegionKind.FREE);
        assertThat(r.get(r.size() - 1).end()).isEqualTo(7 * CS);
        assertThat(r.get(5).offset()).isEqualTo(5 * CS);
        QedHeader h = (QedHeader) img.header();
        assertThat(h.tableEntries()).isEqualTo(1024);
        assertThat(h.backingFile()).isEqualTo("base.raw");
    }

    /**
     * An image marked "needs check": what qemu's check (run by its read-write open) would find,
     * in qemu's terms; nothing in the sample image.
     */
    @Test
    void whatQemusCheckWouldRepairIsNamed() throws Exception {
        assertThat(((QedHeader) probe(image()).header()).repair()).isEmpty();
        byte[] unaligned = image();
        ByteBuffer.wrap(unaligned).order(ByteOrder.LITTLE_ENDIAN).putLong(3 * CS + 16, 5L * CS + 1);
        assertThat(((QedHeader) probe(unaligned).header()).repair())
                .isEqualTo("L2 entry at offset 12304 (20481) is not a valid cluster offset: qemu's check would zero it");
        byte[] twice = image();
        ByteBuffer.wrap(twice).order(ByteOrder.LITTLE_ENDIAN).putLong(3 * CS + 16, 5L * CS);
        assertThat(((QedHeader) probe(twice).header()).repair())
                .isEqualTo("the data cluster at 20480 (L2 entry at offset 12304) is referenced twice");
        byte[] onTable = image();
        ByteBuffer.wrap(onTable).order(ByteOrder.LITTLE_ENDIAN).putLong(3 * CS + 16, 4L * CS);
        assertThat(((QedHeader) probe(onTable).header()).repair()).contains("is referenced twice");
        byte[] l1Bad = image();
        ByteBuffer.wrap(l1Bad).order(ByteOrder.LITTLE_ENDIAN).putLong(CS + 8, 6L * CS); // its last cluster is past the end
        assertThat(((QedHeader) probe(l1Bad).header()).repair()).isEqualTo("L1 entry at offset 4104 (24576) is not a"
                + " valid L2 table offset: qemu's check would zero it");
        byte[] inHeader = image();
        ByteBuffer.wrap(inHeader).order(ByteOrder.LITTLE_ENDIAN).putLong(3 * CS + 16, 0);
        ByteBuffer.wrap(inHeader).order(ByteOrder.LITTLE_ENDIAN).putLong(3 * CS + 24, 0x1000000L);
        assertThat(((QedHeader) probe(inHeader).header()).repair()).contains("is not a valid cluster offset");
        byte[] clean = image();
        ByteBuffer.wrap(clean).order(ByteOrder.LITTLE_ENDIAN).putLong(16, QedHeader.F_BACKING_FILE)
                .putLong(3 * CS + 16, 5L * CS + 1);
        assertThat(((QedHeader) probe(clean).header()).repair()).as("only asked when marked").isEmpty();
    }

    /** qemu opens a header_size of 0 (only header_size × cluster_size over 32 bits is refused). */
    @Test
    void aHeaderSizeOfZeroIsReadAsQemuReadsIt() throws Exception {
        byte[] b = image();
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(12, 0).putLong(16, 0);
        ProbedImage img = probe(b);
        assertThat(((QedHeader) img.header()).headerSize()).isZero();
        assertThat(img.regions()).extracting(LayoutRegion::label).startsWith("QED header", "unused (nothing points at it)",
                "L1 table");
        assertThat(img.flags()).noneMatch(f -> f.startsWith("corrupt"));
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(12, (int) (0x100000000L / CS));
        assertThatThrownBy(() -> probe(b)).isInstanceOf(ProbeException.class)
                .hasMessageContaining("header_size at offset 12: 1048576 clusters is not a valid header size");
    }

    @Test
    void rejectsHostileFields() {
        byte[] b = image();
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(4, 1000);
        assertThatThrownBy(() -> probe(b)).isInstanceOf(ProbeException.class)
                .hasMessageContaining("cluster_size at offset 4");
        byte[] c = image();
        ByteBuffer.wrap(c).order(ByteOrder.LITTLE_ENDIAN).putLong(48, -1);
        assertThatThrownBy(() -> probe(c)).isInstanceOf(ProbeException.class)
                .hasMessageContaining("image_size at offset 48");
        byte[] d = image();
        ByteBuffer.wrap(d).order(ByteOrder.LITTLE_ENDIAN).putLong(40, 1L << 40);
        assertThatThrownBy(() -> probe(d)).isInstanceOf(ProbeException.class)
                .hasMessageContaining("l1_table_offset at offset 40");
    }

    @Test
    void seededMutations() {
        byte[] base = image();
        long[] ex = {0, 0xFFFFFFFFL, 1L << 63, -1L, 1, 4096};
        Random rnd = new Random(7);
        int ok = 0;
        for (int i = 0; i < 20_000; i++) {
            byte[] b = base.clone();
            switch (rnd.nextInt(3)) {
                case 0 -> b[rnd.nextInt(rnd.nextBoolean() ? 80 : b.length)] ^= (byte) (1 << rnd.nextInt(8));
                case 1 -> ByteBuffer.wrap(b).putLong(rnd.nextInt(b.length - 8) & (rnd.nextBoolean() ? 63 : ~7),
                        ex[rnd.nextInt(ex.length)]);
                default -> b = Arrays.copyOf(b, rnd.nextInt(b.length));
            }
            try {
                ProbedImage img = probe(b);
                long pos = 0;
                for (LayoutRegion r : img.regions()) {
                    assertThat(r.offset()).isEqualTo(pos);
                    pos = r.end();
                }
                assertThat(pos).isEqualTo(b.length);
                ok++;
            } catch (ProbeException e) {
                assertThat(e.getMessage()).isNotBlank();
            } catch (Throwable t) {
                throw new AssertionError("mutation " + i + " threw " + t, t);
            }
        }
        assertThat(ok).isPositive();
    }
}
