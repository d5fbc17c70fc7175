package org.diskplan.planner.apply;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;
import org.diskplan.abi.ErrorCode;
import org.diskplan.abi.ResizeAction;
import org.diskplan.planner.ResizeError;
import org.diskplan.planner.ResizePatch;
import org.diskplan.planner.ResizePatch.Write;
import org.diskplan.planner.ResizePlan;
import org.diskplan.planner.ResizeSession;
import org.diskplan.planner.TestImages;
import org.diskplan.probe.FileKind;
import org.diskplan.probe.ImageProber;
import org.diskplan.probe.ProbeException;
import org.diskplan.probe.RegionKind;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The environment around an image (issue 18): symbolic and hard links, journals that
 * are not the image's, FIFOs and devices. Every case here failed before the journal
 * carried its image's identity and the file kind was checked before opening.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS) // a hang guard: a FIFO opened for reading blocks forever
class HostileFilesTest {
    static final long LENGTH = 256 << 10;

    @TempDir
    Path dir;

    private static final class SimulatedCrash extends Error {
        private static final long serialVersionUID = 1L;
    }

    /** Overwrites the first 4 KiB and grows the file by 64 KiB; commit after step 1. */
    static ResizePlan growPlan() {
        List<ResizePatch> patches = new ArrayList<>();
        patches.add(Write.append(LENGTH, filled(8192, 0x11), "new table", RegionKind.TABLE));
        patches.add(new Write(0, filled(4096, 0x22), "header", RegionKind.HEADER));
        return PlanApplierTest.plan(ResizeAction.GROW, LENGTH, LENGTH + (64 << 10), patches, 1, List.of(0),
                List.of());
    }

