package org.diskplan.app.fx;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import javafx.application.Platform;
import javafx.scene.control.Label;
import javafx.stage.Stage;
import org.diskplan.app.fx.model.Samples;
import org.diskplan.app.fx.model.Workers;
import org.diskplan.probe.ReadWatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.testfx.api.FxRobot;
import org.testfx.framework.junit5.ApplicationExtension;
import org.testfx.framework.junit5.Start;

/**
 * The window with a file whose reads never answer (issue 18: every read bounded): its jobs
 * run under {@link ReadWatch} with the command line's limit (1 s here), so opening such a
 * file ends in the banner with the command line's words, the window not busy, and the
 * image that was open kept. Before, the open waited for ever (busy, "Opening…").
 */
@ExtendWith(ApplicationExtension.class)
class HungReadWindowTest {
    @TempDir
    static Path config;

    private MainWindow window;

    @Start
    void start(Stage stage) {
        window = DiskPlanApp.show(stage, new Workers(Workers.daemonPool(), Platform::runLater, Duration.ofSeconds(1)),
                config.resolve("recent-files"));
    }

    private static Path sample(String format, Path to) throws Exception {
        Samples s = Samples.available().stream().filter(x -> x.format().equals(format)).findFirst().orElseThrow();
        return Files.copy(s.write(), to, StandardCopyOption.REPLACE_EXISTING);
    }

    @Test
    void openingAFileThatNeverAnswersEndsInTheBannerAndKeepsTheOpenImage(FxRobot robot) throws Exception {
        Path kept = sample("raw", config.resolve("kept.raw"));
        Path hung = sample("vpc", config.resolve("hung.vpc"));
        WindowTest.onFx(() -> {
            window.open(kept);
            return null;
        });
        WindowTest.waitUntil(() -> window.image().image() != null && window.image().image().path().equals(kept)
                && window.image().workers().pendingProperty().get() == 0);
        // the file opens, but none of its bytes ever come back
        try (ReadWatch.Stall stall = ReadWatch.stall((f, o) -> f.toAbsolutePath().equals(hung.toAbsolutePath())
                && o >= 0)) {
            long start = System.nanoTime();
            WindowTest.onFx(() -> {
                window.open(hung);
                return null;
            });
            WindowTest.waitUntil(() -> !window.image().busyProperty().get()
                    && robot.lookup("#openErrorBanner").query().isVisible());
            assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).as("gave up after the limit")
                    .isGreaterThanOrEqualTo(1000);
            assertThat(stall.held()).isPositive();
            String banner = WindowTest.onFx(() -> robot.lookup("#openErrorBannerText").queryAs(Label.class).getText());
            assertThat(banner).startsWith("Could not open hung.vpc: Could not read '" + hung + "' at offset ")
                    .contains(": no answer for 1 s").contains("Nothing was written.")
                    .endsWith("The image you had open stays open.");
            assertThat(window.image().messageProperty().get()).startsWith("Could not open '" + hung + "': ");
            assertThat(window.image().image().path()).isEqualTo(kept);
            assertThat(WindowTest.onFx(() -> ((Stage) window.root().getScene().getWindow()).getTitle()))
                    .isEqualTo("DiskPlan \u2014 kept.raw");
            assertThat(window.image().fileProperty().get()).isEqualTo(kept);
        }
        // the storage answers again: the same file opens
        WindowTest.onFx(() -> {
            window.open(hung);
            return null;
        });
        WindowTest.waitUntil(() -> window.image().image() != null && window.image().image().path().equals(hung)
                && !window.image().busyProperty().get());
    }
}
