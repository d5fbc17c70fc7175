package org.diskplan.probe.vhd;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.nio.file.Path;
import java.util.Optional;
import org.diskplan.abi.ImageFormat;
import org.diskplan.probe.ByteArrayImageReader;
import org.diskplan.probe.ImageProber;
import org.diskplan.probe.ProbedImage;
import org.junit.jupiter.api.Test;

/**
 * Two 2560-byte images made by qemu-img 7.2 ({@code qemu-img create -f vpc -o
 * subformat=dynamic[,force_size=on] x.vhd 12345K}), probed through {@link ImageProber}
 * so the service registration is exercised too. The expected sizes are what
 * {@code qemu-img info --output=json} printed for them.
 */
class VhdQemuFixtureTest {

    private static ProbedImage probe(String name) throws Exception {
        byte[] bytes;
        try (InputStream in = VhdQemuFixtureTest.class.getResourceAsStream(name)) {
            assertThat(in).as(name).isNotNull();
            bytes = in.readAllBytes();
        }
        return ImageProber.probe(Path.of(name), new ByteArrayImageReader(bytes), Optional.of("vpc"));
    }

    @Test
    void qemuCreatorReadsGeometry() throws Exception {
        ProbedImage p = probe("qemu-dynamic-12345K-chs.vhd");
        assertThat(p.format()).isEqualTo(ImageFormat.VHD);
        assertThat(p.subformat()).isEqualTo("dynamic");
        assertThat(p.virtualSize()).isEqualTo(12_673_024L); // qemu-img info: virtual-size
        assertThat(p.allocationUnit()).isEqualTo(2L << 20);
        assertThat(p.flags()).contains("creator: qemu", "size from CHS geometry 364/4/17");
        VhdHeader h = (VhdHeader) p.header();
        assertThat(h.maxTableEntries()).isEqualTo(7);
        assertThat(h.allocatedBlocks()).isZero();
        assertThat(h.footerChecksumValid()).isTrue();
        assertThat(h.dynamicHeaderChecksumValid()).isTrue();
        VhdProbeTest.assertCovers(p);
    }

    @Test
    void forceSizeCreatorReadsCurrentSize() throws Exception {
        ProbedImage p = probe("qemu-dynamic-12345K-force-size.vhd");
        assertThat(p.virtualSize()).isEqualTo(12_641_280L); // qemu-img info: virtual-size
        assertThat(p.flags()).contains("creator: qem2", "size from current_size");
        VhdProbeTest.assertCovers(p);
    }
}
