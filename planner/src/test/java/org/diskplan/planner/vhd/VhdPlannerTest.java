package org.diskplan.planner.vhd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.diskplan.abi.ErrorCode;
import org.diskplan.abi.Preallocation;
import org.diskplan.planner.Planners;
import org.diskplan.planner.ResizeError;
import org.diskplan.planner.ResizePatch;
import org.diskplan.planner.ResizePlan;
import org.diskplan.planner.ResizeRequest;
import org.diskplan.planner.ResizeSession;
import org.diskplan.planner.apply.MemoryApply;
import org.diskplan.probe.ImageProber;
import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.vhd.VhdHeader;
import org.diskplan.probe.vhd.VhdLayout;
import org.diskplan.probe.vhd.VhdLayout.Geometry;
import org.diskplan.probe.vhd.VhdSampleWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VhdPlannerTest {
    private static final long MIB = 1 << 20;

    @TempDir
    Path dir;

    private int samples;

    private Path sample(String sub, long size) throws Exception {
        Path f = dir.resolve(sub + size + "-" + samples++ + ".vhd");
        new VhdSampleWriter().write(f, size, Map.of("subformat", sub));
        return f;
    }

    private static ResizePlan plan(Path f, long size, boolean shrink, Preallocation mode) throws Exception {
        return ResizeSession.planFile(f, Optional.of("vpc"), p -> new ResizeRequest(size, shrink, mode));
    }

    private static ResizePlan plan(Path f, long size) throws Exception {
        return plan(f, size, false, Preallocation.OFF);
    }

    /** Sets a footer field in every footer of the file (head copy and tail) and fixes their checksums. */
    private static void patchFooters(Path f, int at, byte[] value) throws Exception {
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            long[] bases = {0, raf.length() - 512};
            for (long base : bases) {
                byte[] footer = new byte[512];
                raf.seek(base);
                raf.readFully(footer);
                if (!new String(footer, 0, 8, StandardCharsets.US_ASCII).equals("conectix")) {
                    continue;
                }
                System.arraycopy(value, 0, footer, at, value.length);
                ByteBuffer.wrap(footer).putInt(VhdLayout.F_CHECKSUM, (int) VhdLayout.checksum(footer,
                        VhdLayout.F_CHECKSUM));
                raf.seek(base);
                raf.write(footer);
            }
        }
    }

    @Test
    void geometryReadImagesRoundUpToAnExactGeometry() throws Exception {
        Path f = sample("dynamic", 16 * MIB);
        ProbedImage image = ImageProber.probe(f, Optional.of("vpc"));
        long asked = 20 * MIB;
        long expected = Geometry.covering(asked / 512).bytes();
        assertThat(expected).isGreaterThan(asked);
        assertThat(Planners.effectiveSize(image, asked)).isEqualTo(expected);
        ResizePlan p = plan(f, asked);
        assertThat(p.newVirtualSize()).isEqualTo(expected);
        assertThat(p.notes()).anyMatch(n -> n.contains("you asked " + asked));
    }

    @Test
    void currentSizeCreatorsGetTheExactSizeAndTheSpecGeometry() throws Exception {
        Path f = sample("fixed", 16 * MIB);
        patchFooters(f, VhdLayout.F_CREATOR_APP, "win ".getBytes(StandardCharsets.US_ASCII));
        long asked = 20 * MIB + 512;
        long original = ((VhdHeader) ImageProber.probe(f, Optional.of("vpc")).header()).originalSize();
        ResizePlan p = plan(f, asked);
        assertThat(p.newVirtualSize()).isEqualTo(asked);
        MemoryApply sim = MemoryApply.load(p, f);
        for (int k = 0; k <= p.finalStep(); k++) {
            sim.step();
        }
        VhdHeader h = (VhdHeader) ImageProber.probeForResize(f, sim.file(0), Optional.of("vpc")).header();
        assertThat(h.currentSize()).isEqualTo(asked);
        assertThat(new Geometry(h.cylinders(), h.heads(), h.sectorsPerTrack())).isEqualTo(Geometry.of(asked / 512));
        assertThat(h.creatorApplication()).isEqualTo("win ");
        assertThat(original).isNotEqualTo(asked);
        assertThat(h.originalSize()).as("original_size follows: libvhdi reports it").isEqualTo(asked);
        assertThat(h.uniqueId()).isEqualTo(((VhdHeader) ImageProber.probe(f, Optional.of("vpc")).header())
                .uniqueId());
    }

    @Test
    void pastTheLargestGeometryTheMaximumGeometryAndTheExactSize() throws Exception {
        Path f = sample("dynamic", 16 * MIB);
        long asked = 200L << 30;
        ResizePlan p = plan(f, asked);
        assertThat(p.newVirtualSize()).isEqualTo(asked);
    }

    /** Applies every step of {@code p} in memory and probes the result as qemu would. */
    private static ProbedImage after(Path f, ResizePlan p) throws Exception {
        MemoryApply sim = MemoryApply.load(p, f);
        for (int k = 0; k <= p.finalStep(); k++) {
            sim.step();
        }
        return ImageProber.probeForResize(f, sim.file(0), Optional.of("vpc"));
    }

    private static Geometry geometry(VhdHeader h) {
        return new Geometry(h.cylinders(), h.heads(), h.sectorsPerTrack());
    }

    /**
     * disk2vhd writes creator "d2v\0" (not qemu's "d2v ") and the maximum geometry at any size:
     * qemu reads current_size only because of that geometry. A resize keeps it, so the size is
     * exact and no reader changes the field it reads.
     */
    @Test
    void aMaximumGeometryBelowItsSizeIsKeptAndTheSizeIsExact() throws Exception {
        Path f = sample("dynamic", 16 * MIB);
        patchFooters(f, VhdLayout.F_CREATOR_APP, new byte[] {'d', '2', 'v', 0});
        patchFooters(f, VhdLayout.F_CYLINDERS, new byte[] {(byte) 0xff, (byte) 0xff, 16, (byte) 255});
        ProbedImage before = ImageProber.probe(f, Optional.of("vpc"));
        long base = ((VhdHeader) before.header()).currentSize();
        assertThat(before.virtualSize()).as("qemu takes current_size").isEqualTo(base);
        for (long asked : new long[] {base + 512, 20 * MIB + 3 * 512, (1L << 30) + 512}) {
            assertThat(Planners.effectiveSize(before, asked)).isEqualTo(asked);
            ResizePlan p = plan(f, asked);
            assertThat(p.newVirtualSize()).isEqualTo(asked);
            assertThat(p.notes()).noneMatch(n -> n.contains("you asked"))
                    .anyMatch(n -> n.contains("creator 'd2v\\0'") && n.contains("maximum 65535/16/255"));
            ProbedImage a = after(f, p);
            VhdHeader h = (VhdHeader) a.header();
            assertThat(geometry(h)).isEqualTo(Geometry.MAX);
            assertThat(h.sizeFromGeometry()).isFalse();
            assertThat(a.virtualSize()).isEqualTo(asked);
            assertThat(h.currentSize()).isEqualTo(asked);
            assertThat(h.creatorApplication()).isEqualTo("d2v\0");
        }
        // a shrink keeps it too
        ResizePlan shrink = plan(f, 10 * MIB + 512, true, Preallocation.OFF);
        assertThat(shrink.newVirtualSize()).isEqualTo(10 * MIB + 512);
        assertThat(geometry((VhdHeader) after(f, shrink).header())).isEqualTo(Geometry.MAX);

        // without the maximum geometry "d2v\0" is read through the geometry and rounded up
        Path g = sample("dynamic", 16 * MIB);
        patchFooters(g, VhdLayout.F_CREATOR_APP, new byte[] {'d', '2', 'v', 0});
        ResizePlan rounded = plan(g, 20 * MIB + 3 * 512);
        assertThat(rounded.newVirtualSize()).isEqualTo(Geometry.covering((20 * MIB + 3 * 512) / 512).bytes())
                .isNotEqualTo(20 * MIB + 3 * 512);
        assertThat(geometry((VhdHeader) after(g, rounded).header())).isNotEqualTo(Geometry.MAX);
    }

    /** A maximum geometry a size past 127 GiB forced is not kept when a shrink goes below that. */
    @Test
    void aMaximumGeometryOfALargeSizeFollowsTheCreatorBelowIt() throws Exception {
        Path f = sample("dynamic", 200L << 30);
        VhdHeader h = (VhdHeader) ImageProber.probe(f, Optional.of("vpc")).header();
        assertThat(geometry(h)).isEqualTo(Geometry.MAX);
        long asked = 20 * MIB;
        ResizePlan p = plan(f, asked, true, Preallocation.OFF);
        Geometry g = Geometry.covering(asked / 512);
        assertThat(p.newVirtualSize()).isEqualTo(g.bytes());
        assertThat(geometry((VhdHeader) after(f, p).header())).isEqualTo(g);
    }

    @Test
    void aSmallGrowKeepsTheBatInPlaceAndABigOneRelocatesIt() throws Exception {
        Path f = sample("dynamic", 16 * MIB);
        assertThat(plan(f, 48 * MIB).notes()).anyMatch(n -> n.contains("grows in place"));
        Path g = sample("dynamic", 1L << 30);
        ResizePlan big = plan(g, 1L << 40);
        assertThat(big.newVirtualSize()).isEqualTo(1L << 40);
        assertThat(big.notes()).anyMatch(n -> n.contains("grows in place"));
        assertThat(big.image().newLength() % 512).isZero();
    }

    @Test
    void aBlockInTheWayMakesTheBatMove() throws Exception {
        Path f = sample("dynamic", 64 * MIB);
        allocateFirstBlock(f);
        ResizePlan p = plan(f, 1L << 40);
        assertThat(p.notes()).anyMatch(n -> n.contains("relocated"));
        assertThat(p.patches()).anyMatch(x -> x instanceof ResizePatch.Copy);
        assertThat(p.image().newLength() % 512).isZero();
        MemoryApply sim = MemoryApply.load(p, f);
        for (int k = 0; k <= p.finalStep(); k++) {
            sim.step();
        }
        ProbedImage after = ImageProber.probeForResize(f, sim.file(0), Optional.of("vpc"));
        VhdHeader h = (VhdHeader) after.header();
        assertThat(after.virtualSize()).isEqualTo(1L << 40);
        assertThat(h.allocatedBlocks()).isEqualTo(1);
        assertThat(h.maxTableEntries()).isEqualTo((1L << 40) / VhdLayout.DEFAULT_BLOCK_SIZE);
        assertThat(after.flags()).noneMatch(s -> s.startsWith("corrupt") || s.startsWith("truncated"));
    }

    @Test
    void aBlockInTheWayOfALargeBatMovesWhenThatWritesLess() throws Exception {
        // 1.2 TiB: a 2.4 MiB BAT; growing it by 0.2 MiB in place over one moved 2 MiB block
        // writes less than a relocated 2.6 MiB table.
        Path f = sample("dynamic", 1200L << 30);
        allocateFirstBlock(f);
        long firstBlock = ((VhdHeader) ImageProber.probe(f, Optional.of("vpc")).header()).firstDataBlockOffset();
        long length = Files.size(f);
        ResizePlan p = plan(f, 1300L << 30);
        assertThat(p.notes()).anyMatch(n -> n.contains("move to the end"));
        assertThat(p.patches()).filteredOn(x -> x instanceof ResizePatch.Copy).singleElement()
                .satisfies(x -> assertThat(((ResizePatch.Copy) x).source()).isEqualTo(firstBlock));
        MemoryApply sim = MemoryApply.load(p, f);
        for (int k = 0; k <= p.finalStep(); k++) {
            sim.step();
        }
        ProbedImage after = ImageProber.probeForResize(f, sim.file(0), Optional.of("vpc"));
        VhdHeader h = (VhdHeader) after.header();
        assertThat(after.virtualSize()).isEqualTo(1300L << 30);
        assertThat(h.batOffset()).as("the table stays where it was").isEqualTo(1536);
        assertThat(h.allocatedBlocks()).isEqualTo(1);
        assertThat(h.firstDataBlockOffset()).as("the block moved to the old end").isEqualTo(length - 512);
        byte[] data = new byte[4096];
        sim.file(0).readFullyUnchecked(h.firstDataBlockOffset() + h.bitmapSize(), data, data.length);
        assertThat(data).containsOnly((byte) 0x42);
        assertThat(after.flags()).noneMatch(s -> s.startsWith("corrupt") || s.startsWith("truncated"));
    }

    @Test
    void aDynamicShrinkDropsBlocksPastTheEndAndCutsTheFile() throws Exception {
        Path f = sample("dynamic", 64 * MIB);
        allocateFirstBlock(f);
        long length = Files.size(f);
        ProbedImage image = ImageProber.probe(f, Optional.of("vpc"));
        ResizePlan p = plan(f, 1024 * 512, true, Preallocation.OFF);
        assertThat(p.newVirtualSize()).isLessThan(image.virtualSize());
        assertThat(p.image().newLength()).isEqualTo(length);
        // the first block holds guest block 0: it stays
        MemoryApply sim = MemoryApply.load(p, f);
        for (int k = 0; k <= p.finalStep(); k++) {
            sim.step();
        }
        assertThat(((VhdHeader) ImageProber.probeForResize(f, sim.file(0), Optional.of("vpc")).header())
                .allocatedBlocks()).isEqualTo(1);
    }

    @Test
    void refusals() throws Exception {
        Path f = sample("dynamic", 16 * MIB);
        assertThatThrownBy(() -> plan(f, 2041L << 30)).isInstanceOfSatisfying(ResizeError.class,
                e -> assertThat(e.getMessage()).contains("2040 GiB"));
        assertThatThrownBy(() -> plan(f, 20 * MIB + 1)).isInstanceOfSatisfying(ResizeError.class,
                e -> assertThat(e.getMessage()).contains("multiple of 512"));
        assertThatThrownBy(() -> plan(f, 8 * MIB)).isInstanceOfSatisfying(ResizeError.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.SHRINK_WITHOUT_FLAG));
        assertThatThrownBy(() -> plan(f, 32 * MIB, false, Preallocation.FULL))
                .isInstanceOfSatisfying(ResizeError.class,
                        e -> assertThat(e.code()).isEqualTo(ErrorCode.PREALLOCATION_UNSUPPORTED));

        Path diff = sample("dynamic", 16 * MIB);
        patchFooters(diff, VhdLayout.F_DISK_TYPE, new byte[] {0, 0, 0, 4});
        assertThatThrownBy(() -> plan(diff, 32 * MIB)).isInstanceOfSatisfying(ResizeError.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.UNSUPPORTED_SUBFORMAT));

        Path unknown = sample("fixed", 16 * MIB);
        patchFooters(unknown, VhdLayout.F_DISK_TYPE, new byte[] {0, 0, 0, 7});
        long typeAt = Files.size(unknown) - 512 + VhdLayout.F_DISK_TYPE;
        assertThatThrownBy(() -> plan(unknown, 32 * MIB)).isInstanceOfSatisfying(ResizeError.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.UNSUPPORTED_SUBFORMAT);
            assertThat(e.getMessage()).startsWith("VHD footer field disk_type at offset " + typeAt + ": ");
            // the field the message names, typed for the window: no caller parses the words
            assertThat(e.location()).contains(new ResizeError.Location(ResizeError.Kind.UNSUPPORTED, "disk_type",
                    typeAt));
        });

        Path bad = sample("fixed", 16 * MIB);
        try (RandomAccessFile raf = new RandomAccessFile(bad.toFile(), "rw")) {
            raf.seek(raf.length() - 512 + VhdLayout.F_CHECKSUM);
            raf.writeInt(0x1234);
        }
        long checksumAt = Files.size(bad) - 512 + 64;
        assertThatThrownBy(() -> plan(bad, 32 * MIB)).isInstanceOfSatisfying(ResizeError.class, e -> {
            assertThat(e.getMessage()).contains("checksum at offset " + checksumAt);
            // a bad checksum is damage (the probe flags it corrupt): the window shows it as such
            assertThat(e.location()).contains(new ResizeError.Location(ResizeError.Kind.CORRUPT, "checksum",
                    checksumAt));
        });
    }

    /** Maps guest block 0 to a block appended after the BAT, as qemu would on a first write. */
    private static void allocateFirstBlock(Path f) throws Exception {
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            long tail = raf.length() - 512;
            byte[] footer = new byte[512];
            raf.seek(tail);
            raf.readFully(footer);
            long block = tail;
            int bitmap = (int) VhdLayout.bitmapSize(VhdLayout.DEFAULT_BLOCK_SIZE);
            byte[] bits = new byte[bitmap];
            java.util.Arrays.fill(bits, (byte) 0xff);
            raf.seek(block);
            raf.write(bits);
            byte[] data = new byte[VhdLayout.DEFAULT_BLOCK_SIZE];
            java.util.Arrays.fill(data, (byte) 0x42);
            raf.write(data);
            raf.write(footer);
            raf.seek(1536);
            raf.writeInt((int) (block / 512));
        }
    }
}
