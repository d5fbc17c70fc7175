package org.diskplan.planner.apply;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.diskplan.planner.TestImages;
import org.diskplan.probe.ReadWatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code recover} with storage that never answers (issue 18: every read bounded): its reads
 * of the journal and of the image are watched like a resize's, so a read that hangs gives
 * recover up naming the file and the offset, the image's lock released, the journal kept
 * for a later recover. Before, these reads were not bracketed: the stall below never held
 * them (a real hung read would have hung recover, lock held, for ever).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RecoverReadTimeoutTest {
    private static final Duration LIMIT = Duration.ofMillis(400);

    @TempDir
    Path dir;

    @Test
    void aJournalReadThatNeverAnswersGivesRecoverUpAndKeepsTheJournal() throws Exception {
        Path image = TestImages.raw(dir, "a.img", HostileFilesTest.LENGTH);
        byte[] original = Files.readAllBytes(image);
        HostileFilesTest.crashAfter(image, 1);
        Path journal = UndoJournal.pathFor(image);
        byte[] crashed = Files.readAllBytes(image);
        byte[] journalBytes = Files.readAllBytes(journal);
        // the saved bytes (past the header) never come back
        try (ReadWatch.Stall stall = ReadWatch.stall((f, o) -> f.equals(journal) && o > 4096)) {
            assertThatThrownBy(() -> ReadWatch.call(LIMIT, () -> Recovery.recover(image)))
                    .isInstanceOfSatisfying(ReadWatch.Timeout.class, t -> {
                        assertThat(t.file()).isEqualTo(journal);
                        assertThat(t.offset()).isGreaterThan(4096);
                        assertThat(t.journal()).as("recover is to be run again").contains(journal);
                        assertThat(t.words()).startsWith("Could not read '" + journal + "' at offset ")
                                .endsWith(": no answer for 0 s");
                    });
            assertThat(stall.held()).isPositive();
        }
        Thread.sleep(200); // the abandoned recover's read answers: it must stop there
        assertThat(Files.readAllBytes(image)).as("nothing written").isEqualTo(crashed);
        assertThat(Files.readAllBytes(journal)).isEqualTo(journalBytes);
        assertThat(Recovery.recover(image).outcome()).isEqualTo(Recovery.Outcome.ROLLED_BACK);
        assertThat(Files.readAllBytes(image)).isEqualTo(original);
    }

    @Test
    void anImageReadThatNeverAnswersWhileRestoringReleasesTheLock() throws Exception {
        Path image = TestImages.raw(dir, "b.img", HostileFilesTest.LENGTH);
        byte[] original = Files.readAllBytes(image);
        HostileFilesTest.crashAfter(image, 1);
        Path journal = UndoJournal.pathFor(image);
        Path real = image.toRealPath();
        // the comparison read of the image's first block (the rollback's) never comes back
        try (ReadWatch.Stall stall = ReadWatch.stall((f, o) -> (f.equals(image) || f.equals(real)) && o == 0)) {
            assertThatThrownBy(() -> ReadWatch.call(LIMIT, () -> Recovery.recover(image)))
                    .isInstanceOfSatisfying(ReadWatch.Timeout.class, t -> {
                        assertThat(t.file().toAbsolutePath()).isEqualTo(real);
                        assertThat(t.offset()).isZero();
                        assertThat(t.journal()).contains(journal);
                    });
            try (FileChannel other = FileChannel.open(image, StandardOpenOption.READ, StandardOpenOption.WRITE);
                 FileLock lock = other.tryLock()) {
                assertThat(lock).as("the lock was released while the read still hangs").isNotNull();
            }
        }
        Thread.sleep(200);
        assertThat(journal).exists();
        assertThat(Recovery.recover(image).outcome()).isEqualTo(Recovery.Outcome.ROLLED_BACK);
        assertThat(Files.readAllBytes(image)).isEqualTo(original);
    }
}
