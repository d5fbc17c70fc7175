package org.diskplan.probe.vmdk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.diskplan.abi.ImageFormat;
import org.diskplan.probe.ImageProber;
import org.diskplan.probe.ProbedImage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VmdkSampleWriterTest {
    private static final long MIB = 1 << 20;
    private static final long GIB = 1L << 30;

    @TempDir
    Path dir;

    private ProbedImage writeAndProbe(String name, long size, Map<String, String> options, long expected)
            throws Exception {
        Path f = dir.resolve(name);
        long virtual = new VmdkSampleWriter().write(f, size, options);
        assertThat(virtual).isEqualTo(expected);
        ProbedImage p = ImageProber.probe(f, Optional.empty());
        assertThat(p.format().qemuName()).isEqualTo("vmdk");
        assertThat(p.virtualSize()).isEqualTo(virtual);
        assertThat(p.subformat()).isEqualTo(options.getOrDefault("subformat", "monolithicSparse"));
        assertThat(p.flags()).noneMatch(s -> s.startsWith("corrupt") || s.contains("missing")
                || s.contains("not one qemu") || s.contains("lists"));
        return p;
    }

    private String[] files() throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toArray(String[]::new);
        }
    }

    @Test
    void monolithicSparseIsLaidOutAsQemuDoes() throws Exception {
        ProbedImage p = writeAndProbe("s.vmdk", 100 * MIB, Map.of(), 100 * MIB);
        assertThat(p.format()).isEqualTo(ImageFormat.VMDK4);
        VmdkHeader h = (VmdkHeader) p.header();
        // qemu-img create -f vmdk s.vmdk 100M: 4 grain tables, rgd at 21, gd at 38, first grain at 128
        assertThat(h.version()).isEqualTo(1);
        assertThat(h.flags()).isEqualTo(3);
        assertThat(h.capacity()).isEqualTo(204_800);
        assertThat(h.grainSize()).isEqualTo(128);
        assertThat(h.rgdOffset()).isEqualTo(21);
        assertThat(h.gdOffset()).isEqualTo(38);
        assertThat(h.overHead()).isEqualTo(128);
        assertThat(h.grainDirectoryEntries()).isEqualTo(4);
        assertThat(h.allocatedGrainTables()).isEqualTo(4);
        assertThat(h.allocatedRedundantGrainTables()).isEqualTo(4);
        assertThat(h.allocatedGrains()).isZero();
        assertThat(p.fileSize()).isEqualTo(64 * 1024);
        VmdkDescriptor d = h.descriptor().orElseThrow();
        assertThat(d.parentCid()).isEqualTo("ffffffff");
        assertThat(d.extents()).singleElement().satisfies(e -> {
            assertThat(e.type()).isEqualTo("SPARSE");
            assertThat(e.fileName()).isEqualTo("s.vmdk");
            assertThat(e.sectors()).isEqualTo(204_800);
        });
        assertThat(d.text()).contains("ddb.geometry.cylinders = \"203\"", "ddb.adapterType = \"ide\"",
                "ddb.virtualHWVersion = \"4\"");
    }

    @Test
    void streamOptimizedAndZeroedGrainSetVersionAndFlags() throws Exception {
        VmdkHeader so = (VmdkHeader) writeAndProbe("so.vmdk", 100 * MIB, Map.of("subformat", "streamOptimized"),
                100 * MIB).header();
        assertThat(so.version()).isEqualTo(3);
        assertThat(so.flags()).isEqualTo(0x30003);
        assertThat(so.compressAlgorithm()).isEqualTo(VmdkLayout.COMPRESSION_DEFLATE);
        VmdkHeader z = (VmdkHeader) writeAndProbe("z.vmdk", 3L << 40,
                Map.of("zeroed_grain", "on", "adapter_type", "lsilogic", "hwversion", "7"), 3L << 40).header();
        assertThat(z.version()).isEqualTo(2);
        assertThat(z.flags() & VmdkLayout.FLAG_ZEROED_GRAIN_GTE).isNotZero();
        assertThat(z.descriptor().orElseThrow().text()).contains("ddb.geometry.heads = \"255\"",
                "ddb.adapterType = \"lsilogic\"", "ddb.virtualHWVersion = \"7\"");
    }

    @Test
    void monolithicFlatIsADescriptorAndAFlatExtent() throws Exception {
        ProbedImage p = writeAndProbe("f.vmdk", 10_000_000, Map.of("subformat", "monolithicFlat"), 10_000_384);
        assertThat(p.format()).isEqualTo(ImageFormat.VMDK_DESCRIPTOR);
        assertThat(files()).containsExactly("f-flat.vmdk", "f.vmdk");
        assertThat(Files.size(dir.resolve("f-flat.vmdk"))).isEqualTo(10_000_384);
        assertThat(Files.readString(dir.resolve("f.vmdk"))).contains("RW 19532 FLAT \"f-flat.vmdk\" 0\n");
        VmdkDescriptorHeader h = (VmdkDescriptorHeader) p.header();
        assertThat(h.extents()).singleElement().satisfies(e -> assertThat(e.exists()).isTrue());
    }

    @Test
    void flatExtentOfANameWithoutExtension() throws Exception {
        writeAndProbe("disk", MIB, Map.of("subformat", "monolithicFlat", "compat6", "on"), MIB);
        assertThat(files()).containsExactly("disk", "disk-flat");
        assertThat(Files.readString(dir.resolve("disk"))).contains("ddb.virtualHWVersion = \"6\"");
    }

    @Test
    void twoGbMaxExtentSparseSplitsLikeQemu() throws Exception {
        ProbedImage p = writeAndProbe("t.vmdk", 5 * GIB, Map.of("subformat", "twoGbMaxExtentSparse"), 5 * GIB);
        assertThat(files()).containsExactly("t-s001.vmdk", "t-s002.vmdk", "t-s003.vmdk", "t.vmdk");
        assertThat(Files.size(dir.resolve("t-s001.vmdk"))).isEqualTo(327_680);
        assertThat(Files.size(dir.resolve("t-s003.vmdk"))).isEqualTo(196_608);
        VmdkDescriptorHeader h = (VmdkDescriptorHeader) p.header();
        assertThat(h.extents()).extracting(VmdkExtentFile::sectors).containsExactly(4_194_304L, 4_194_304L,
                2_097_152L);
        assertThat(h.extents()).allSatisfy(e -> assertThat(e.sparseHeader()).isPresent());
    }

    @Test
    void twoGbMaxExtentFlatSplitsLikeQemu() throws Exception {
        ProbedImage p = writeAndProbe("tf.vmdk", 4 * GIB + 512, Map.of("subformat", "twoGbMaxExtentFlat"),
                4 * GIB + 512);
        assertThat(files()).containsExactly("tf-f001.vmdk", "tf-f002.vmdk", "tf-f003.vmdk", "tf.vmdk");
        assertThat(Files.size(dir.resolve("tf-f003.vmdk"))).isEqualTo(512);
        assertThat(((VmdkDescriptorHeader) p.header()).extents()).hasSize(3);
    }

    @Test
    void sizeIsRoundedUpToSectors() throws Exception {
        writeAndProbe("r.vmdk", 1000, Map.of(), 1024);
    }

    @Test
    void refusesBadOptionsAndExistingExtents() throws Exception {
        VmdkSampleWriter w = new VmdkSampleWriter();
        assertThatThrownBy(() -> w.write(dir.resolve("a.vmdk"), MIB, Map.of("cluster_size", "64k")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cluster_size");
        assertThatThrownBy(() -> w.write(dir.resolve("a.vmdk"), MIB, Map.of("subformat", "vmfs")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("monolithicSparse|");
        assertThatThrownBy(() -> w.write(dir.resolve("a.vmdk"), MIB,
                Map.of("subformat", "monolithicFlat", "zeroed_grain", "on")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("zeroed grain");
        assertThatThrownBy(() -> w.write(dir.resolve("a.vmdk"), MIB, Map.of("compat6", "on", "hwversion", "7")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("compat6");
        assertThatThrownBy(() -> w.write(dir.resolve("a.vmdk"), MIB, Map.of("adapter_type", "scsi")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("adapter_type");
        Files.createFile(dir.resolve("b-flat.vmdk"));
        assertThatThrownBy(() -> w.write(dir.resolve("b.vmdk"), MIB, Map.of("subformat", "monolithicFlat")))
                .isInstanceOf(FileAlreadyExistsException.class).hasMessageContaining("b-flat.vmdk");
        assertThat(files()).containsExactly("b-flat.vmdk");
    }
}
