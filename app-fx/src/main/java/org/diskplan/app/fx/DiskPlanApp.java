package org.diskplan.app.fx;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import javafx.application.Application;
import javafx.concurrent.Task;
import javafx.geometry.Insets;
import javafx.scene.Scene;
import javafx.scene.control.Label;
import javafx.scene.layout.VBox;
import javafx.stage.Stage;
import org.diskplan.probe.ImageProber;
import org.diskplan.probe.ProbeException;
import org.diskplan.probe.ProbedImage;

/**
 * The window (placeholder until the real one lands): it probes the file given on
 * the command line, or a built-in raw sample, off the FX thread and shows a summary.
 */
public final class DiskPlanApp extends Application {
    static final String TITLE = "DiskPlan";

    @Override
    public void start(Stage stage) {
        List<String> args = getParameters().getRaw();
        Label status = new Label("Opening…");
        status.setWrapText(true);
        VBox root = new VBox(12, new Label("DiskPlan: look inside a disk image before you resize it."), status);
        root.setPadding(new Insets(24));
        stage.setScene(new Scene(root, 720, 360));
        stage.setTitle(TITLE);
        stage.show();

        Task<String> probe = new Task<>() {
            @Override
            protected String call() throws IOException, ProbeException {
                Path file = args.isEmpty() ? sample() : Path.of(args.get(0));
                javafx.application.Platform.runLater(() -> stage.setTitle(TITLE + " — " + file.getFileName()));
                ProbedImage p = ImageProber.probe(file, Optional.empty());
                return String.format("%s%nformat: %s%nvirtual size: %,d bytes%nfile size: %,d bytes%n%d regions, "
                                + "%d header fields", file, p.format().displayName(), p.virtualSize(), p.fileSize(),
                        p.regions().size(), p.fields().size());
            }
        };
        probe.setOnSucceeded(e -> status.setText(probe.getValue()));
        probe.setOnFailed(e -> status.setText("Cannot open the image: " + probe.getException().getMessage()));
        Thread worker = new Thread(probe, "diskplan-probe");
        worker.setDaemon(true);
        worker.start();
    }

    /** A small sparse raw image with a little data, in a fresh temporary folder. */
    static Path sample() throws IOException {
        Path dir = Files.createTempDirectory("diskplan-samples");
        Path file = dir.resolve("sample.raw");
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(64L << 20);
            raf.seek(0);
            raf.write("DiskPlan sample raw image".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        }
        return file;
    }
}
