package org.diskplan.probe.qcow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.diskplan.abi.ImageFormat;
import org.diskplan.probe.ByteArrayImageReader;
import org.diskplan.probe.HeaderField;
import org.diskplan.probe.LayoutRegion;
import org.diskplan.probe.ProbeException;
import org.diskplan.probe.ProbedImage;
import org.junit.jupiter.api.Test;

class QcowProbeTest {
    static final int CS = 512;

    /**
     * 48-byte header, backing name "b.img" at 48, L1 (2 entries) at 64; 512-byte clusters, 64 L2 entries:
     * 32 KiB per L1 entry, 64000 bytes virtual. L2 at 512, data at 1024, compressed 100 bytes at 1536.
     */
    static byte[] image() {
        ByteBuffer b = ByteBuffer.allocate(4 * CS);
        b.putInt(0, 0x514649fb);
        b.putInt(4, 1);
        b.putLong(8, 48);
        b.putInt(16, 5);
        b.putInt(20, 1_600_000_000);
        b.putLong(24, 64000);
        b.put(32, (byte) 9);
        b.put(33, (byte) 6);
        b.putLong(40, 64);
        b.put(48, "b.img".getBytes(StandardCharsets.US_ASCII));
        b.putLong(64, 512);
        b.putLong(512, 1024);
        // compressed: offset 1536, size 100 in bits 54..62 (63 - 9 = 54)
        b.putLong(512 + 8, (1L << 63) | (100L << 54) | 1536);
        return b.array();
    }

    static ProbedImage probe(byte[] b) throws ProbeException {
        return new QcowProbe().probe(Path.of("t.qcow"), new ByteArrayImageReader(b));
    }

    static HeaderField field(ProbedImage img, String group, String name) {
        return img.fields().stream().filter(f -> f.group().equals(group) && f.name().equals(name)).findFirst()
                .orElseThrow();
    }

    @Test
    void parsesHeaderAndLayout() throws Exception {
        ProbedImage img = probe(image());
        assertThat(img.format()).isEqualTo(ImageFormat.QCOW1);
        assertThat(img.virtualSize()).isEqualTo(64000); // qemu-img info reports 64000 for this image
        assertThat(img.allocationUnit()).isEqualTo(512);
        assertThat(field(img, "qcow header", "l2_bits").offset()).isEqualTo(33);
        assertThat(field(img, "qcow header", "mtime").value()).contains("2020-09-13T12:26:40Z");
        assertThat(field(img, "L1 table", "entries").value()).isEqualTo("2");
        assertThat(field(img, "L1 table", "compressed clusters").value()).isEqualTo("1");
        assertThat(img.flags()).contains("backing file: b.img");
        assertThat(img.regions()).extracting(LayoutRegion::label).containsExactly("qcow header",
                "backing file name", "unused (nothing points at it)", "L1 table", "unused (nothing points at it)",
                "L2 tables", "guest data", "compressed guest data", "unused (nothing points at it)");
        assertThat(img.regions().get(img.regions().size() - 1).end()).isEqualTo(4 * CS);
    }

    @Test
    void rejectsHostileFields() {
        byte[] b = image();
        b[32] = 20;
        assertThatThrownBy(() -> probe(b)).isInstanceOf(ProbeException.class)
                .hasMessageContaining("cluster_bits at offset 32");
        byte[] c = image();
        ByteBuffer.wrap(c).putLong(24, Long.MAX_VALUE);
        assertThatThrownBy(() -> probe(c)).isInstanceOf(ProbeException.class)
                .hasMessageContaining("size at offset 24");
    }

    @Test
    void seededMutations() {
        byte[] base = image();
        long[] ex = {0, 0xFFFFFFFFL, 1L << 63, -1L, 1, 512};
        Random rnd = new Random(11);
        int ok = 0;
        for (int i = 0; i < 20_000; i++) {
            byte[] b = base.clone();
            switch (rnd.nextInt(3)) {
                case 0 -> b[rnd.nextInt(rnd.nextBoolean() ? 72 : b.length)] ^= (byte) (1 << rnd.nextInt(8));
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
