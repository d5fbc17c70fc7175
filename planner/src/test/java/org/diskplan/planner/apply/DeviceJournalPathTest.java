package org.diskplan.planner.apply;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.stream.Stream;
import org.diskplan.probe.FileKind;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.parallel.ResourceLock;

/**
 * A block device's journal lies on persistent storage, never in /dev (a tmpfs that a
 * power cut empties, and where a journal has no business); a regular file's beside it.
 */
@ResourceLock("diskplan.journal.dir")
class DeviceJournalPathTest {

    @TempDir
    Path dir;

    @AfterEach
    void clear() {
        System.clearProperty(UndoJournal.DEVICE_JOURNAL_DIR_PROPERTY);
    }

    @Test
    void aBlockDevicesJournalLiesInTheJournalFolderNamedAfterItsRealPath() throws IOException {
        Path device = someBlockDevice();
        Path journals = dir.resolve("journals");
        System.setProperty(UndoJournal.DEVICE_JOURNAL_DIR_PROPERTY, journals.toString());
        Path real = device.toRealPath();
        Path expected = journals.resolve(real.toString().substring(1).replace('/', '!') + UndoJournal.SUFFIX);

        assertThat(UndoJournal.pathFor(device)).isEqualTo(expected);
        assertThat(UndoJournal.tempPathFor(device)).isEqualTo(journals.resolve(expected.getFileName() + ".tmp"));
        assertThat(UndoJournal.pathFor(device).toString()).doesNotStartWith("/dev/");

        // every name of the device finds the same journal
        Path link = dir.resolve("disk-link");
        Files.createSymbolicLink(link, device);
        assertThat(UndoJournal.pathFor(link)).isEqualTo(expected);
    }

    @Test
    void aJournalInTheFolderIsFoundForTheDevice() throws IOException {
        Path device = someBlockDevice();
        Path journals = dir.resolve("journals");
        System.setProperty(UndoJournal.DEVICE_JOURNAL_DIR_PROPERTY, journals.toString());
        assertThat(UndoJournal.find(device)).isEmpty();
        Files.createDirectories(journals);
        Files.write(UndoJournal.pathFor(device), new byte[] {1});
        assertThat(UndoJournal.find(device)).contains(UndoJournal.pathFor(device));
    }

    @Test
    void theDefaultFolderIsPersistentNotDev() {
        Path folder = UndoJournal.deviceJournalDirectory();
        assertThat(folder.isAbsolute()).isTrue();
        assertThat(folder.toString()).doesNotStartWith("/dev").doesNotStartWith("/tmp").doesNotStartWith("/run");
        assertThat(folder.endsWith(Path.of("diskplan", "journals")) || System.getenv(UndoJournal.DEVICE_JOURNAL_DIR_ENV) != null)
                .as("%s", folder).isTrue();
    }

    @Test
    void aRegularFilesJournalStaysBesideIt() throws IOException {
        System.setProperty(UndoJournal.DEVICE_JOURNAL_DIR_PROPERTY, dir.resolve("journals").toString());
        Path image = Files.write(dir.resolve("disk.img"), new byte[512]);
        assertThat(UndoJournal.pathFor(image)).isEqualTo(dir.toRealPath().resolve("disk.img" + UndoJournal.SUFFIX));
    }

    private static Path someBlockDevice() throws IOException {
        Optional<Path> found;
        try (Stream<Path> dev = Files.list(Path.of("/dev"))) {
            found = dev.filter(p -> FileKind.of(p) == FileKind.BLOCK_DEVICE).sorted().findFirst();
        }
        assumeTrue(found.isPresent(), "no block device under /dev on this machine");
        return found.get();
    }
}
