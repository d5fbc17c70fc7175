package org.diskplan.planner.apply;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.diskplan.abi.ErrorCode;
import org.diskplan.abi.ImageFormat;
import org.diskplan.abi.Preallocation;
import org.diskplan.abi.ResizeAction;
import org.diskplan.planner.FormatOptions;
import org.diskplan.planner.PlanBuilder;
import org.diskplan.planner.PlanFile;
import org.diskplan.planner.ResizeError;
import org.diskplan.planner.ResizePatch.Copy;
import org.diskplan.planner.ResizePatch.Extend;
import org.diskplan.planner.ResizePatch.Write;
import org.diskplan.planner.ResizePatch.ZeroFill;
import org.diskplan.planner.ResizePlan;
import org.diskplan.planner.ResizeRequest;
import org.diskplan.planner.TestImages;
import org.diskplan.probe.RegionKind;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A plan over three files, as a VMDK resize makes them: the image, a descriptor it
 * edits and shortens, and an extent file it creates and fills, partly with a block
 * copied from the image. Interrupted after every step, {@code recover} restores every
 * file byte for byte and removes the created one.
 */
class MultiFilePlanTest {
    private static final long LENGTH = 256 << 10;
    private static final int DESCRIPTOR = 1000;

    @TempDir
    Path dir;
    Path image;
    Path descriptor;
    Path extent;

    /** Thrown by the step hook: the applier stops dead, as if the process had been killed. */
    private static final class SimulatedCrash extends Error {
        private static final long serialVersionUID = 1L;
    }

    @BeforeEach
    void files() throws Exception {
        image = TestImages.raw(dir, "disk.img", LENGTH);
        descriptor = dir.resolve("disk.txt");
        byte[] text = new byte[DESCRIPTOR];
        Arrays.fill(text, (byte) 'd');
        Files.write(descriptor, text);
        extent = dir.resolve("disk-s002.img");
    }

    private ResizePlan plan() throws ResizeError {
        ResizeRequest request = new ResizeRequest(LENGTH + 8192, false, Preallocation.OFF);
        PlanBuilder b = new PlanBuilder(ImageFormat.RAW, new FormatOptions.Raw(), request, image, LENGTH);
        int desc = b.file(descriptor, PlanFile.Role.DESCRIPTOR, DESCRIPTOR);
        int ext = b.createFile(extent, PlanFile.Role.EXTENT);
        b.phase(List.of(
                new Write(ext, 0, bytes(4096, 0x11), true, "extent header", RegionKind.HEADER),
                new Copy(ext, 4096, 0, 64 << 10, 8192, "move a block of the image into the extent", RegionKind.DATA)));
        b.phase(List.of(new Extend(ext, 4096 + 8192, 1 << 20, "sparse extent data", RegionKind.DATA)));
        b.phase(List.of(new Write(desc, 10, "RW 2048 SPARSE".getBytes(StandardCharsets.US_ASCII), false,
                "descriptor: extent line", RegionKind.METADATA)));
        b.commit(new Write(0, bytes(512, 0x33), "image header (commit)", RegionKind.HEADER));
        b.phase(List.of(new ZeroFill(8192, 8192, false, "release the old table", RegionKind.FREE),
                Write.append(LENGTH, bytes(8192, 0x44), "new table at the end", RegionKind.TABLE)));
        b.finalLength(desc, 600);
        return b.build(ResizeAction.GROW, LENGTH, LENGTH + 8192);
    }

