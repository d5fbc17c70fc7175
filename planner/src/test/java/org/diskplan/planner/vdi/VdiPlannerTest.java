package org.diskplan.planner.vdi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import org.diskplan.abi.Preallocation;
import org.diskplan.planner.PatchKind;
import org.diskplan.planner.ResizeError;
import org.diskplan.planner.ResizePatch;
import org.diskplan.planner.ResizePlan;
import org.diskplan.planner.ResizeRequest;
import org.diskplan.planner.ResizeSession;
import org.diskplan.planner.apply.ApplyOptions;
import org.diskplan.planner.apply.MemoryApply;
import org.diskplan.planner.apply.MemoryFile;
import org.diskplan.probe.ImageProber;
import org.diskplan.probe.ImageReader;
import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.vdi.VdiHeader;
import org.diskplan.probe.vdi.VdiLayout;
import org.diskplan.probe.vdi.VdiSampleWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VdiPlannerTest {
    private static final long MiB = 1 << 20;

    @TempDir
    Path dir;

    /** A dynamic image of {@code size} with guest blocks {@code guest} written (host blocks in that order). */
    private Path image(long size, boolean fixed, int... guest) throws Exception {
        Path f = dir.resolve("d.vdi");
        new VdiSampleWriter().write(f, size, fixed ? Map.of("subformat", "static") : Map.of());
        ProbedImage p = ImageProber.probe(f, Optional.of("vdi"));
        VdiHeader h = (VdiHeader) p.header();
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            for (int host = 0; host < guest.length; host++) {
                int g = guest[host];
                long at = fixed ? h.dataOffset() + g * MiB : h.dataOffset() + host * MiB;
                raf.seek(at);
                raf.write(pattern(g));
                if (!fixed) {
                    raf.seek(h.blocksOffset() + 4L * g);
                    raf.write(ByteBuffer.allocate(4).order(VdiLayout.ORDER).putInt(host).array());
                }
            }
            if (!fixed) {
                raf.seek(VdiLayout.OFF_BLOCKS_ALLOCATED);
                raf.write(ByteBuffer.allocate(4).order(VdiLayout.ORDER).putInt(guest.length).array());
            }
        }
        return f;
    }

    private static byte[] pattern(int guest) {
        byte[] b = new byte[(int) MiB];
        Arrays.fill(b, (byte) (guest * 7 + 1));
        return b;
    }

    /** Guest block {@code g} as the image in {@code r} reads it (zeros when unallocated). */
    private static byte[] guest(ImageReader r, int g) throws Exception {
        ProbedImage p = ImageProber.probeForResize(Path.of("x.vdi"), r, Optional.of("vdi"));
        VdiHeader h = (VdiHeader) p.header();
        long e = Integer.toUnsignedLong(ByteBuffer.wrap(r.read(h.blocksOffset() + 4L * g, 4, "map"))
                .order(VdiLayout.ORDER).getInt());
        if (e >= VdiLayout.BLOCK_ZERO) {
            return new byte[(int) MiB];
        }
        long at = h.dataOffset() + e * MiB;
        byte[] out = new byte[(int) MiB];
        long n = Math.max(0, Math.min(MiB, r.size() - at));
        if (n > 0) {
            System.arraycopy(r.read(at, (int) n, "block"), 0, out, 0, (int) n);
        }
        return out;
    }

    private ResizePlan planAndCheckPrefixes(Path f, ResizeRequest req, int... guest) throws Exception {
        ResizePlan plan = ResizeSession.planFile(f, Optional.of("vdi"), p -> req);
        MemoryApply sim = MemoryApply.load(plan, f);
        for (int k = -1; k <= plan.finalStep(); k++) {
            if (k >= 0) {
                sim.step();
            }
            MemoryFile m = sim.file(0);
            ProbedImage p = ImageProber.probeForResize(f, m, Optional.of("vdi"));
            assertThat(p.virtualSize()).as("size after step " + k).isEqualTo(k < plan.commitIndex()
                    ? plan.oldVirtualSize() : plan.newVirtualSize());
            assertThat(p.flags()).as("flags after step " + k).noneMatch(s -> s.startsWith("corrupt"));
            VdiHeader h = (VdiHeader) p.header();
            assertThat(h.blocksAllocated()).as("cBlocksAllocated covers every host block, step " + k)
                    .isGreaterThan(h.highestBlockIndex());
            // what qemu-img check counts: allocated entries below cBlocks against cBlocksAllocated
            assertThat(h.mapAllocated()).as("allocated entries = cBlocksAllocated, step " + k)
                    .isEqualTo(h.blocksAllocated());
            assertThat(h.highestBlockIndex()).as("host indices below cBlocks (qemu-img check), step " + k)
                    .isLessThan(h.blockCount());
            for (int g : guest) {
                if ((g + 1) * MiB <= p.virtualSize()) {
                    assertThat(guest(m, g)).as("guest block " + g + " after step " + k).isEqualTo(pattern(g));
                }
            }
        }
        ProbedImage end = ImageProber.probeForResize(f, sim.file(0), Optional.of("vdi"));
        VdiHeader h = (VdiHeader) end.header();
        assertThat(h.blocksAllocated()).isEqualTo(h.mapAllocated());
        assertThat(h.highestBlockIndex()).isEqualTo(h.mapAllocated() - 1);
        return plan;
    }

    @Test
    void growInPlaceWritesNewEntriesThenTheHeader() throws Exception {
        Path f = image(16 * MiB, false, 3, 0, 9);
        ResizePlan plan = planAndCheckPrefixes(f, new ResizeRequest(64 * MiB, false, Preallocation.OFF), 3, 0, 9);
        assertThat(plan.patches()).noneMatch(p -> p.kind() == PatchKind.COPY);
        assertThat(plan.commitIndex()).isEqualTo(plan.patches().size() - 1);
    }

    @Test
    void growPastTheMapMovesTheFirstBlocksToTheEnd() throws Exception {
        Path f = image(16 * MiB, false, 3, 0, 9, 15);
        ResizePlan plan = planAndCheckPrefixes(f, new ResizeRequest(2048 * MiB, false, Preallocation.OFF),
                3, 0, 9, 15);
        // map of 2048 entries = 8 KiB from 512: offData 1024 moves up one block
        assertThat(plan.patches().stream().filter(p -> p.kind() == PatchKind.COPY)).hasSize(1);
        assertThat(plan.notes()).anyMatch(n -> n.contains("moved to the end"));
    }

    @Test
    void growPastTheMapWithFewerBlocksThanTheShift() throws Exception {
        Path f = image(16 * MiB, false, 5);
        planAndCheckPrefixes(f, new ResizeRequest(1L << 40, false, Preallocation.OFF), 5);
    }

    @Test
    void emptyDynamicGrowsPastTheMap() throws Exception {
        Path f = image(16 * MiB, false);
        planAndCheckPrefixes(f, new ResizeRequest(1L << 40, false, Preallocation.OFF));
    }

    @Test
    void fixedGrowAllocatesTheNewBlocks() throws Exception {
        Path f = image(16 * MiB, true, 0, 4, 15);
        planAndCheckPrefixes(f, new ResizeRequest(32 * MiB + 512, false, Preallocation.OFF), 0, 4, 15);
        planAndCheckPrefixes(f, new ResizeRequest(4096 * MiB, false, Preallocation.OFF), 0, 4, 15);
    }

    @Test
    void shrinkCompactsAndCuts() throws Exception {
        Path f = image(16 * MiB, false, 12, 1, 14, 2, 0);
        ResizePlan plan = planAndCheckPrefixes(f, new ResizeRequest(8 * MiB, true, Preallocation.OFF), 1, 2, 0);
        assertThat(plan.image().newLength()).isEqualTo(1024 + 3 * MiB);
        assertThat(plan.commitIndex()).isZero();
    }

    @Test
    void shrinkCompactsBlocksPastTheNewMap() throws Exception {
        // guests 9-11 at hosts 0-2; the kept guests 0, 2, 3 at hosts 3-5, past the new cBlocks (4)
        Path f = image(16 * MiB, false, 9, 10, 11, 0, 2, 3);
        ResizePlan plan = planAndCheckPrefixes(f, new ResizeRequest(4 * MiB, true, Preallocation.OFF), 0, 2, 3);
        assertThat(plan.patches().stream().filter(p -> p.kind() == PatchKind.COPY)).hasSize(3);
        assertThat(plan.image().newLength()).isEqualTo(1024 + 3 * MiB);
    }

    @Test
    void realApplyKeepsData() throws Exception {
        Path f = image(16 * MiB, false, 3, 0, 9);
        ResizeSession.resizeFile(f, Optional.of("vdi"), p -> new ResizeRequest(2048 * MiB, false,
                Preallocation.OFF), ApplyOptions.DEFAULT);
        try (var r = org.diskplan.probe.FileImageReader.open(f)) {
            assertThat(guest(r, 9)).isEqualTo(pattern(9));
        }
    }

    @Test
    void virtualBoxHeaderKeepsWhatItHoldsAndResetsTheLchsGeometry() throws Exception {
        Path f = image(16 * MiB, false, 2, 0);
        byte[] text = "<<< Oracle VM VirtualBox Disk Image >>>\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.seek(0);
            raf.write(text);
            raf.seek(VdiLayout.OFF_HEADER_SIZE);
            raf.write(ByteBuffer.allocate(4).order(VdiLayout.ORDER).putInt(VdiLayout.HEADER_SIZE_1PLUS).array());
            raf.seek(VdiLayout.OFF_DESCRIPTION);
            raf.write("my comment".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            raf.seek(VdiLayout.OFF_LCHS_CYLINDERS);
            raf.write(ByteBuffer.allocate(16).order(VdiLayout.ORDER).putInt(32).putInt(16).putInt(63).putInt(512)
                    .array());
        }
        VdiHeader before = (VdiHeader) ImageProber.probe(f, Optional.of("vdi")).header();
        planAndCheckPrefixes(f, new ResizeRequest(2048 * MiB, false, Preallocation.OFF), 2, 0);
        ResizeSession.resizeFile(f, Optional.of("vdi"), p -> new ResizeRequest(2048 * MiB, false,
                Preallocation.OFF), ApplyOptions.DEFAULT);
        VdiHeader after = (VdiHeader) ImageProber.probe(f, Optional.of("vdi")).header();
        assertThat(after.preHeaderText()).isEqualTo(before.preHeaderText());
        assertThat(after.description()).isEqualTo("my comment");
        assertThat(after.uuidCreate()).isEqualTo(before.uuidCreate());
        assertThat(after.uuidModify()).as("kept, as VirtualBox's own resize keeps it").isEqualTo(before.uuidModify());
        assertThat(after.headerSize()).isEqualTo(VdiLayout.HEADER_SIZE_1PLUS);
        assertThat(after.lchsCylinders()).isZero();
        assertThat(after.lchsSectorSize()).isEqualTo(512);
        assertThat(after.diskSize()).isEqualTo(2048 * MiB);
        assertThat(after.dataOffset()).isGreaterThan(before.dataOffset());
        assertThat(after.blocksAllocated()).isEqualTo(2);
    }

    @Test
    void refusesDifferencingImages() throws Exception {
        Path f = image(16 * MiB, false);
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.seek(VdiLayout.OFF_UUID_LINKAGE);
            raf.write(1);
        }
        assertThatThrownBy(() -> ResizeSession.planFile(f, Optional.of("vdi"),
                p -> new ResizeRequest(32 * MiB, false, Preallocation.OFF)))
                .isInstanceOf(ResizeError.class).hasMessageContaining("uuidLinkage").hasMessageContaining("non-NULL");
    }

    @Test
    void refusesBlockSizesQemuCannotOpen() throws Exception {
        Path f = image(16 * MiB, false);
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.seek(VdiLayout.OFF_BLOCK_SIZE);
            raf.write(ByteBuffer.allocate(4).order(VdiLayout.ORDER).putInt(2 << 20).array());
            raf.seek(VdiLayout.OFF_BLOCK_COUNT);
            raf.write(ByteBuffer.allocate(4).order(VdiLayout.ORDER).putInt(8).array());
        }
        byte[] before = Files.readAllBytes(f);
        assertThatThrownBy(() -> ResizeSession.resizeFile(f, Optional.of("vdi"),
                p -> new ResizeRequest(32 * MiB, false, Preallocation.OFF), ApplyOptions.DEFAULT))
                .isInstanceOf(ResizeError.class).hasMessageContaining("cbBlock at offset 376")
                .hasMessageContaining("block size 2097152 is not 1048576");
        assertThat(Files.readAllBytes(f)).isEqualTo(before);
    }

    /** A map on the header or a data area over the map: qemu opens it; refused as damaged, naming the field. */
    @Test
    void refusesOverlappingHeaderMapAndData() throws Exception {
        for (int[] edit : new int[][] {{VdiLayout.OFF_BLOCKS, 0}, {VdiLayout.OFF_DATA, 512}}) {
            Files.deleteIfExists(dir.resolve("d.vdi"));
            Path f = image(16 * MiB, false, 0);
            try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
                raf.seek(edit[0]);
                raf.write(ByteBuffer.allocate(4).order(VdiLayout.ORDER).putInt(edit[1]).array());
            }
            assertThatThrownBy(() -> ResizeSession.planFile(f, Optional.of("vdi"),
                    p -> new ResizeRequest(32 * MiB, false, Preallocation.OFF)))
                    .isInstanceOf(ResizeError.class)
                    .hasMessageContaining("is damaged: corrupt: VDI header field "
                            + (edit[0] == VdiLayout.OFF_BLOCKS ? "offBlocks at offset 340" : "offData at offset 344"))
                    .hasMessageNotContaining("qemu-img check -r");
        }
    }

    @Test
    void refusesSizesNotAMultipleOf512() throws Exception {
        Path f = image(16 * MiB, false);
        assertThatThrownBy(() -> ResizeSession.planFile(f, Optional.of("vdi"),
                p -> new ResizeRequest(32 * MiB + 1, false, Preallocation.OFF)))
                .isInstanceOf(ResizeError.class).hasMessageContaining("multiple of 512");
    }
}
