package org.diskplan.planner.vmdk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.diskplan.abi.ErrorCode;
import org.diskplan.abi.Preallocation;
import org.diskplan.planner.ResizeError;
import org.diskplan.planner.ResizePatch;
import org.diskplan.planner.ResizePlan;
import org.diskplan.planner.ResizeRequest;
import org.diskplan.planner.ResizeSession;
import org.diskplan.planner.apply.MemoryApply;
import org.diskplan.probe.ImageProber;
import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.vmdk.VmdkHeader;
import org.diskplan.probe.vmdk.VmdkLayout;
import org.diskplan.probe.vmdk.VmdkSampleWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** monolithicSparse plans checked with DiskPlan alone: layout decisions, the commit, refusals. */
class VmdkPlannerTest {
    static final long MIB = 1 << 20;

    @TempDir
    Path dir;

    Path sparse(long size) throws Exception {
        Path f = dir.resolve("d.vmdk");
        new VmdkSampleWriter().write(f, size, Map.of("subformat", "monolithicSparse"));
        return f;
    }

    static ResizePlan plan(Path f, long size, boolean shrink) throws Exception {
        return ResizeSession.planFile(f, Optional.of("vmdk"), p -> new ResizeRequest(size, shrink, Preallocation.OFF));
    }

    static VmdkHeader header(Path f, byte[] image) throws Exception {
        Path copy = f.resolveSibling("after-" + f.getFileName());
        Files.write(copy, image);
        ProbedImage p = ImageProber.probe(copy, Optional.of("vmdk"));
        return (VmdkHeader) p.header();
    }

    @Test
    void aDirectoryThatFitsItsLastSectorGrowsInPlace() throws Exception {
        Path f = sparse(64 * MIB); // 2 entries in a 1-sector directory: room for 128 (4 GiB)
        VmdkHeader before = (VmdkHeader) ImageProber.probe(f, Optional.of("vmdk")).header();
        ResizePlan p = plan(f, 4096 * MIB, false);
        MemoryApply sim = MemoryApply.load(p, f);
        while (sim.next() <= p.finalStep()) {
            sim.step();
        }
        VmdkHeader after = header(f, sim.file(0).bytes());
        assertThat(after.capacity()).isEqualTo(4096 * MIB / 512);
        assertThat(after.gdOffset()).as("not moved").isEqualTo(before.gdOffset());
        assertThat(after.rgdOffset()).isEqualTo(before.rgdOffset());
        assertThat(after.allocatedGrainTables()).as("every grain table exists").isEqualTo(128);
        assertThat(after.allocatedRedundantGrainTables()).isEqualTo(128);
        assertThat(sim.file(0).size() % after.grainBytes()).as("ends on a whole grain").isZero();
        assertThat(after.descriptor().orElseThrow().extents().get(0).sectors()).isEqualTo(4096 * MIB / 512);
        assertThat(after.descriptor().orElseThrow().cid()).isNotEqualTo(before.descriptor().orElseThrow().cid());
        assertThat(p.patches().get(p.commitIndex()).offset()).isEqualTo(VmdkLayout.OFF_CAPACITY);
    }

    @Test
    void aBiggerDirectoryMovesBothCopiesToTheEnd() throws Exception {
        Path f = sparse(64 * MIB);
        long length = Files.size(f);
        ResizePlan p = plan(f, 4097 * MIB, false);
        MemoryApply sim = MemoryApply.load(p, f);
        while (sim.next() <= p.finalStep()) {
            sim.step();
        }
        VmdkHeader after = header(f, sim.file(0).bytes());
        assertThat(after.gdOffsetBytes()).isGreaterThanOrEqualTo(length);
        assertThat(after.rgdOffsetBytes()).isGreaterThanOrEqualTo(length).isLessThan(after.gdOffsetBytes());
        assertThat(after.grainDirectoryEntries()).isEqualTo(129);
        assertThat(after.allocatedGrainTables()).isEqualTo(129);
        assertThat(after.allocatedRedundantGrainTables()).isEqualTo(129);
        assertThat(p.notes()).anyMatch(n -> n.contains("does not fit"));
    }

    @Test
    void aChildDiskAndAStreamAreRefusedByField() throws Exception {
        Path f = sparse(64 * MIB);
        byte[] b = Files.readAllBytes(f);
        String text = new String(b, StandardCharsets.ISO_8859_1);
        int at = text.indexOf("parentCID=ffffffff");
        System.arraycopy("parentCID=12345678".getBytes(StandardCharsets.ISO_8859_1), 0, b, at, 18);
        Files.write(f, b);
        assertThatThrownBy(() -> plan(f, 128 * MIB, false)).isInstanceOf(ResizeError.class)
                .hasMessageContaining("parentCID").hasMessageContaining("offset");
        Path s = dir.resolve("s.vmdk");
        new VmdkSampleWriter().write(s, 64 * MIB, Map.of("subformat", "streamOptimized"));
        assertThatThrownBy(() -> plan(s, 128 * MIB, false)).isInstanceOf(ResizeError.class)
                .satisfies(e -> assertThat(((ResizeError) e).code()).isEqualTo(ErrorCode.UNSUPPORTED_SUBFORMAT))
                .hasMessageContaining("streamOptimized").hasMessageContaining("offset");
    }

    /**
     * Version 3 alone is VMware's changed block tracking (qemu opens it read-only), not a stream:
     * the refusal names the version field, not gdOffset or compression.
     */
    @Test
    void versionThreeWithoutCompressionIsRefusedForWhatItIs() throws Exception {
        Path f = sparse(64 * MIB);
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.seek(VmdkLayout.OFF_VERSION);
            raf.write(new byte[] {3, 0, 0, 0});
        }
        byte[] before = Files.readAllBytes(f);
        assertThatThrownBy(() -> plan(f, 128 * MIB, false)).isInstanceOf(ResizeError.class)
                .satisfies(e -> assertThat(((ResizeError) e).code()).isEqualTo(ErrorCode.UNSUPPORTED_SUBFORMAT))
                .hasMessageContaining("field version at offset " + VmdkLayout.OFF_VERSION)
                .hasMessageContaining("changed block tracking").hasMessageContaining("read-only")
                .hasMessageNotContaining("streamOptimized disks are not resized");
        assertThat(Files.readAllBytes(f)).isEqualTo(before);
    }

    @Test
    void tooBigIsRefusedInTheFormatsWords() throws Exception {
        Path f = sparse(64 * MIB);
        assertThatThrownBy(() -> plan(f, (2L << 40) + 512, false)).isInstanceOf(ResizeError.class)
                .hasMessageContaining("32-bit sector numbers");
        assertThat(plan(f, 2L << 40, false).newVirtualSize()).isEqualTo(2L << 40);
    }

    @Test
    void aShrinkCommitsFirstAndCutsTheFileAtTheEnd() throws Exception {
        Path f = sparse(64 * MIB);
        ResizePlan p = plan(f, 8 * MIB, true);
        assertThat(p.commitIndex()).isZero();
        ResizePatch commit = p.patches().get(0);
        ByteBuffer cap = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(8 * MIB / 512);
        assertThat(commit.offset()).isEqualTo(VmdkLayout.OFF_CAPACITY);
        assertThat(((ResizePatch.Write) commit).data()).startsWith(cap.array());
        assertThat(p.image().newLength()).isLessThanOrEqualTo(p.image().oldLength());
    }
}
