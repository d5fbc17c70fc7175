package org.diskplan.probe.vhdx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.diskplan.abi.ImageFormat;
import org.diskplan.probe.ImageProber;
import org.diskplan.probe.ProbedImage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VhdxSampleWriterTest {
    private static final long MIB = 1 << 20;

    @TempDir
    Path dir;

    private ProbedImage writeAndProbe(long size, Map<String, String> options, long expectedVirtual) throws Exception {
        Path f = dir.resolve("s.vhdx");
        long virtual = new VhdxSampleWriter().write(f, size, options);
        assertThat(virtual).isEqualTo(expectedVirtual);
        ProbedImage p = ImageProber.probe(f, Optional.empty());
        assertThat(p.format()).isEqualTo(ImageFormat.VHDX);
        assertThat(p.virtualSize()).isEqualTo(virtual);
        assertThat(p.flags()).noneMatch(s -> s.startsWith("corrupt")).noneMatch(s -> s.contains("invalid"));
        VhdxHeader h = (VhdxHeader) p.header();
        assertThat(h.logNeedsReplay()).isFalse();
        assertThat(h.logGuid()).isEqualTo("00000000-0000-0000-0000-000000000000");
        assertThat(h.headers()).allMatch(VhdxHeader.HeaderCopy::valid);
        assertThat(h.regionEntries()).hasSize(2).allMatch(VhdxHeader.RegionEntry::required);
        assertThat(h.batEntriesRead()).isEqualTo(h.batEntriesRequired());
        assertThat(h.logicalSectorSize()).isEqualTo(Long.parseLong(options.getOrDefault("logical_sector_size", "512")));
        assertThat(h.creator()).isEqualTo(VhdxSampleWriter.CREATOR);
        return p;
    }

    @Test
    void dynamicDefaultIsLaidOutAsQemuDoes() throws Exception {
        ProbedImage p = writeAndProbe(64 * MIB, Map.of(), 64 * MIB);
        VhdxHeader h = (VhdxHeader) p.header();
        assertThat(p.subformat()).isEqualTo("dynamic");
        // qemu-img create -f vhdx x 64M: log 1 MiB at 1 MiB, BAT at 2 MiB, metadata at 3 MiB, 8 MiB file
        assertThat(h.logOffset()).isEqualTo(MIB);
        assertThat(h.logLength()).isEqualTo(MIB);
        assertThat(h.batOffset()).isEqualTo(2 * MIB);
        assertThat(h.batLength()).isEqualTo(MIB);
        assertThat(h.metadataOffset()).isEqualTo(3 * MIB);
        assertThat(p.fileSize()).isEqualTo(8 * MIB);
        assertThat(h.blockSize()).isEqualTo(8 * MIB);
        assertThat(h.payloadBlocks()).isEqualTo(8);
        assertThat(h.batStateCounts().get(VhdxLayout.STATE_ZERO)).isEqualTo(8);
        assertThat(h.metadataItems()).hasSize(5);
        assertThat(h.metadataItems().get(0).isRequired()).isTrue();
        assertThat(h.metadataItems().get(0).isVirtualDisk()).isFalse();
        assertThat(h.metadataItems().subList(1, 5)).allMatch(i -> i.isRequired() && i.isVirtualDisk());
    }

    @Test
    void fixedAllocatesEveryBlockAndEndsWithTheVirtualSize() throws Exception {
        ProbedImage p = writeAndProbe(10_000_000, Map.of("subformat", "fixed", "block_size", "1M"), 10_000_384);
        VhdxHeader h = (VhdxHeader) p.header();
        assertThat(p.subformat()).isEqualTo("fixed");
        assertThat(h.leaveBlocksAllocated()).isTrue();
        assertThat(h.batStateCounts().get(VhdxLayout.STATE_FULLY_PRESENT)).isEqualTo(10);
        // the same length as qemu-img create -o subformat=fixed,block_state_zero=off,block_size=1M
        assertThat(p.fileSize()).isEqualTo(18_388_992);
    }

    @Test
    void largeSparseHasSectorBitmapEntriesBetweenChunks() throws Exception {
        ProbedImage p = writeAndProbe(600L << 30, Map.of("block_size", "1M"), 600L << 30);
        VhdxHeader h = (VhdxHeader) p.header();
        assertThat(h.chunkRatio()).isEqualTo(4096);
        assertThat(h.payloadBlocks()).isEqualTo(614_400);
        assertThat(h.batEntriesRequired()).isEqualTo(614_400 + 149);
        assertThat(h.batLength()).isEqualTo(5 * MIB);
        assertThat(h.batStateCounts().get(VhdxLayout.STATE_ZERO)).isEqualTo(614_400);
        assertThat(h.sectorBitmapStateCounts().get(VhdxLayout.STATE_NOT_PRESENT)).isEqualTo(149);
        assertThat(p.fileSize()).isEqualTo(12 * MIB);
    }

    @Test
    void defaultBlockSizeFollowsQemu() throws Exception {
        assertThat(VhdxSampleWriter.defaultBlockSize(1L << 30)).isEqualTo(8 * MIB);
        assertThat(VhdxSampleWriter.defaultBlockSize(3L << 30)).isEqualTo(16 * MIB);
        assertThat(VhdxSampleWriter.defaultBlockSize(200L << 30)).isEqualTo(32 * MIB);
        assertThat(VhdxSampleWriter.defaultBlockSize(64L << 40)).isEqualTo(64 * MIB);
        ProbedImage p = writeAndProbe(64L << 40, Map.of(), 64L << 40);
        assertThat(((VhdxHeader) p.header()).batLength()).isEqualTo(9 * MIB);
    }

    @Test
    void notPresentBlocksAndALongerLog() throws Exception {
        ProbedImage p = writeAndProbe(3 * MIB + 1, Map.of("block_state_zero", "off", "log_size", "4M"), 3 * MIB + 512);
        VhdxHeader h = (VhdxHeader) p.header();
        assertThat(h.logLength()).isEqualTo(4 * MIB);
        assertThat(h.batOffset()).isEqualTo(5 * MIB);
        assertThat(h.metadataOffset()).isEqualTo(6 * MIB);
        assertThat(h.batStateCounts().get(VhdxLayout.STATE_NOT_PRESENT)).isEqualTo(1);
    }

    @Test
    void fourKLogicalSectorsSpaceTheSectorBitmapEntriesEightTimesWider() throws Exception {
        ProbedImage p = writeAndProbe(600L << 30, Map.of("block_size", "1M", "logical_sector_size", "4096"),
                600L << 30);
        VhdxHeader h = (VhdxHeader) p.header();
        assertThat(h.physicalSectorSize()).isEqualTo(4096);
        // 2^23 sectors of 4096 bytes per sector bitmap block, over 1 MiB blocks
        assertThat(h.chunkRatio()).isEqualTo(32_768);
        assertThat(h.payloadBlocks()).isEqualTo(614_400);
        assertThat(h.batEntriesRequired()).isEqualTo(614_400 + 18);
        assertThat(h.batStateCounts().get(VhdxLayout.STATE_ZERO)).isEqualTo(614_400);
        assertThat(h.sectorBitmapStateCounts().get(VhdxLayout.STATE_NOT_PRESENT)).isEqualTo(18);
    }

    @Test
    void fourKFixedRoundsTheSizeUpToWholeSectors() throws Exception {
        ProbedImage p = writeAndProbe(10_000_000, Map.of("subformat", "fixed", "block_size", "1M",
                "logical_sector_size", "4096"), 2442 * 4096L);
        VhdxHeader h = (VhdxHeader) p.header();
        assertThat(h.batStateCounts().get(VhdxLayout.STATE_FULLY_PRESENT)).isEqualTo(10);
        assertThat(p.fileSize()).isEqualTo(8 * MIB + 2442 * 4096L);
    }

    @Test
    void refusesBadOptions() {
        VhdxSampleWriter w = new VhdxSampleWriter();
        assertThatThrownBy(() -> w.write(dir.resolve("a"), MIB, Map.of("cluster_size", "1M")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cluster_size");
        assertThatThrownBy(() -> w.write(dir.resolve("b"), MIB, Map.of("block_size", "3M")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("power of two");
        assertThatThrownBy(() -> w.write(dir.resolve("c"), MIB, Map.of("log_size", "1536K")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("log_size");
        assertThatThrownBy(() -> w.write(dir.resolve("d"), MIB, Map.of("subformat", "differencing")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("dynamic|fixed");
        assertThatThrownBy(() -> w.write(dir.resolve("e"), (64L << 40) + 1, Map.of()))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> w.write(dir.resolve("f"), MIB, Map.of("logical_sector_size", "1024")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("logical_sector_size");
        assertThat(dir.resolve("a")).doesNotExist();
    }

    @Test
    void refusesAnExistingFile() throws Exception {
        Path f = Files.createFile(dir.resolve("x.vhdx"));
        assertThatThrownBy(() -> new VhdxSampleWriter().write(f, MIB, Map.of()))
                .isInstanceOf(FileAlreadyExistsException.class);
    }
}
