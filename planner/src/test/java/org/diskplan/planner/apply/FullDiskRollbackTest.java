package org.diskplan.planner.apply;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.diskplan.abi.ResizeAction;
import org.diskplan.planner.ResizeError;
import org.diskplan.planner.ResizePatch;
import org.diskplan.planner.ResizePatch.Write;
import org.diskplan.planner.ResizePatch.ZeroFill;
import org.diskplan.planner.ResizePlan;
import org.diskplan.probe.RegionKind;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A resize that fills its file system must still roll back. On a 4 MiB tmpfs a sparse
 * image has a hole the plan will overwrite late; an early zero fill past the end runs out
 * of space first. Restoring the saved zeros into the hole before cutting the file (as
 * before) needed space the full file system did not have, and so did every `recover`;
 * cutting first and rewriting only the blocks that differ needs none.
 */
class FullDiskRollbackTest {
    private static final long LENGTH = 2L << 20;
    private static final int HOLE = 1 << 20;

    @TempDir
    Path dir;

    private Path fs;

    @BeforeEach
    void mountSmallTmpfs() throws Exception {
        fs = Files.createDirectory(dir.resolve("small"));
        Process p = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", fs.toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        Assumptions.assumeTrue(p.waitFor() == 0, "cannot mount a 4 MiB tmpfs here (needs root): " + out);
    }

    @AfterEach
    void unmount() throws Exception {
        new ProcessBuilder("umount", fs.toString()).inheritIO().start().waitFor();
    }

    /** A 2 MiB image: 64 KiB of data, then a hole to the end. */
    private Path sparseImage() throws Exception {
        Path image = fs.resolve("disk.img");
        try (RandomAccessFile raf = new RandomAccessFile(image.toFile(), "rw")) {
            byte[] data = new byte[64 << 10];
            java.util.Arrays.fill(data, (byte) 0x5a);
            raf.write(data);
            raf.setLength(LENGTH);
        }
        return image;
    }

    /** Zero-fills 8 MiB past the end (more than the file system holds), then writes into the hole. */
    private static ResizePlan plan() {
        byte[] ones = new byte[HOLE];
        java.util.Arrays.fill(ones, (byte) 0x11);
        List<ResizePatch> patches = List.of(
                new ZeroFill(LENGTH, 8L << 20, false, "preallocate the new range", RegionKind.DATA),
                new Write(LENGTH - HOLE, ones, "new table in the old free space", RegionKind.TABLE));
        return PlanApplierTest.plan(ResizeAction.GROW, LENGTH, LENGTH + (8L << 20), patches, 1, List.of(0),
                List.of());
    }

    @Test
    void aResizeThatRunsOutOfSpaceRollsBackToTheOriginalFile() throws Exception {
        Path image = sparseImage();
        byte[] original = Files.readAllBytes(image);

        assertThatThrownBy(() -> PlanApplier.apply(image, plan(), ApplyOptions.DEFAULT))
                .isInstanceOf(ResizeError.class).hasMessageContaining("No space left on device")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("rolling back failed"));

        assertThat(Files.readAllBytes(image)).isEqualTo(original);
        assertThat(UndoJournal.pathFor(image)).doesNotExist();
    }

    @Test
    void recoverAfterADeathOnAFullFileSystemRestoresTheOriginalFile() throws Exception {
        Path image = sparseImage();
        byte[] original = Files.readAllBytes(image);
        // the process dies at the failing write: the file system is full, the journal left behind
        assertThatThrownBy(() -> PlanApplier.apply(image, plan(), ApplyOptions.DEFAULT.withFaults((op, f) -> {
            if (op == IoFaults.Op.WRITE && Files.size(image) > LENGTH && fs.toFile().getUsableSpace() < (1 << 20)) {
                throw new StackOverflowError("killed");
            }
        }))).isInstanceOf(StackOverflowError.class);
        assertThat(UndoJournal.pathFor(image)).exists();

        Recovery.recover(image);

        assertThat(Files.readAllBytes(image)).isEqualTo(original);
        assertThat(UndoJournal.pathFor(image)).doesNotExist();
    }
}
