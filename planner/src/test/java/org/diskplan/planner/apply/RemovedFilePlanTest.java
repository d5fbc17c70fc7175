package org.diskplan.planner.apply;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.diskplan.abi.ErrorCode;
import org.diskplan.abi.ImageFormat;
import org.diskplan.abi.Preallocation;
import org.diskplan.abi.ResizeAction;
import org.diskplan.planner.FormatOptions;
import org.diskplan.planner.PlanBuilder;
import org.diskplan.planner.PlanFile;
import org.diskplan.planner.ResizeError;
import org.diskplan.planner.ResizePatch.Write;
import org.diskplan.planner.ResizePlan;
import org.diskplan.planner.ResizeRequest;
import org.diskplan.planner.TestImages;
import org.diskplan.probe.RegionKind;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A plan that removes files, as a split VMDK shrink makes it: the image, a descriptor it
 * edits (the commit) and cuts, an extent it cuts, and two extents wholly past the new end
 * that it removes. The removed files are renamed aside at the final step and deleted only
 * once every file has its final length. Interrupted after every step, and at every
 * operation of the final step, {@code recover} restores every file byte for byte (the
 * removed ones renamed back) or, once something was cut, finishes the resize.
 */
class RemovedFilePlanTest {
    private static final long LENGTH = 64 << 10;
    private static final int DESCRIPTOR = 1000;
    private static final long EXTENT = 96 << 10;

    @TempDir
    Path dir;
    Path image;
    Path descriptor;
    Path kept;
    Path gone1;
    Path gone2;

    private static final class SimulatedCrash extends Error {
        private static final long serialVersionUID = 1L;
    }

    @BeforeEach
    void files() throws Exception {
        image = TestImages.raw(dir, "disk.img", LENGTH);
        descriptor = dir.resolve("disk.vmdk");
        byte[] text = new byte[DESCRIPTOR];
        Arrays.fill(text, (byte) 'd');
        Files.write(descriptor, text);
        kept = random(dir.resolve("disk-f001.vmdk"), 1);
        gone1 = random(dir.resolve("disk-f002.vmdk"), 2);
        gone2 = random(dir.resolve("disk-f003.vmdk"), 3);
    }

    private static Path random(Path p, int seed) throws IOException {
        byte[] b = new byte[(int) EXTENT];
        new Random(seed).nextBytes(b);
        return Files.write(p, b);
    }

    private ResizePlan plan() throws ResizeError {
        ResizeRequest request = new ResizeRequest(LENGTH, true, Preallocation.OFF);
        PlanBuilder b = new PlanBuilder(ImageFormat.RAW, new FormatOptions.Raw(), request, image, LENGTH);
        int desc = b.file(descriptor, PlanFile.Role.DESCRIPTOR, DESCRIPTOR);
        int ext = b.file(kept, PlanFile.Role.EXTENT, EXTENT);
        int r1 = b.file(gone1, PlanFile.Role.EXTENT, EXTENT);
        int r2 = b.file(gone2, PlanFile.Role.EXTENT, EXTENT);
        b.commit(new Write(desc, 10, "RW 64 FLAT \"disk-f001.vmdk\"".getBytes(StandardCharsets.US_ASCII), false,
                "descriptor: extent lines", RegionKind.METADATA));
        b.phase(List.of(new Write(0, new byte[] {9, 9, 9}, "image header", RegionKind.HEADER)));
        b.finalLength(desc, 600);
        b.finalLength(ext, 32 << 10);
        b.removeFile(r1);
        b.removeFile(r2);
        return b.build(ResizeAction.SHRINK, 3 * EXTENT, 32 << 10);
    }

    private List<byte[]> contents() throws IOException {
        List<byte[]> out = new ArrayList<>();
        for (Path p : List.of(image, descriptor, kept, gone1, gone2)) {
            out.add(Files.readAllBytes(p));
        }
        return out;
    }

    private void assertOriginal(List<byte[]> before, String when) throws IOException {
        List<Path> paths = List.of(image, descriptor, kept, gone1, gone2);
        for (int i = 0; i < paths.size(); i++) {
            assertThat(Files.readAllBytes(paths.get(i))).as(paths.get(i).getFileName() + " " + when)
                    .isEqualTo(before.get(i));
        }
        assertNoLeftovers(when);
    }

