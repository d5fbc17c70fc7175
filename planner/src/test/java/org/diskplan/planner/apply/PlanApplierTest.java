package org.diskplan.planner.apply;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.RandomAccessFile;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import org.diskplan.abi.ErrorCode;
import org.diskplan.abi.ImageFormat;
import org.diskplan.abi.Preallocation;
import org.diskplan.abi.ResizeAction;
import org.diskplan.abi.ResizeResult;
import org.diskplan.planner.ExpectedBytes;
import org.diskplan.planner.FormatOptions;
import org.diskplan.planner.ResizeError;
import org.diskplan.planner.ResizePatch;
import org.diskplan.planner.ResizePatch.Write;
import org.diskplan.planner.ResizePatch.ZeroFill;
import org.diskplan.planner.PlanFile;
import org.diskplan.planner.ResizePlan;
import org.diskplan.planner.ResizePatch.Extend;
import org.diskplan.planner.ResizeRequest;
import org.diskplan.planner.TestImages;
import org.diskplan.probe.RegionKind;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class PlanApplierTest {
    private static final long LENGTH = 256 << 10;

    @TempDir
    Path dir;

    /** Thrown by the step hook: the applier stops dead, as if the process had been killed. */
    private static final class SimulatedCrash extends Error {
        private static final long serialVersionUID = 1L;
    }

    /** A plan that overwrites, appends, zero-fills inside the old file and writes into appended space. */
    private static ResizePlan mixedPlan(long newLength) {
        List<ResizePatch> patches = new ArrayList<>();
        patches.add(Write.append(LENGTH, bytes(4096, 0x11), "new table at the end", RegionKind.TABLE));
        patches.add(new Write(LENGTH + 100, bytes(10, 0x22), "fix-up inside the new table", RegionKind.TABLE));
        patches.add(new Write(0, bytes(512, 0x33), "header (commit)", RegionKind.HEADER));
        patches.add(new ZeroFill(8192, 8192, false, "release old table", RegionKind.FREE));
        patches.add(new Write(LENGTH - 10, bytes(20, 0x44), "straddles the old end", RegionKind.DATA));
        return plan(ResizeAction.GROW, LENGTH, newLength, patches, 2, List.of(0, 1), List.of());
    }

    /** A plan of the image "a.img"-like file named in the test (the applier takes the path it locks). */
    static ResizePlan plan(ResizeAction action, long oldLength, long newLength, List<ResizePatch> patches, int commit,
                           List<Integer> barriers, List<ExpectedBytes> expected) {
        return new ResizePlan(ImageFormat.RAW, new FormatOptions.Raw(), action, oldLength, newLength,
                new ResizeRequest(newLength, action == ResizeAction.SHRINK, Preallocation.OFF),
                List.of(new PlanFile(Path.of("image"), PlanFile.Role.IMAGE, oldLength, newLength, false)), patches,
                commit, new TreeSet<>(barriers), expected, List.of());
    }

    private static byte[] bytes(int n, int value) {
        byte[] b = new byte[n];
        java.util.Arrays.fill(b, (byte) value);
        return b;
    }

    @Test
    void appliesEveryPatchThenTheLengthAndRemovesTheJournal() throws Exception {
        Path image = TestImages.raw(dir, "a.img", LENGTH);
        ResizeResult r = PlanApplier.apply(image, mixedPlan(LENGTH + 8192), ApplyOptions.DEFAULT);
        byte[] after = Files.readAllBytes(image);
        assertThat(after).hasSize((int) LENGTH + 8192);
        assertThat(after[0]).isEqualTo((byte) 0x33);
        assertThat(after[8192]).isZero();
        assertThat(after[(int) LENGTH + 100]).isEqualTo((byte) 0x22);
        assertThat(after[(int) LENGTH + 9]).isEqualTo((byte) 0x44);
        assertThat(after[(int) LENGTH + 10]).isEqualTo((byte) 0x11);
        assertThat(r.error()).isEqualTo(ErrorCode.OK);
        assertThat(r.fileSizeAfter()).isEqualTo(LENGTH + 8192);
        assertThat(UndoJournal.pathFor(image)).doesNotExist();
    }

    private static ResizePlan extendPlan(long extendFrom) {
        List<ResizePatch> patches = new ArrayList<>();
        patches.add(new Extend(extendFrom, 1 << 20, "sparse data area", RegionKind.DATA));
        patches.add(new Write(LENGTH + (1 << 20), bytes(512, 0x55), "table after it", RegionKind.TABLE));
        return plan(ResizeAction.GROW, LENGTH, LENGTH + (1 << 20) + 512, patches, 1, List.of(), List.of());
    }

    @Test
    void extendLengthensTheFileWithoutWritingAndMustStartAtTheEnd() throws Exception {
        Path image = TestImages.raw(dir, "e.img", LENGTH);
        ResizePlan plan = extendPlan(LENGTH);
        assertThat(plan.bytesWritten()).isEqualTo(512);
        PlanApplier.apply(image, plan, ApplyOptions.DEFAULT);
        byte[] after = Files.readAllBytes(image);
        assertThat(after).hasSize((int) LENGTH + (1 << 20) + 512);
        assertThat(after[(int) LENGTH + 1000]).isZero();
        assertThat(after[(int) LENGTH + (1 << 20)]).isEqualTo((byte) 0x55);

        Path other = TestImages.raw(dir, "f.img", LENGTH);
        assertThatThrownBy(() -> PlanApplier.apply(other, extendPlan(LENGTH - 512), ApplyOptions.DEFAULT))
                .isInstanceOf(ResizeError.class).hasMessageContaining("starts at");
    }

    @ParameterizedTest(name = "crash after step {0}")
    @ValueSource(ints = {-1, 0, 1, 2, 3, 4, 5})
    void everyCrashPointRecoversToTheOriginalBytes(int crashAfter) throws Exception {
        Path image = TestImages.raw(dir, "a.img", LENGTH);
        byte[] original = Files.readAllBytes(image);
        assertThatThrownBy(() -> PlanApplier.apply(image, mixedPlan(LENGTH + 8192),
                ApplyOptions.DEFAULT.withAfterStep(k -> {
                    if (k == crashAfter) {
                        throw new SimulatedCrash();
                    }
                }))).isInstanceOf(SimulatedCrash.class);
        assertThat(UndoJournal.pathFor(image)).exists();
        assertThatThrownBy(() -> PlanApplier.apply(image, mixedPlan(LENGTH + 8192), ApplyOptions.DEFAULT))
                .isInstanceOf(ResizeError.class).hasMessageContaining("diskplan recover")
                .satisfies(e -> assertThat(((ResizeError) e).code()).isEqualTo(ErrorCode.INTERRUPTED_RESIZE));

        Recovery.Result result = Recovery.recover(image);

        assertThat(result.outcome()).isEqualTo(Recovery.Outcome.ROLLED_BACK);
        assertThat(Files.readAllBytes(image)).isEqualTo(original);
        assertThat(UndoJournal.pathFor(image)).doesNotExist();
    }

    @Test
    void shrinkCutShortIsKeptBecauseTheCutBytesAreGone() throws Exception {
        Path image = TestImages.raw(dir, "a.img", LENGTH);
        ResizePlan shrink = plan(ResizeAction.SHRINK, LENGTH, 4096, List.of(), 0, List.of(), List.of());
        assertThatThrownBy(() -> PlanApplier.apply(image, shrink, ApplyOptions.DEFAULT.withAfterStep(k -> {
            if (k == 0) {
                throw new SimulatedCrash();
            }
        }))).isInstanceOf(SimulatedCrash.class);
        assertThat(Recovery.recover(image).outcome()).isEqualTo(Recovery.Outcome.ROLLED_FORWARD);
        assertThat(Files.size(image)).isEqualTo(4096);
    }

    @Test
    void refusesAPlanForAFileThatChanged() throws Exception {
        Path image = TestImages.raw(dir, "a.img", LENGTH);
        ResizePlan plan = mixedPlan(LENGTH);
        try (RandomAccessFile raf = new RandomAccessFile(image.toFile(), "rw")) {
            raf.setLength(LENGTH + 1);
        }
        byte[] before = Files.readAllBytes(image);
        assertThatThrownBy(() -> PlanApplier.apply(image, plan, ApplyOptions.DEFAULT))
                .isInstanceOf(ResizeError.class).hasMessageContaining("changed since it was planned")
                .satisfies(e -> assertThat(((ResizeError) e).code()).isEqualTo(ErrorCode.HEADER_MISMATCH));
        assertThat(Files.readAllBytes(image)).isEqualTo(before);
    }

    @Test
    void refusesWhenBytesThePlanWasBuiltFromDiffer() throws Exception {
        Path image = TestImages.raw(dir, "a.img", LENGTH);
        ResizePlan base = mixedPlan(LENGTH);
        ResizePlan plan = base.withExpected(List.of(ExpectedBytes.of(0, 0, bytes(4, 0x7f), 4, "magic")));
        byte[] before = Files.readAllBytes(image);
        assertThatThrownBy(() -> PlanApplier.apply(image, plan, ApplyOptions.DEFAULT))
                .hasMessageContaining("magic at offset 0 differs");
        assertThat(Files.readAllBytes(image)).isEqualTo(before);
    }

    @Test
    void refusesAnAppendThatDoesNotStartAtTheEnd() throws Exception {
        Path image = TestImages.raw(dir, "a.img", LENGTH);
        ResizePlan bad = plan(ResizeAction.GROW, LENGTH, LENGTH + 8192,
                List.of(Write.append(LENGTH + 512, bytes(512, 1), "gap", RegionKind.DATA)), 0, List.of(), List.of());
        byte[] before = Files.readAllBytes(image);
        assertThatThrownBy(() -> PlanApplier.apply(image, bad, ApplyOptions.DEFAULT))
                .hasMessageContaining("plan step 0");
        assertThat(Files.readAllBytes(image)).isEqualTo(before);
        assertThat(UndoJournal.pathFor(image)).doesNotExist();
    }

    @Test
    void cancelBeforeTheCommitRollsBack() throws Exception {
        Path image = TestImages.raw(dir, "a.img", LENGTH);
        byte[] before = Files.readAllBytes(image);
        int[] steps = {0};
        ApplyOptions cancelAtStep2 = ApplyOptions.DEFAULT.withListener(new ApplyListener() {
            @Override
            public void step(int index, int total, String label) {
                steps[0] = index;
            }
        }).withCancel(() -> steps[0] >= 1);
        assertThatThrownBy(() -> PlanApplier.apply(image, mixedPlan(LENGTH + 8192), cancelAtStep2))
                .isInstanceOf(ResizeCancelled.class);
        assertThat(Files.readAllBytes(image)).isEqualTo(before);
        assertThat(UndoJournal.pathFor(image)).doesNotExist();
    }

    @Test
    void aDamagedJournalIsRefusedAndTheImageLeftAlone() throws Exception {
        Path image = TestImages.raw(dir, "a.img", LENGTH);
        assertThatThrownBy(() -> PlanApplier.apply(image, mixedPlan(LENGTH + 8192),
                ApplyOptions.DEFAULT.withAfterStep(k -> {
                    if (k == 2) {
                        throw new SimulatedCrash();
                    }
                }))).isInstanceOf(SimulatedCrash.class);
        Path journal = UndoJournal.pathFor(image);
        byte[] j = Files.readAllBytes(journal);
        j[UndoJournal.HEADER_LENGTH + 20] ^= 1;
        Files.write(journal, j);
        byte[] crashed = Files.readAllBytes(image);
        assertThatThrownBy(() -> Recovery.recover(image)).hasMessageContaining("is damaged")
                .satisfies(e -> assertThat(((ResizeError) e).code()).isEqualTo(ErrorCode.PARSE_FAILED));
        assertThat(Files.readAllBytes(image)).isEqualTo(crashed);
        assertThat(journal).exists();
    }

    @Test
    void aVersion1JournalFromBeforeTheUpgradeIsStillRecovered() throws Exception {
        Path image = TestImages.raw(dir, "a.img", LENGTH);
        byte[] original = Files.readAllBytes(image);
        // A resize by the previous DiskPlan, interrupted: 512 bytes at 4096 overwritten, the file grown.
        byte[] saved = java.util.Arrays.copyOfRange(original, 4096, 4096 + 512);
        java.nio.ByteBuffer j = java.nio.ByteBuffer.allocate(UndoJournal.HEADER_LENGTH + 12 + 512 + 4)
                .order(java.nio.ByteOrder.LITTLE_ENDIAN);
        j.put(0, "DPJRNL01".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        j.putInt(8, UndoJournal.HEADER_LENGTH).putInt(12, 1).putLong(16, LENGTH).putLong(24, LENGTH + 8192);
        j.put(32, org.diskplan.abi.ResizeConfig.of(ImageFormat.RAW, LENGTH, LENGTH + 8192, LENGTH).encode());
        j.putLong(UndoJournal.HEADER_LENGTH, 4096).putInt(UndoJournal.HEADER_LENGTH + 8, 512);
        j.put(UndoJournal.HEADER_LENGTH + 12, saved);
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(j.array(), 0, j.capacity() - 4);
        j.putInt(j.capacity() - 4, (int) crc.getValue());
        try (RandomAccessFile raf = new RandomAccessFile(image.toFile(), "rw")) {
            raf.seek(4096);
            raf.write(bytes(512, 0x66));
            raf.setLength(LENGTH + 8192);
        }
        Files.write(UndoJournal.pathFor(image), j.array());

        assertThat(Recovery.recover(image).outcome()).isEqualTo(Recovery.Outcome.ROLLED_BACK);
        assertThat(Files.readAllBytes(image)).isEqualTo(original);
        assertThat(UndoJournal.pathFor(image)).doesNotExist();
    }

    @Test
    void recoverWithoutAJournalSaysSo() throws Exception {
        Path image = TestImages.raw(dir, "a.img", LENGTH);
        assertThatThrownBy(() -> Recovery.recover(image)).hasMessageContaining("nothing to recover");
    }

    @Test
    void journalRangesAreMergedAndLimitedToTheOldFile() throws Exception {
        List<UndoJournal.Range> ranges = PlanApplier.journalRanges(mixedPlan(LENGTH + 8192));
        assertThat(ranges).containsExactly(new UndoJournal.Range(0, 0, 512), new UndoJournal.Range(0, 8192, 8192),
                new UndoJournal.Range(0, LENGTH - 10, 10));
    }

    @Test
    void reserveAllocatesBlocks() throws Exception {
        Path image = TestImages.raw(dir, "a.img", 0);
        try (RandomAccessFile raf = new RandomAccessFile(image.toFile(), "rw")) {
            assertThat(Fallocate.reserve(raf, image, 0, 1 << 20)).as("posix_fallocate through JNA").isTrue();
        }
        assertThat(Files.size(image)).isEqualTo(1 << 20);
        assertThat(FileFacts.allocatedBytes(image)).hasValue(1 << 20);
    }

    /** The packaged command line starts without --add-opens: the descriptor is found in /proc/self/fd. */
    @Test
    void withoutReflectionTheHeldDescriptorIsFoundByInode() throws Exception {
        Path image = TestImages.raw(dir, "a.img", 0);
        Path other = TestImages.raw(dir, "b.img", 0);
        try (RandomAccessFile ro = new RandomAccessFile(image.toFile(), "r");
             RandomAccessFile elsewhere = new RandomAccessFile(other.toFile(), "rw")) {
            assertThat(Fallocate.heldDescriptor(image)).as("open read-only only").isEmpty();
            try (RandomAccessFile rw = new RandomAccessFile(image.toFile(), "rw")) {
                java.util.OptionalInt fd = Fallocate.heldDescriptor(image);
                assertThat(fd).isPresent();
                assertThat(Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd.getAsInt())))
                        .isEqualTo(image.toRealPath());
                assertThat(Fallocate.reserve(fd, 0, 1 << 20)).isTrue();
            }
        }
        assertThat(Files.size(image)).isEqualTo(1 << 20);
        assertThat(FileFacts.allocatedBytes(image)).hasValue(1 << 20);
        assertThat(Files.size(other)).isZero();
    }

    @Test
    void aLockHeldElsewhereIsRefusedWithQemusWords() throws Exception {
        Path image = TestImages.raw(dir, "a.img", LENGTH);
        // A lock held through another channel in this JVM stands in for another process
        // (the e2e suite does it with qemu-nbd).
        try (FileChannel ch = FileChannel.open(image, StandardOpenOption.WRITE);
             FileLock ignored = ch.lock()) {
            assertThatThrownBy(() -> LockedImage.open(image, false)).isInstanceOf(ResizeError.class)
                    .hasMessage("Could not open '" + image + "': Failed to get \"resize\" lock\n"
                            + "Is another process using the image [" + image + "]?");
        }
    }
}
