package org.diskplan.app.fx;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import javafx.application.Application;
import javafx.application.Platform;
import javafx.scene.Scene;
import javafx.stage.Stage;
import org.diskplan.app.fx.model.ImageModel;
import org.diskplan.app.fx.model.RecentFiles;
import org.diskplan.app.fx.model.Samples;
import org.diskplan.app.fx.model.Workers;

/**
 * The window: opens the file named on the command line, or a freshly written
 * sample image when there is none. Title: "DiskPlan — file name".
 */
public final class DiskPlanApp extends Application {
    @Override
    public void start(Stage stage) {
        List<String> args = getParameters().getRaw();
        MainWindow window = show(stage, RecentFiles.defaultStore());
        if (args.isEmpty()) {
            window.image().openSample(Samples.builtIn());
        } else {
            window.open(Path.of(args.get(0)));
        }
    }

    /** Builds the window on {@code stage} with background workers and shows it (tests and tools call this too). */
    public static MainWindow show(Stage stage, Path recentStore) {
        return show(stage, new Workers(Workers.daemonPool(), Platform::runLater), recentStore);
    }

    /** Builds the window on {@code stage} and shows it. */
    public static MainWindow show(Stage stage, Workers workers, Path recentStore) {
        RecentFiles recent = new RecentFiles(recentStore, workers);
        ImageModel image = new ImageModel(workers, recent);
        MainWindow window = new MainWindow(stage, workers, image);
        Scene scene = new Scene(window.root(), 1360, 860);
        scene.getStylesheets().add(Objects.requireNonNull(
                DiskPlanApp.class.getResource("diskplan.css")).toExternalForm());
        stage.setScene(scene);
        stage.titleProperty().bind(image.titleProperty());
        stage.setMinWidth(900);
        stage.setMinHeight(600);
        stage.show();
        recent.load();
        return window;
    }
}