    private void assertFinished(String when) throws IOException {
        assertThat(Files.size(descriptor)).as(when).isEqualTo(600);
        assertThat(Files.size(kept)).as(when).isEqualTo(32 << 10);
        assertThat(gone1).as(when).doesNotExist();
        assertThat(gone2).as(when).doesNotExist();
        assertNoLeftovers(when);
    }

    private void assertNoLeftovers(String when) throws IOException {
        assertThat(UndoJournal.pathFor(image)).as(when).doesNotExist();
        try (var s = Files.list(dir)) {
            assertThat(s.map(p -> p.getFileName().toString())).as("files " + when)
                    .noneMatch(n -> n.endsWith(PlanFile.REMOVED_SUFFIX));
        }
    }

    @Test
    void thePlanNamesTheFilesItRemoves() throws Exception {
        ResizePlan plan = plan();
        assertThat(plan.files()).extracting(PlanFile::removed).containsExactly(false, false, false, true, true);
        assertThat(plan.files().get(3).newLength()).isEqualTo(EXTENT);
        assertThat(plan.removesFiles()).isTrue();
    }

    @Test
    void removesTheFilesOnceTheResizeIsComplete() throws Exception {
        List<Path> seen = new ArrayList<>();
        PlanApplier.apply(image, plan(), ApplyOptions.DEFAULT.withAfterStep(step -> {
            if (step == plan0().finalStep()) {
                // after the final lengths, before the end: renamed aside, not yet deleted
                seen.add(PlanFile.removedName(gone1));
                assertThat(gone1).doesNotExist();
                assertThat(PlanFile.removedName(gone1)).exists();
                assertThat(PlanFile.removedName(gone2)).exists();
            } else {
                assertThat(gone1).exists();
                assertThat(gone2).exists();
            }
        }));
        assertThat(seen).hasSize(1);
        assertFinished("after the resize");
        assertThat(Files.readAllBytes(image)[0]).isEqualTo((byte) 9);
    }

