package org.diskplan.planner.qcow2;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Map;
import org.diskplan.abi.Preallocation;
import org.diskplan.planner.ResizeError;
import org.diskplan.planner.ResizePatch;
import org.diskplan.planner.ResizePlan;
import org.diskplan.planner.ResizeRequest;
import org.diskplan.planner.TestImages;
import org.diskplan.probe.qcow2.Qcow2SampleWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A qcow2 image marked dirty (incompatible bit 0): qemu's read-write open checks it with
 * repairs and clears the bit. Where its refcounts are exactly what its tables use, that check
 * repairs nothing, and DiskPlan resizes it with the commit clearing the bit (it refused every
 * dirty image); otherwise it is refused, naming what qemu would repair.
 */
class Qcow2DirtyTest {
    static final long CS = 65536;

    /** An empty 64 MiB image (header, refcount table, one refcount block at cluster 2, L1), marked dirty. */
    static Path dirty(Path dir) throws Exception {
        Path file = dir.resolve("d.qcow2");
        new Qcow2SampleWriter().write(file, 64L << 20, Map.of());
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.seek(79);
            raf.write(1);
        }
        return file;
    }

    @Test
    void exactRefcountsAreResizedAndTheCommitClearsTheBit(@TempDir Path dir) throws Exception {
        Path file = dirty(dir);
        for (long to : new long[] {65L << 20, 8L << 30}) {
            ResizePlan plan = TestImages.plan(file, "qcow2", new ResizeRequest(to, false, Preallocation.OFF));
            assertThat(plan.notes()).anyMatch(n -> n.startsWith("the image was marked dirty"));
            ResizePatch.Write commit = (ResizePatch.Write) plan.patches().get(plan.commitIndex());
            assertThat(commit.offset()).isEqualTo(24);
            assertThat(commit.data()).hasSize(80 - 24);
            assertThat(ByteBuffer.wrap(commit.data()).getLong(0)).isEqualTo(to);
            assertThat(ByteBuffer.wrap(commit.data()).getLong(72 - 24)).as("incompatible_features").isZero();
        }
    }

    @Test
    void aLeakOrAMissingCopiedFlagIsRefusedAsQemuWouldRepairIt(@TempDir Path dir) throws Exception {
        Path leak = dirty(dir);
        try (RandomAccessFile raf = new RandomAccessFile(leak.toFile(), "rw")) {
            raf.seek(2 * CS + 2 * 10); // 16-bit refcount of cluster 10, which nothing uses
            raf.writeShort(1);
        }
        assertThatThrownBy(() -> TestImages.plan(leak, "qcow2", new ResizeRequest(65L << 20, false,
                Preallocation.OFF))).isInstanceOf(ResizeError.class)
                .hasMessageContaining("is marked dirty and qemu's check would repair it (cluster 10 (offset 655360)"
                        + " has refcount 1 but is used 0 times)")
                .hasMessageContaining("qemu-img check -r all");

        Path flag = dir.resolve("flag");
        java.nio.file.Files.createDirectories(flag);
        Path noCopied = dirty(flag);
        try (RandomAccessFile raf = new RandomAccessFile(noCopied.toFile(), "rw")) {
            raf.seek(3 * CS); // L1 entry 0: an L2 table at cluster 4, without the copied flag
            raf.writeLong(4 * CS);
            raf.seek(2 * CS + 2 * 4);
            raf.writeShort(1);
            raf.setLength(5 * CS);
        }
        assertThatThrownBy(() -> TestImages.plan(noCopied, "qcow2", new ResizeRequest(65L << 20, false,
                Preallocation.OFF))).isInstanceOf(ResizeError.class)
                .hasMessageContaining("L1 entry 0 (40000) lacks the copied flag");
    }
}