    private static byte[] bytes(int n, int value) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) value);
        return b;
    }

    @Test
    void appliesOverEveryFile() throws Exception {
        byte[] block = Arrays.copyOfRange(Files.readAllBytes(image), 64 << 10, (64 << 10) + 8192);
        ResizePlan plan = plan();
        assertThat(plan.files()).extracting(PlanFile::newLength).containsExactly(LENGTH + 8192, 600L,
                4096L + 8192 + (1 << 20));
        PlanApplier.apply(image, plan, ApplyOptions.DEFAULT);

        byte[] img = Files.readAllBytes(image);
        assertThat(img).hasSize((int) LENGTH + 8192);
        assertThat(img[0]).isEqualTo((byte) 0x33);
        assertThat(img[9000]).isZero();
        assertThat(img[(int) LENGTH]).isEqualTo((byte) 0x44);
        byte[] ext = Files.readAllBytes(extent);
        assertThat(ext).hasSize(4096 + 8192 + (1 << 20));
        assertThat(Arrays.copyOfRange(ext, 4096, 4096 + 8192)).isEqualTo(block);
        assertThat(new String(Files.readAllBytes(descriptor), StandardCharsets.US_ASCII))
                .hasSize(600).startsWith("ddddddddddRW 2048 SPARSE");
        assertThat(UndoJournal.pathFor(image)).doesNotExist();
    }

    /**
     * A file the plan creates gets the image's permissions exactly (not the umask's), and,
     * run as root, the image's owner and group: a disk that belongs to the hypervisor's user
     * must not get an extent only root can open.
     */
    @Test
    void aCreatedFileTakesTheImagesPermissionsAndOwner() throws Exception {
        Files.setPosixFilePermissions(image, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r-----"));
        boolean root = ((Integer) Files.getAttribute(dir, "unix:uid")) == 0;
        if (root) {
            Files.setAttribute(image, "unix:uid", 65534);
            Files.setAttribute(image, "unix:gid", 65534);
        }
        PlanApplier.apply(image, plan(), ApplyOptions.DEFAULT);
        assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(extent)))
                .isEqualTo("rw-r-----");
        if (root) {
            assertThat(Files.getAttribute(extent, "unix:uid")).isEqualTo(65534);
            assertThat(Files.getAttribute(extent, "unix:gid")).isEqualTo(65534);
        } else {
            assertThat(Files.getAttribute(extent, "unix:uid")).isEqualTo(Files.getAttribute(dir, "unix:uid"));
        }
    }

    /**
     * The journal holds the bytes a resize overwrites (guest data among them): only its owner
     * may read it, whatever the umask and the image's permissions, and a leftover link where
     * it is written is removed, never followed.
     */
    @Test
    void theJournalIsReadableByItsOwnerAlone() throws Exception {
        Files.setPosixFilePermissions(image, java.nio.file.attribute.PosixFilePermissions.fromString("rw-rw-rw-"));
        Path victim = Files.write(dir.resolve("victim"), bytes(100, 0x55));
        Path tmp = UndoJournal.tempPathFor(image);
        Files.createSymbolicLink(tmp, victim);
        ResizePlan plan = plan();
        assertThatThrownBy(() -> PlanApplier.apply(image, plan, ApplyOptions.DEFAULT.withAfterStep(step -> {
            throw new SimulatedCrash();
        }))).isInstanceOf(SimulatedCrash.class);
        Path journal = UndoJournal.pathFor(image);
        assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(journal)))
                .isEqualTo("rw-------");
        assertThat(Files.readAllBytes(victim)).isEqualTo(bytes(100, 0x55));
    }

    @Test
    void everyInterruptionRecoversEveryFileByteForByte() throws Exception {
        byte[] img = Files.readAllBytes(image);
        byte[] desc = Files.readAllBytes(descriptor);
        ResizePlan plan = plan();
        Path finished = dir.resolve("finished");
        Files.createDirectory(finished);
        for (int k = -1; k <= plan.finalStep(); k++) {
            int crashAfter = k;
            assertThatThrownBy(() -> PlanApplier.apply(image, plan, ApplyOptions.DEFAULT.withAfterStep(step -> {
                if (step == crashAfter) {
                    throw new SimulatedCrash();
                }
            }))).as("crash after step " + k).isInstanceOf(SimulatedCrash.class);
            assertThat(UndoJournal.pathFor(image)).exists();
            assertThatThrownBy(() -> PlanApplier.apply(image, plan, ApplyOptions.DEFAULT))
                    .satisfies(e -> assertThat(((ResizeError) e).code()).isEqualTo(ErrorCode.INTERRUPTED_RESIZE));

            Recovery.Result r = Recovery.recover(image);

            assertThat(UndoJournal.pathFor(image)).doesNotExist();
            if (k < plan.finalStep()) {
                assertThat(r.outcome()).as("after step " + k).isEqualTo(Recovery.Outcome.ROLLED_BACK);
                assertThat(Files.readAllBytes(image)).as("image after step " + k).isEqualTo(img);
                assertThat(Files.readAllBytes(descriptor)).as("descriptor after step " + k).isEqualTo(desc);
                assertThat(extent).as("created extent after step " + k).doesNotExist();
            } else {
                // the descriptor was already cut: the resize is finished, not undone
                assertThat(r.outcome()).isEqualTo(Recovery.Outcome.ROLLED_FORWARD);
                assertThat(Files.size(descriptor)).isEqualTo(600);
                assertThat(Files.size(extent)).isEqualTo(4096 + 8192 + (1 << 20));
                assertThat(Files.size(image)).isEqualTo(LENGTH + 8192);
            }
        }
    }

    @Test
    void aCancelRollsBackEveryFile() throws Exception {
        byte[] img = Files.readAllBytes(image);
        byte[] desc = Files.readAllBytes(descriptor);
        int[] at = {0};
        ApplyOptions cancelAtStep3 = ApplyOptions.DEFAULT.withListener(new ApplyListener() {
            @Override
            public void step(int index, int total, String label) {
                at[0] = index;
            }
        }).withCancel(() -> at[0] >= 3);
        assertThatThrownBy(() -> PlanApplier.apply(image, plan(), cancelAtStep3)).isInstanceOf(ResizeCancelled.class);
        assertThat(Files.readAllBytes(image)).isEqualTo(img);
        assertThat(Files.readAllBytes(descriptor)).isEqualTo(desc);
        assertThat(extent).doesNotExist();
    }

    @Test
    void aFileThePlanCreatesMustNotExist() throws Exception {
        ResizePlan plan = plan();
        Files.write(extent, new byte[] {1, 2, 3});
        byte[] img = Files.readAllBytes(image);
        assertThatThrownBy(() -> PlanApplier.apply(image, plan, ApplyOptions.DEFAULT))
                .hasMessageContaining("exists already");
        assertThat(Files.readAllBytes(image)).isEqualTo(img);
        assertThat(Files.readAllBytes(extent)).containsExactly(1, 2, 3);
        assertThat(UndoJournal.pathFor(image)).doesNotExist();
    }

    @Test
    void anotherFileOfThePlanThatChangedLengthIsRefused() throws Exception {
        ResizePlan plan = plan();
        Files.write(descriptor, new byte[DESCRIPTOR + 1]);
        assertThatThrownBy(() -> PlanApplier.apply(image, plan, ApplyOptions.DEFAULT))
                .hasMessageContaining("changed since it was planned").hasMessageContaining("disk.txt");
        assertThat(extent).doesNotExist();
    }

    @Test
    void aMissingFileOfAnInterruptedResizeIsNamed() throws Exception {
        assertThatThrownBy(() -> PlanApplier.apply(image, plan(), ApplyOptions.DEFAULT.withAfterStep(step -> {
            if (step == 2) {
                throw new SimulatedCrash();
            }
        }))).isInstanceOf(SimulatedCrash.class);
        Files.delete(descriptor);
        assertThatThrownBy(() -> Recovery.recover(image)).hasMessageContaining("disk.txt").hasMessageContaining("missing");
        assertThat(UndoJournal.pathFor(image)).exists();
    }
}
