package org.diskplan.planner;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.diskplan.abi.ImageFormat;
import org.diskplan.abi.ResizeConfig;
import org.diskplan.abi.VhdSubformat;
import org.diskplan.abi.VmdkSubformat;
import org.junit.jupiter.api.Test;

/** Each format's options land in the abi fields abi.md gives them. */
class FormatOptionsTest {
    private static ByteBuffer encoded(ImageFormat f, FormatOptions o) {
        ResizeConfig c = o.applyTo(ResizeConfig.of(f, 1 << 20, 2 << 20, 1 << 20));
        return ByteBuffer.wrap(c.encode()).order(ByteOrder.LITTLE_ENDIAN);
    }

    @Test
    void qcow2() {
        ByteBuffer b = encoded(ImageFormat.QCOW2, new FormatOptions.Qcow2(65536, 16, true));
        assertThat(b.getInt(32)).isEqualTo(65536);
        assertThat(b.get(36)).isEqualTo((byte) 16);
        assertThat(b.getInt(8) & 2).as("EXTENDED_L2 flag").isEqualTo(2);
    }

    @Test
    void vmdkVhdVhdx() {
        ByteBuffer vmdk = encoded(ImageFormat.VMDK4, new FormatOptions.Vmdk(VmdkSubformat.TWO_GB_MAX_EXTENT_SPARSE,
                65536));
        assertThat(vmdk.get(37)).isEqualTo((byte) 3);
        assertThat(vmdk.getInt(40)).isEqualTo(65536);
        ByteBuffer vhd = encoded(ImageFormat.VHD, new FormatOptions.Vhd(VhdSubformat.FIXED, 0));
        assertThat(vhd.get(38)).isEqualTo((byte) 1);
        ByteBuffer vhdx = encoded(ImageFormat.VHDX, new FormatOptions.Vhdx(32 << 20, 4096));
        assertThat(vhdx.getInt(12)).isEqualTo(4096);
        assertThat(vhdx.getInt(44)).isEqualTo(32 << 20);
    }

    @Test
    void rawChangesNothing() {
        ResizeConfig base = ResizeConfig.of(ImageFormat.RAW, 1, 2, 3);
        assertThat(new FormatOptions.Raw().applyTo(base)).isEqualTo(base);
    }

    @Test
    void impossibleParametersAreRejected() {
        assertThatThrownBy(() -> new FormatOptions.Qcow2(4096 + 512, 16, false))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new FormatOptions.Qcow2(65536, 3, false)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new FormatOptions.Vhdx(1 << 20, 1024)).isInstanceOf(IllegalArgumentException.class);
    }
}