    private static byte[] filled(int n, int v) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) v);
        return b;
    }

    /** Applies the grow plan through {@code name} and halts after step {@code k}, journal left behind. */
    static void crashAfter(Path name, int k) {
        assertThatThrownBy(() -> PlanApplier.apply(name, growPlan(), ApplyOptions.DEFAULT.withAfterStep(s -> {
            if (s == k) {
                throw new SimulatedCrash();
            }
        }))).isInstanceOf(SimulatedCrash.class);
    }

    private static void mkfifo(Path p) throws Exception {
        Process proc = new ProcessBuilder("mkfifo", p.toString()).inheritIO().start();
        assertThat(proc.waitFor()).isZero();
        assertThat(FileKind.of(p)).isEqualTo(FileKind.FIFO);
    }

    @Test
    void throughASymlinkTheJournalLiesBesideTheRealFileAndEveryNameSeesIt() throws Exception {
        Path real = TestImages.raw(dir, "real.img", LENGTH);
        byte[] original = Files.readAllBytes(real);
        Files.createDirectory(dir.resolve("links"));
        Path link = Files.createSymbolicLink(dir.resolve("links/link.img"), real);

        crashAfter(link, 1);

        assertThat(dir.resolve("real.img" + UndoJournal.SUFFIX)).exists();
        assertThat(dir.resolve("links/link.img" + UndoJournal.SUFFIX)).doesNotExist();
        for (Path name : List.of(real, link, Path.of("").toAbsolutePath().relativize(real))) {
            assertThatThrownBy(() -> UndoJournal.refuseIfPresent(name)).isInstanceOf(ResizeError.class)
                    .satisfies(e -> assertThat(((ResizeError) e).code()).isEqualTo(ErrorCode.INTERRUPTED_RESIZE));
            assertThatThrownBy(() -> PlanApplier.apply(name, growPlan(), ApplyOptions.DEFAULT))
                    .hasMessageContaining("diskplan recover");
            assertThat(Recovery.hasJournal(name)).isTrue();
        }
        assertThatThrownBy(() -> ResizeSession.forPlanning(real)).hasMessageContaining("interrupted resize");

        assertThat(Recovery.recover(real).outcome()).isEqualTo(Recovery.Outcome.ROLLED_BACK);
        assertThat(Files.readAllBytes(real)).isEqualTo(original);
        assertThat(Files.isSymbolicLink(link)).isTrue();
    }

    @Test
    void aHardLinkFindsTheJournalOfItsOtherName() throws Exception {
        Path a = TestImages.raw(dir, "a.img", LENGTH);
        byte[] original = Files.readAllBytes(a);
        Path b = Files.createLink(dir.resolve("b.img"), a);

        crashAfter(b, 0);

        assertThat(UndoJournal.pathFor(b)).exists();
        assertThat(UndoJournal.pathFor(a)).doesNotExist();
        assertThatThrownBy(() -> PlanApplier.apply(a, growPlan(), ApplyOptions.DEFAULT))
                .hasMessageContaining("b.img" + UndoJournal.SUFFIX);
        assertThat(Recovery.recover(a).outcome()).isEqualTo(Recovery.Outcome.ROLLED_BACK);
        assertThat(Files.readAllBytes(b)).isEqualTo(original);
        assertThat(UndoJournal.pathFor(b)).doesNotExist();
    }

    @Test
    void aJournalCopiedBesideAnotherImageIsRefusedAndBothAreLeftAlone() throws Exception {
        Path a = TestImages.raw(dir, "a.img", LENGTH);
        Path other = TestImages.raw(dir, "other.img", LENGTH);
        crashAfter(a, 1);
        Files.copy(UndoJournal.pathFor(a), UndoJournal.pathFor(other));
        byte[] otherBefore = Files.readAllBytes(other);

        assertThatThrownBy(() -> Recovery.recover(other)).isInstanceOf(ResizeError.class)
                .hasMessageContaining("belongs to '" + a.toRealPath())
                .satisfies(e -> assertThat(((ResizeError) e).code()).isEqualTo(ErrorCode.HEADER_MISMATCH));
        assertThat(Files.readAllBytes(other)).isEqualTo(otherBefore);
        assertThat(UndoJournal.pathFor(other)).exists();
    }

    @Test
    void aJournalAlteredWithRecomputedChecksumsIsRefused() throws Exception {
        Path a = TestImages.raw(dir, "a.img", LENGTH);
        crashAfter(a, 1);
        byte[] crashed = Files.readAllBytes(a);
        Path journal = UndoJournal.pathFor(a);
        byte[] good = Files.readAllBytes(journal);

        // The original length set to 1 byte, both CRCs recomputed: the saved ranges lie past it.
        byte[] shortened = good.clone();
        ByteBuffer b = ByteBuffer.wrap(shortened).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(UndoJournal.OFFSET_ORIGINAL_LENGTH, 1);
        int target0 = UndoJournal.HEADER_LENGTH_V3 + (b.getShort(UndoJournal.OFFSET_REAL_PATH_LENGTH) & 0xffff);
        b.putLong(target0 + 4, 1);
        reseal(shortened, false);
        Files.write(journal, shortened);
        assertThatThrownBy(() -> Recovery.recover(a)).hasMessageContaining("is damaged")
                .hasMessageContaining("which was 1 bytes long");
        assertThat(Files.readAllBytes(a)).isEqualTo(crashed);

        // A saved byte changed and only the file CRC recomputed: the saved-bytes CRC says so.
        byte[] altered = good.clone();
        altered[altered.length - 100] ^= 0x5a;
        reseal(altered, false);
        Files.write(journal, altered);
        assertThatThrownBy(() -> Recovery.recover(a)).hasMessageContaining("saved bytes");
        assertThat(Files.readAllBytes(a)).isEqualTo(crashed);

        Files.write(journal, good);
        assertThat(Recovery.recover(a).outcome()).isEqualTo(Recovery.Outcome.ROLLED_BACK);
    }

    /** Recomputes the journal's trailing CRC-32C (and, if asked, nothing else). */
    private static void reseal(byte[] j, boolean unused) {
        CRC32C crc = new CRC32C();
        crc.update(j, 0, j.length - 4);
        ByteBuffer.wrap(j).order(ByteOrder.LITTLE_ENDIAN).putInt(j.length - 4, (int) crc.getValue());
    }

    @Test
    void aFifoAsImageIsRefusedWithoutBlocking() throws Exception {
        Path fifo = dir.resolve("pipe.img");
        mkfifo(fifo);
        assertThatThrownBy(() -> LockedImage.open(fifo, false)).isInstanceOf(ResizeError.class)
                .hasMessageContaining("FIFO");
        assertThatThrownBy(() -> ImageProber.probe(fifo, Optional.empty())).isInstanceOf(ProbeException.class)
                .hasMessageContaining("FIFO");
        assertThatThrownBy(() -> ResizeSession.forPlanning(fifo)).hasMessageContaining("FIFO");
        assertThatThrownBy(() -> PlanApplier.apply(fifo, growPlan(), ApplyOptions.DEFAULT))
                .hasMessageContaining("FIFO");
        assertThat(UndoJournal.pathFor(fifo)).doesNotExist();
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("pipe.img");
        }
    }

    @Test
    void aCharacterDeviceIsNeverWrittenAndNoJournalIsLeftBesideIt() throws Exception {
        Path zero = Path.of("/dev/zero");
        assertThat(FileKind.of(zero)).isEqualTo(FileKind.CHARACTER_DEVICE);
        assertThatThrownBy(() -> PlanApplier.apply(zero, growPlan(), ApplyOptions.DEFAULT))
                .isInstanceOf(ResizeError.class).hasMessageContaining("a character device");
        assertThatThrownBy(() -> ImageProber.probe(zero, Optional.empty())).hasMessageContaining("character device");
        assertThat(Path.of("/dev/zero" + UndoJournal.SUFFIX)).doesNotExist();
        Path link = Files.createSymbolicLink(dir.resolve("zero.img"), zero);
        assertThatThrownBy(() -> LockedImage.open(link, false)).hasMessageContaining("a character device");
    }

    @Test
    void aDirectoryKeepsQemusWords() throws Exception {
        assertThatThrownBy(() -> LockedImage.open(dir, false)).hasMessageContaining("Is a directory");
        assertThatThrownBy(() -> ImageProber.probe(dir, Optional.empty())).hasMessageContaining("Is a directory");
    }

    @Test
    void aFifoJournalIsRefusedWithoutBlocking() throws Exception {
        Path a = TestImages.raw(dir, "a.img", LENGTH);
        byte[] original = Files.readAllBytes(a);
        mkfifo(UndoJournal.pathFor(a));
        assertThatThrownBy(() -> PlanApplier.apply(a, growPlan(), ApplyOptions.DEFAULT))
                .hasMessageContaining("diskplan recover");
        assertThatThrownBy(() -> Recovery.recover(a)).isInstanceOf(ResizeError.class)
                .hasMessageContaining("is a FIFO");
        assertThat(Files.readAllBytes(a)).isEqualTo(original);
    }

    @Test
    void anAbsurdlyLongJournalIsRefusedUnread() throws Exception {
        Path a = TestImages.raw(dir, "a.img", LENGTH);
        byte[] original = Files.readAllBytes(a);
        try (RandomAccessFile j = new RandomAccessFile(UndoJournal.pathFor(a).toFile(), "rw")) {
            j.write("DPJRNL03".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            j.setLength(UndoJournal.MAX_JOURNAL_BYTES + 1); // sparse
        }
        assertThatThrownBy(() -> Recovery.recover(a)).hasMessageContaining("more than any journal holds");
        assertThat(Files.readAllBytes(a)).isEqualTo(original);
    }

    @Test
    void aVersion2JournalBesideASymlinkIsStillRecovered() throws Exception {
        // DiskPlan before version 3 journals put the journal beside the name given.
        Path real = TestImages.raw(dir, "real.img", LENGTH);
        byte[] original = Files.readAllBytes(real);
        Path link = Files.createSymbolicLink(dir.resolve("link.img"), real);
        byte[] saved = Arrays.copyOfRange(original, 0, 4096);
        byte[] name = "link.img".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        int size = UndoJournal.HEADER_LENGTH + UndoJournal.TARGET_HEADER + name.length + UndoJournal.RANGE_HEADER
                + saved.length + 4;
        ByteBuffer j = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        j.put(0, "DPJRNL02".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        j.putInt(8, UndoJournal.HEADER_LENGTH).putInt(12, 1).putLong(16, LENGTH).putLong(24, LENGTH + 8192);
        j.put(32, org.diskplan.abi.ResizeConfig.of(org.diskplan.abi.ImageFormat.RAW, LENGTH, LENGTH + 8192, LENGTH)
                .encode());
        j.putInt(UndoJournal.OFFSET_TARGET_COUNT, 1);
        int t = UndoJournal.HEADER_LENGTH;
        j.put(t, (byte) 0).put(t + 1, (byte) 0).putShort(t + 2, (short) name.length).putLong(t + 4, LENGTH)
                .putLong(t + 12, LENGTH + 8192).put(t + 20, name);
        int r = t + UndoJournal.TARGET_HEADER + name.length;
        j.putInt(r, 0).putLong(r + 4, 0).putInt(r + 12, saved.length).put(r + 16, saved);
        reseal(j.array(), false);
        try (RandomAccessFile raf = new RandomAccessFile(real.toFile(), "rw")) {
            raf.write(filled(4096, 0x77));
            raf.setLength(LENGTH + 8192);
        }
        Files.write(dir.resolve("link.img" + UndoJournal.SUFFIX), j.array());

        assertThatThrownBy(() -> UndoJournal.refuseIfPresent(link)).isInstanceOf(ResizeError.class);
        assertThat(Recovery.recover(link).outcome()).isEqualTo(Recovery.Outcome.ROLLED_BACK);
        assertThat(Files.readAllBytes(real)).isEqualTo(original);
    }
}