    private ResizePlan plan0() {
        try {
            return plan();
        } catch (ResizeError e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void everyInterruptionRecoversEveryFileByteForByte() throws Exception {
        List<byte[]> before = contents();
        ResizePlan plan = plan();
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

            if (k < plan.finalStep()) {
                assertThat(r.outcome()).as("after step " + k).isEqualTo(Recovery.Outcome.ROLLED_BACK);
                assertOriginal(before, "after a crash after step " + k);
            } else {
                assertThat(r.outcome()).isEqualTo(Recovery.Outcome.ROLLED_FORWARD);
                assertFinished("after a crash after the final step");
                return;
            }
        }
    }

    /**
     * A kill at every operation of the final step: between the two renames, before each
     * length change. Renamed files alone are put back; once a file was cut the resize is
     * finished and the renamed ones deleted.
     */
    @Test
    void aKillInsideTheFinalStepRecovers() throws Exception {
        List<byte[]> before = contents();
        ResizePlan plan = plan();
        for (int n = 0; ; n++) {
            int killAt = n;
            int[] seen = {0};
            boolean[] finalStep = {false};
            ApplyOptions options = ApplyOptions.DEFAULT.withListener(new ApplyListener() {
                @Override
                public void step(int index, int total, String label) {
                    finalStep[0] = index == plan.finalStep();
                }
            }).withFaults((op, file) -> {
                if (finalStep[0] && op == IoFaults.Op.TRUNCATE && seen[0]++ == killAt) {
                    throw new SimulatedCrash();
                }
            });
            boolean killed;
            try {
                PlanApplier.apply(image, plan, options);
                killed = false;
            } catch (SimulatedCrash expected) {
                killed = true;
            }
            if (!killed) {
                assertThat(n).as("the final step renames two files and cuts two").isEqualTo(4);
                assertFinished("after an uninterrupted resize");
                return;
            }
            boolean cut = Files.size(descriptor) != DESCRIPTOR || Files.size(kept) != EXTENT;
            Recovery.Result r = Recovery.recover(image);
            if (cut) {
                assertThat(r.outcome()).as("kill " + n).isEqualTo(Recovery.Outcome.ROLLED_FORWARD);
                assertFinished("after kill " + n);
            } else {
                assertThat(r.outcome()).as("kill " + n).isEqualTo(Recovery.Outcome.ROLLED_BACK);
                assertOriginal(before, "after kill " + n);
            }
            // start again from the original files
            if (cut) {
                restore(before);
            }
        }
    }

    private void restore(List<byte[]> before) throws IOException {
        List<Path> paths = List.of(image, descriptor, kept, gone1, gone2);
        for (int i = 0; i < paths.size(); i++) {
            Files.write(paths.get(i), before.get(i));
        }
    }

    @Test
    void aFailureWhileRenamingRollsBack() throws Exception {
        List<byte[]> before = contents();
        ResizePlan plan = plan();
        int[] truncates = {0};
        boolean[] finalStep = {false};
        ApplyOptions options = ApplyOptions.DEFAULT.withListener(new ApplyListener() {
            @Override
            public void step(int index, int total, String label) {
                finalStep[0] = index == plan.finalStep();
            }
        }).withFaults((op, file) -> {
            if (finalStep[0] && op == IoFaults.Op.TRUNCATE && truncates[0]++ == 1) {
                throw new IOException("Input/output error");
            }
        });
        assertThatThrownBy(() -> PlanApplier.apply(image, plan, options)).isInstanceOf(ResizeError.class)
                .hasMessageContaining("Input/output error");
        assertOriginal(before, "after a failed rename");
    }

    @Test
    void aRecoveryAfterTheRemovedFilesWereDeletedFinishes() throws Exception {
        ResizePlan plan = plan();
        assertThatThrownBy(() -> PlanApplier.apply(image, plan, ApplyOptions.DEFAULT.withAfterStep(step -> {
            if (step == plan.finalStep()) {
                throw new SimulatedCrash();
            }
        }))).isInstanceOf(SimulatedCrash.class);
        // as if killed between deleting the renamed files and removing the journal
        Files.delete(PlanFile.removedName(gone1));
        Files.delete(PlanFile.removedName(gone2));
        assertThat(Recovery.recover(image).outcome()).isEqualTo(Recovery.Outcome.ROLLED_FORWARD);
        assertFinished("after recover");
    }

    @Test
    void aFileInTheWayOfTheRenameIsRefusedBeforeAnythingIsWritten() throws Exception {
        List<byte[]> before = contents();
        Path inTheWay = PlanFile.removedName(gone2);
        Files.write(inTheWay, new byte[] {7});
        assertThatThrownBy(() -> PlanApplier.apply(image, plan(), ApplyOptions.DEFAULT))
                .hasMessageContaining(inTheWay.getFileName().toString()).hasMessageContaining("exists already");
        Files.delete(inTheWay);
        assertOriginal(before, "after the refusal");
    }

    @Test
    void aSymbolicLinkIsNotRemoved() throws Exception {
        Path target = random(dir.resolve("elsewhere.bin"), 4);
        Files.delete(gone2);
        Files.createSymbolicLink(gone2, target.getFileName());
        ResizePlan plan = plan();
        assertThatThrownBy(() -> PlanApplier.apply(image, plan, ApplyOptions.DEFAULT))
                .hasMessageContaining("symbolic link");
        assertThat(Files.isSymbolicLink(gone2)).isTrue();
        assertThat(UndoJournal.pathFor(image)).doesNotExist();
    }

    @Test
    void theBuilderRefusesAPatchOnARemovedFile() {
        ResizeRequest request = new ResizeRequest(LENGTH, true, Preallocation.OFF);
        PlanBuilder b = new PlanBuilder(ImageFormat.RAW, new FormatOptions.Raw(), request, image, LENGTH);
        int r = b.file(gone1, PlanFile.Role.EXTENT, EXTENT);
        b.commit(new Write(r, 0, new byte[] {1}, false, "write it", RegionKind.DATA));
        b.removeFile(r);
        assertThatThrownBy(() -> b.build(ResizeAction.SHRINK, 2, 1)).isInstanceOf(ResizeError.class)
                .hasMessageContaining("which the plan removes");
    }

    @Test
    void aVersion4JournalRecordsTheRemovedFilesAndVersion3CannotSayIt() throws Exception {
        before = contents();
        ResizePlan plan = plan();
        assertThatThrownBy(() -> PlanApplier.apply(image, plan, ApplyOptions.DEFAULT.withAfterStep(step -> {
            if (step == 0) {
                throw new SimulatedCrash();
            }
        }))).isInstanceOf(SimulatedCrash.class);
        Path journal = UndoJournal.pathFor(image);
        byte[] j = Files.readAllBytes(journal);
        assertThat(new String(j, 0, 8, StandardCharsets.US_ASCII)).isEqualTo("DPJRNL04");
        UndoJournal.Contents c = UndoJournal.read(journal);
        assertThat(c.version()).isEqualTo(4);
        assertThat(c.targets()).extracting(UndoJournal.Target::removed).containsExactly(false, false, false, true,
                true);
        // the same journal as version 3, which has no "removed" flag, is refused as damaged, not misread
        byte[] v3 = j.clone();
        System.arraycopy("DPJRNL03".getBytes(StandardCharsets.US_ASCII), 0, v3, 0, 8);
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(v3, 0, v3.length - 4);
        java.nio.ByteBuffer.wrap(v3).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(v3.length - 4, (int) crc.getValue());
        Files.write(journal, v3);
        assertThatThrownBy(() -> UndoJournal.read(journal)).hasMessageContaining("damaged")
                .hasMessageContaining("target 3");
        Files.write(journal, j);
        Recovery.recover(image);
        assertOriginal(before(), "after recover");
    }

    private List<byte[]> before;

    private List<byte[]> before() {
        return before;
    }

    /** recover never writes, renames or removes an extent outside the image's folder, whatever the journal says. */
    @Test
    void recoverRefusesAnExtentOutsideTheFolder() throws Exception {
        Path outside = Files.createDirectories(dir.getParent().resolve(dir.getFileName() + "-outside"));
        try {
            Path far = random(outside.resolve("far-f002.vmdk"), 5);
            Path link = dir.resolve("link-f002.vmdk");
            Files.createSymbolicLink(link, far);
            for (Path extent : List.of(far, link)) {
                byte[] farBefore = Files.readAllBytes(far);
                byte[] desc = Files.readAllBytes(descriptor);
                ResizeRequest request = new ResizeRequest(LENGTH, true, Preallocation.OFF);
                PlanBuilder b = new PlanBuilder(ImageFormat.RAW, new FormatOptions.Raw(), request, image, LENGTH);
                int d = b.file(descriptor, PlanFile.Role.DESCRIPTOR, DESCRIPTOR);
                int e = b.file(extent, PlanFile.Role.EXTENT, EXTENT);
                b.phase(List.of(new Write(e, 0, new byte[] {1, 2, 3}, false, "extent", RegionKind.DATA)));
                b.commit(new Write(d, 0, new byte[] {4}, false, "descriptor", RegionKind.METADATA));
                ResizePlan plan = b.build(ResizeAction.SHRINK, 2, 1);
                assertThatThrownBy(() -> PlanApplier.apply(image, plan, ApplyOptions.DEFAULT.withAfterStep(step -> {
                    if (step == 1) {
                        throw new SimulatedCrash();
                    }
                }))).isInstanceOf(SimulatedCrash.class);
                byte[] farWritten = Files.readAllBytes(far);
                assertThatThrownBy(() -> Recovery.recover(image)).as(extent.toString()).isInstanceOf(ResizeError.class)
                        .hasMessageContaining("outside the folder");
                assertThat(Files.readAllBytes(far)).as("nothing written outside").isEqualTo(farWritten);
                assertThat(UndoJournal.pathFor(image)).as("the journal kept").exists();
                // put things back by hand for the next round
                Files.delete(UndoJournal.pathFor(image));
                Files.write(far, farBefore);
                Files.write(descriptor, desc);
            }
        } finally {
            try (var s = Files.list(outside)) {
                for (Path p : s.toList()) {
                    Files.delete(p);
                }
            }
            Files.delete(outside);
        }
    }
}
