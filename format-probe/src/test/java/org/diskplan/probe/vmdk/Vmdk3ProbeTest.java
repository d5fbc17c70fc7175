package org.diskplan.probe.vmdk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.diskplan.probe.vmdk.VmdkImages.assertCoversFile;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Optional;
import org.diskplan.abi.ImageFormat;
import org.diskplan.probe.ByteArrayImageReader;
import org.diskplan.probe.ImageProber;
import org.diskplan.probe.ProbeException;
import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.RegionKind;
import org.junit.jupiter.api.Test;

class Vmdk3ProbeTest {
    /** COWD: 4-sector header, GD of 4 entries at sector 4, one GT (32 sectors) at 5, two grains. */
    static byte[] cowd(String parent) {
        int grain = 8;
        ByteBuffer b = ByteBuffer.allocate((37 + 2 * grain) * 512).order(ByteOrder.LITTLE_ENDIAN);
        b.put(0, new byte[] {'C', 'O', 'W', 'D'});
        b.putInt(4, 1);
        b.putInt(8, 3);
        b.putInt(12, 100_000);
        b.putInt(16, grain);
        b.putInt(20, 4);
        b.putInt(24, 4);
        b.putInt(28, 37 + 2 * grain);
        if (parent == null) {
            b.putInt(32, 99);
            b.putInt(36, 16);
            b.putInt(40, 63);
        } else {
            b.put(32, parent.getBytes(StandardCharsets.US_ASCII));
        }
        b.putInt(1060, 7);
        b.put(1064, "disk".getBytes(StandardCharsets.US_ASCII));
        b.putInt(4 * 512, 5);
        b.putInt(5 * 512, 37);
        b.putInt(5 * 512 + 4 * 100, 37 + grain);
        return b.array();
    }

    @Test
    void rootDisk() throws Exception {
        byte[] bytes = cowd(null);
        ProbedImage img = ImageProber.probe(Path.of("x.vmdk"), new ByteArrayImageReader(bytes), Optional.empty());
        assertThat(img.format()).isEqualTo(ImageFormat.VMDK3);
        assertThat(img.virtualSize()).isEqualTo(100_000L * 512);
        assertThat(img.allocationUnit()).isEqualTo(4096);
        Vmdk3Header h = (Vmdk3Header) img.header();
        assertThat(h.cylinders()).isEqualTo(99);
        assertThat(h.allocatedGrainTables()).isEqualTo(1);
        assertThat(h.allocatedGrains()).isEqualTo(2);
        assertThat(h.generation()).isEqualTo(7);
        assertThat(img.fields()).anyMatch(f -> f.name().equals("numSectors") && f.offset() == 12);
        assertThat(img.fields()).anyMatch(f -> f.name().equals("uncleanShutdown") && f.offset() == 1648);
        assertThat(img.flags()).containsExactly("a COWD extent: qemu opens it only through a descriptor file (vmfsSparse)");
        assertCoversFile(img);
        assertThat(img.regions()).filteredOn(r -> r.kind() == RegionKind.DATA).singleElement()
                .satisfies(r -> assertThat(r.length()).isEqualTo(2 * 4096));
    }

    @Test
    void childDiskNamesItsParent() throws Exception {
        ProbedImage img = new Vmdk3Probe().probe(Path.of("x.vmdk"), new ByteArrayImageReader(cowd("base.vmdk")));
        assertThat(img.flags()).contains("backing file: base.vmdk");
    }

    @Test
    void hostileCountsAreRefused() {
        byte[] bytes = cowd(null);
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt(24, -1);
        assertThatThrownBy(() -> new Vmdk3Probe().probe(Path.of("x"), new ByteArrayImageReader(bytes)))
                .isInstanceOf(ProbeException.class).hasMessageContaining("numGDEntries at offset 24");
    }
}
