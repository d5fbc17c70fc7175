package org.diskplan.probe.luks;

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
import org.diskplan.probe.RegionKind;
import org.diskplan.probe.crypto.LuksHeader;
import org.junit.jupiter.api.Test;

class LuksProbeTest {
    /**
     * LUKS1 laid out as qemu checks it: 16-byte key, 4000 stripes (125 sectors of key material per slot,
     * 128 reserved), slot i at sector 8 + 128 i, payload at sector 1032, 8 KiB of payload. Slot 0 enabled.
     */
    static byte[] image() {
        return image(4000, 1032, 1032 * 512 + 8192);
    }

    /** Small variant for the mutation test (8 stripes: 8 sectors reserved per slot, payload at sector 72). */
    static byte[] small() {
        return image(8, 72, 72 * 512 + 1024);
    }

    static byte[] image(int stripes, int payload, int length) {
        int perSlot = ((16 * stripes + 511) / 512 + 7) / 8 * 8;
        ByteBuffer b = ByteBuffer.allocate(length);
        b.put(0, new byte[] {'L', 'U', 'K', 'S', (byte) 0xba, (byte) 0xbe});
        b.putShort(6, (short) 1);
        b.put(8, "aes".getBytes(StandardCharsets.US_ASCII));
        b.put(40, "xts-plain64".getBytes(StandardCharsets.US_ASCII));
        b.put(72, "sha256".getBytes(StandardCharsets.US_ASCII));
        b.putInt(104, payload);
        b.putInt(108, 16);
        b.putInt(164, 1000);
        b.put(168, "01234567-89ab-cdef-0123-456789abcdef".getBytes(StandardCharsets.US_ASCII));
        for (int i = 0; i < 8; i++) {
            int s = 208 + 48 * i;
            b.putInt(s, i == 0 ? 0x00AC71F3 : 0x0000DEAD);
            b.putInt(s + 4, i == 0 ? 5000 : 0);
            b.putInt(s + 40, 8 + perSlot * i);
            b.putInt(s + 44, stripes);
        }
        return b.array();
    }

    static ProbedImage probe(byte[] b) throws ProbeException {
        return new LuksProbe().probe(Path.of("t.luks"), new ByteArrayImageReader(b));
    }

    static HeaderField field(ProbedImage img, String group, String name) {
        return img.fields().stream().filter(f -> f.group().equals(group) && f.name().equals(name)).findFirst()
                .orElseThrow();
    }

    @Test
    void parsesHeaderSlotsAndVirtualSize() throws Exception {
        ProbedImage img = probe(image());
        assertThat(img.format()).isEqualTo(ImageFormat.LUKS);
        assertThat(img.subformat()).isEqualTo("LUKS1");
        assertThat(img.virtualSize()).isEqualTo(8192);
        assertThat(field(img, "LUKS header", "payload_offset").offset()).isEqualTo(104);
        assertThat(field(img, "LUKS header", "payload_offset").value()).isEqualTo("1032 sectors (528384 bytes)");
        assertThat(field(img, "LUKS header", "cipher_mode").value()).isEqualTo("'xts-plain64'");
        assertThat(field(img, "key slot 0", "active").value()).isEqualTo("0x00ac71f3 (enabled)");
        assertThat(field(img, "key slot 7", "stripes").offset()).isEqualTo(208 + 7 * 48 + 44);
        assertThat(img.flags()).containsExactly("encrypted: aes-xts-plain64", "hash: sha256",
                "key slots: 1 of 8 enabled");
        assertThat(img.regions()).extracting(LayoutRegion::label).containsExactly("LUKS header", "header padding",
                "key slot 0 key material", "header padding", "key slot 1 key material (disabled)", "header padding",
                "key slot 2 key material (disabled)", "header padding", "key slot 3 key material (disabled)",
                "header padding", "key slot 4 key material (disabled)", "header padding",
                "key slot 5 key material (disabled)", "header padding", "key slot 6 key material (disabled)",
                "header padding", "key slot 7 key material (disabled)", "header padding", "encrypted payload");
        assertThat(img.regions().get(2).offset()).isEqualTo(4096);
        assertThat(img.regions().get(2).length()).isEqualTo(125 * 512);
        assertThat(img.regions().get(4).offset()).isEqualTo(4096 + 128 * 512);
        LayoutRegion payload = img.regions().get(img.regions().size() - 1);
        assertThat(payload.kind()).isEqualTo(RegionKind.DATA);
        assertThat(payload.offset()).isEqualTo(528384);
        assertThat(((LuksHeader) img.header()).keySlots().get(0).enabled()).isTrue();
    }

    @Test
    void slotProblemsThatQemuRefusesAreFlagged() throws Exception {
        ProbedImage img = probe(small());
        assertThat(img.flags()).contains("corrupt: key slot 0 is corrupted (stripes 8 != 4000)"
                + " (qemu refuses to open the image)");
        byte[] b = image();
        ByteBuffer.wrap(b).putInt(104, 4);
        assertThatThrownBy(() -> probe(b)).isInstanceOf(ProbeException.class)
                .hasMessageContaining("payload_offset at offset 104").hasMessageContaining("overlapping");
    }

    @Test
    void payloadBeyondFileIsRejected() {
        byte[] b = image();
        ByteBuffer.wrap(b).putInt(104, -1);
        assertThatThrownBy(() -> probe(b)).isInstanceOf(ProbeException.class)
                .hasMessageContaining("payload_offset at offset 104");
    }

    @Test
    void seededMutations() {
        byte[] base = small();
        long[] ex = {0, 0xFFFFFFFFL, 1L << 63, -1L, 1};
        Random rnd = new Random(13);
        int ok = 0;
        for (int i = 0; i < 20_000; i++) {
            byte[] b = base.clone();
            switch (rnd.nextInt(3)) {
                case 0 -> b[rnd.nextInt(600)] ^= (byte) (1 << rnd.nextInt(8));
                case 1 -> ByteBuffer.wrap(b).putInt(rnd.nextInt(590) & ~3, (int) ex[rnd.nextInt(ex.length)]);
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
