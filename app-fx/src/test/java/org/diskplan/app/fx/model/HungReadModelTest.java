package org.diskplan.app.fx.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import org.diskplan.planner.apply.UndoJournal;
import org.diskplan.probe.ReadWatch;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The view models' jobs with storage that never answers (issue 18): each runs under
 * {@link ReadWatch} with a 1 s limit here, so planning and applying end with the command
 * line's words, the image's lock released and nothing written. Before, the job (and with
 * it the apply's lock) waited for ever.
 */
@Timeout(value = 30, threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // unwatched, a job would never end
class HungReadModelTest {
    @TempDir
    Path dir;

    private Workers workers;
    private ImageModel image;
    private ResizeModel resize;
    private Path file;

    @BeforeEach
    void models() throws Exception {
        workers = new Workers(Runnable::run, Runnable::run, Duration.ofSeconds(1));
        image = new ImageModel(workers, new RecentFiles(dir.resolve("config/recent-files"), workers));
        resize = new ResizeModel(workers);
        image.imageProperty().addListener((o, a, b) -> resize.setImage(b));
        Samples qcow2 = Samples.available().stream().filter(s -> s.format().equals("qcow2")).findFirst().orElseThrow();
        file = Files.copy(qcow2.write(), dir.resolve("disk.qcow2"), StandardCopyOption.REPLACE_EXISTING);
        image.open(file);
        assertThat(image.image()).isNotNull();
    }

    /** Reads of the image's bytes (not its open) never answer. */
    private ReadWatch.Stall stallTheImage() {
        return ReadWatch.stall((f, o) -> f.toAbsolutePath().equals(file.toAbsolutePath()) && o >= 0);
    }

    @Test
    void anApplyWhoseReadNeverAnswersReleasesTheLockAndWritesNothing() throws Exception {
        resize.sizeTextProperty().set("+1M");
        assertThat(resize.planProperty().get()).isNotNull();
        byte[] before = Files.readAllBytes(file);
        ApplyModel apply = new ApplyModel(workers, image);
        try (ReadWatch.Stall stall = stallTheImage()) {
            apply.apply(resize.planProperty().get());
            assertThat(stall.held()).isPositive();
            assertThat(apply.runningProperty().get()).isFalse();
            assertThat(apply.statusProperty().get()).startsWith("Could not read '" + file + "' at offset ")
                    .contains(": no answer for 1 s").endsWith("Nothing was written.");
            assertThat(image.messageProperty().get()).isEqualTo(apply.statusProperty().get());
            try (FileChannel other = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
                 FileLock lock = other.tryLock()) {
                assertThat(lock).as("the lock was released while the read still hangs").isNotNull();
            }
        }
        Thread.sleep(200); // the abandoned apply's read answers: it must stop there
        assertThat(Files.readAllBytes(file)).isEqualTo(before);
        assertThat(UndoJournal.pathFor(file)).doesNotExist();
    }

    @Test
    void aPlanWhoseReadNeverAnswersSaysSoInTheSizeError() {
        try (ReadWatch.Stall stall = stallTheImage()) {
            resize.sizeTextProperty().set("+2M");
            assertThat(stall.held()).isPositive();
        }
        assertThat(resize.planningProperty().get()).isFalse();
        assertThat(resize.planProperty().get()).isNull();
        assertThat(resize.errorProperty().get()).startsWith("Could not plan: Could not read '" + file + "' at offset ")
                .contains(": no answer for 1 s");
    }
}
