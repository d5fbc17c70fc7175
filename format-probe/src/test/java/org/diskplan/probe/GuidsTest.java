package org.diskplan.probe;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** Mixed-endian GUIDs against [MS-VHDX]'s BAT region GUID and a String.format rendering. */
class GuidsTest {

    @Test
    void theBatRegionGuidAsVhdxStoresIt() {
        // 2DC27766-F623-4200-9D64-115E9BFD4A08: 66 77 C2 2D 23 F6 00 42 9D 64 11 5E 9B FD 4A 08
        byte[] stored = {0x66, 0x77, (byte) 0xc2, 0x2d, 0x23, (byte) 0xf6, 0x00, 0x42, (byte) 0x9d, 0x64, 0x11, 0x5e,
            (byte) 0x9b, (byte) 0xfd, 0x4a, 0x08};
        UUID bat = UUID.fromString("2dc27766-f623-4200-9d64-115e9bfd4a08");
        assertThat(Guids.mixedEndian(bat)).containsExactly(stored);
        assertThat(Guids.mixedEndianText(stored, 0)).isEqualTo(bat.toString());
    }

    @Test
    void textMatchesAFormattedRenderingAndRoundTrips() {
        Random rnd = new Random(1);
        for (int i = 0; i < 200; i++) {
            byte[] g = new byte[20];
            rnd.nextBytes(g);
            ByteBuffer b = ByteBuffer.wrap(g, 4, 16).slice().order(ByteOrder.LITTLE_ENDIAN);
            String formatted = String.format("%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x", b.getInt(0),
                    b.getShort(4) & 0xffff, b.getShort(6) & 0xffff, g[12], g[13], g[14], g[15], g[16], g[17], g[18],
                    g[19]);
            assertThat(Guids.mixedEndianText(g, 4)).isEqualTo(formatted);
            assertThat(Guids.mixedEndian(UUID.fromString(formatted)))
                    .containsExactly(java.util.Arrays.copyOfRange(g, 4, 20));
        }
    }
}
