package org.diskplan.app.fx;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import javafx.application.Platform;
import javafx.scene.control.TreeItem;
import javafx.stage.Stage;
import org.diskplan.app.fx.model.Samples;

/**
 * The README's screenshots from the real window (run under Xvfb by
 * bench/screenshots.sh): a sample open in the header inspector with a field's
 * bytes highlighted, and the same image with a plan on the timeline.
 *
 * <p>{@code java -cp diskplan.jar:test-classes org.diskplan.app.fx.Screenshots OUT_DIR [INSPECTED PLANNED SIZE]}
 * (qemu driver names; by default qcow2 in the inspector and the built-in sample, qcow2 once it is
 * resizable, else raw, with a plan of +10G)
 */
public final class Screenshots {
    private Screenshots() {
    }

    public static void main(String[] args) {
        exitAfter(() -> run(args));
    }

    /** Something to run in a tool's main. */
    interface Work {
        void run() throws Exception;
    }

    /** Runs {@code work}, then stops JavaFX and the JVM: status 0, or 1 with the stack trace. */
    static void exitAfter(Work work) {
        int status = 1;
        try {
            work.run();
            status = 0;
        } catch (Exception | Error e) {
            e.printStackTrace();
        } finally {
            Platform.exit();
            System.exit(status);
        }
    }

    /** The sample of {@code preferred} if a writer makes it, else of {@code fallback}. */
    private static Samples sample(String preferred, String fallback) {
        return Samples.available().stream().filter(s -> s.format().equals(preferred)).findFirst()
                .or(() -> Samples.available().stream().filter(s -> s.format().equals(fallback)).findFirst())
                .orElseThrow();
    }

    private static void run(String[] args) throws Exception {
        Path out = Path.of(args.length > 0 ? args[0] : "docs/screenshots");
        Samples inspected = sample(args.length > 1 ? args[1] : "qcow2", "vpc");
        Samples planned = args.length > 2 ? sample(args[2], "raw") : Samples.builtIn();
        String size = args.length > 3 ? args[3] : "+10G";
        MainWindow w = startWindow();
        fx(() -> w.image().openSample(inspected));
        waitFor(() -> fx(() -> w.image().image() != null));
        // Inspector: select the field that holds the virtual size (or the third one).
        fx(() -> {
            var tree = (javafx.scene.control.TreeTableView<?>) w.root().lookup("#inspector");
            int row = pickRow(tree);
            tree.getSelectionModel().select(row);
            tree.scrollTo(Math.max(0, row - 3));
            tree.requestFocus();
            return null;
        });
        waitFor(() -> fx(() -> w.hexView().window().size() > 0));
        pause(600);
        shot(w, out.resolve("window-inspector.png"));
        if (!planned.equals(inspected)) {
            fx(() -> w.image().openSample(planned));
            waitFor(() -> fx(() -> w.image().image() != null
                    && w.image().image().path().getFileName().toString().equals(planned.fileName())));
        }
        fx(() -> {
            if (planned.format().equals("raw")) {
                // A raw grow without preallocation is the final length alone; falloc shows a patch.
                w.resize().preallocationProperty().set(org.diskplan.abi.Preallocation.FALLOC);
            }
            w.resize().sizeTextProperty().set(size);
            ((javafx.scene.control.TabPane) w.root().lookup(".tab-pane")).getSelectionModel().select(1);
            return null;
        });
        waitFor(() -> fx(() -> w.resize().planProperty().get() != null));
        fx(() -> {
            w.timeline().select(w.timeline().commit());
            return null;
        });
        pause(800);
        shot(w, out.resolve("window-plan.png"));
        // Every view also at the smallest and a large window, to look at (not in the README).
        Path sizes = Path.of(System.getProperty("java.io.tmpdir"), "diskplan-screenshots");
        Files.createDirectories(sizes);
        for (int[] wh : SIZES) {
            resize(w, wh[0], wh[1]);
            shot(w, sizes.resolve("plan-" + wh[0] + "x" + wh[1] + ".png"));
            fx(() -> ((javafx.scene.control.TabPane) w.root().lookup(".tab-pane")).getSelectionModel().select(0));
            pause(500);
            shot(w, sizes.resolve("inspector-" + wh[0] + "x" + wh[1] + ".png"));
            fx(() -> ((javafx.scene.control.TabPane) w.root().lookup(".tab-pane")).getSelectionModel().select(1));
        }
        resize(w, 1360, 860);
        // A shrink that cuts data: the warning over the window, the cut data marked on the layout map.
        Path shrunk = withDataAtTheEnd(Samples.builtIn());
        fx(() -> w.open(shrunk));
        waitFor(() -> fx(() -> w.image().image() != null && w.image().image().path().equals(shrunk)
                && !w.image().busyProperty().get()));
        long half = fx(() -> w.image().image().virtualSize() / 2);
        fx(() -> {
            w.resize().shrinkProperty().set(true);
            w.resize().sizeTextProperty().set(Long.toString(half));
            return null;
        });
        waitFor(() -> fx(() -> w.resize().planProperty().get() != null && w.image().workers().pendingProperty()
                .get() == 0));
        pause(400);
        shrinkWarning(w, out.resolve("window-shrink.png"));
        for (int[] wh : SIZES) {
            resize(w, wh[0], wh[1]);
            shrinkWarning(w, sizes.resolve("shrink-" + wh[0] + "x" + wh[1] + ".png"));
            shot(w, sizes.resolve("shrink-plan-" + wh[0] + "x" + wh[1] + ".png"));
        }
        resize(w, 1360, 860);
        // A damaged image: the fields read before the error, the bad one marked, the banner.
        Path damaged = damagedVhd();
        fx(() -> w.open(damaged));
        waitFor(() -> fx(() -> w.image().damagedProperty().get() != null && !w.image().busyProperty().get()));
        fx(() -> ((javafx.scene.control.TabPane) w.root().lookup(".tab-pane")).getSelectionModel().select(0));
        waitFor(() -> fx(() -> w.hexView().window().size() > 0));
        pause(600);
        shot(w, out.resolve("window-damaged.png"));
        for (int[] wh : SIZES) {
            resize(w, wh[0], wh[1]);
            shot(w, sizes.resolve("damaged-" + wh[0] + "x" + wh[1] + ".png"));
        }
    }

    /** The sizes every view is also taken at: the smallest window DiskPlan is made for, and a large one. */
    private static final int[][] SIZES = {{1024, 640}, {1920, 1080}};

    /** A copy of {@code sample} with guest data written in its last quarter by qemu-io (as is, without qemu-io). */
    private static Path withDataAtTheEnd(Samples sample) throws Exception {
        Path file = sample.write();
        long size = org.diskplan.probe.ImageProber.probe(file, java.util.Optional.empty()).virtualSize();
        try {
            Process p = new ProcessBuilder("qemu-io", "-f", sample.format(), "-c", "write -P 0x5a " + (size / 4 * 3)
                    + " " + (size / 8), file.toString()).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            if (p.waitFor() != 0) {
                System.out.println("qemu-io failed: the shrink screenshot shows no data past the new end");
            }
        } catch (java.io.IOException e) {
            System.out.println("no qemu-io: the shrink screenshot shows no data past the new end");
        }
        return file;
    }

    /** A VHD sample whose footer copy's data_offset (offset 16) points past the end of the file. */
    private static Path damagedVhd() throws Exception {
        Samples vpc = Samples.available().stream().filter(s -> s.format().equals("vpc")).findFirst().orElseThrow();
        Path file = vpc.write();
        Path damaged = file.resolveSibling("damaged.vhd");
        Files.copy(file, damaged, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        try (java.io.RandomAccessFile raf = new java.io.RandomAccessFile(damaged.toFile(), "rw")) {
            raf.seek(16);
            raf.writeLong(1L << 40);
        }
        return damaged;
    }

    /** Opens the shrink warning, writes it over the dimmed window to {@code file}, and cancels it. */
    private static void shrinkWarning(MainWindow w, Path file) throws Exception {
        Platform.runLater(w::requestApply); // shows the warning and waits in a nested loop
        waitFor(() -> fx(() -> javafx.stage.Window.getWindows().stream().anyMatch(x -> x != stageOf(w)
                && x.getScene() != null && x.getScene().lookup("#shrinkDialog") != null)));
        pause(600);
        javafx.stage.Window dialog = fx(() -> javafx.stage.Window.getWindows().stream().filter(x -> x != stageOf(w)
                && x.getScene() != null && x.getScene().lookup("#shrinkDialog") != null).findFirst().orElseThrow());
        javafx.scene.image.WritableImage back = fx(() -> w.root().getScene().snapshot(null));
        javafx.scene.image.WritableImage front = fx(() -> dialog.getScene().snapshot(null));
        Png.write(over(back, front), file);
        System.out.println("wrote " + file);
        fx(() -> ((javafx.scene.control.Button) dialog.getScene().lookup("#cancelShrink")).fire());
        waitFor(() -> fx(() -> javafx.stage.Window.getWindows().stream().noneMatch(x -> x != stageOf(w)
                && x.getScene() != null && x.getScene().lookup("#shrinkDialog") != null)));
    }

    private static javafx.stage.Window stageOf(MainWindow w) {
        return w.root().getScene().getWindow();
    }

    private static void resize(MainWindow w, int width, int height) throws Exception {
        fx(() -> {
            Stage st = (Stage) stageOf(w);
            st.setMinWidth(0);
            st.setMinHeight(0);
            st.setWidth(width);
            st.setHeight(height);
            return null;
        });
        pause(900);
    }

    /** {@code front} centred over {@code back}, with a thin shadow line. */
    private static javafx.scene.image.WritableImage over(javafx.scene.image.WritableImage back,
                                                          javafx.scene.image.WritableImage front) {
        int bw = (int) back.getWidth();
        int bh = (int) back.getHeight();
        int fw = (int) front.getWidth();
        int fh = (int) front.getHeight();
        javafx.scene.image.WritableImage out = new javafx.scene.image.WritableImage(back.getPixelReader(), bw, bh);
        javafx.scene.image.PixelWriter pw = out.getPixelWriter();
        for (int y = 0; y < bh; y++) {
            for (int x = 0; x < bw; x++) {
                pw.setColor(x, y, back.getPixelReader().getColor(x, y).deriveColor(0, 1, 0.6, 1));
            }
        }
        int x0 = Math.max(0, (bw - fw) / 2);
        int y0 = Math.max(0, (bh - fh) / 3);
        for (int y = 0; y < fh && y0 + y < bh; y++) {
            for (int x = 0; x < fw && x0 + x < bw; x++) {
                pw.setColor(x0 + x, y0 + y, front.getPixelReader().getColor(x, y));
            }
        }
        for (int x = x0; x < Math.min(bw, x0 + fw); x++) {
            if (y0 + fh < bh) {
                pw.setColor(x, y0 + fh, javafx.scene.paint.Color.gray(0.2));
            }
        }
        return out;
    }

    /** Starts JavaFX and shows the window, its recent files in a temporary folder. */
    static MainWindow startWindow() throws Exception {
        Path config = Files.createTempDirectory("diskplan-window");
        CompletableFuture<MainWindow> started = new CompletableFuture<>();
        Platform.startup(() -> started.complete(DiskPlanApp.show(new Stage(), config.resolve("recent-files"))));
        return started.get(30, TimeUnit.SECONDS);
    }

    private static int pickRow(javafx.scene.control.TreeTableView<?> tree) {
        for (int i = 0; i < tree.getExpandedItemCount(); i++) {
            TreeItem<?> item = tree.getTreeItem(i);
            if (item != null && item.getValue() instanceof MainWindow.Row r && r.field() != null
                    && r.field().name().toLowerCase(java.util.Locale.ROOT).contains("size")) {
                return i;
            }
        }
        return Math.min(3, tree.getExpandedItemCount() - 1);
    }

    private static void shot(MainWindow w, Path file) throws Exception {
        javafx.scene.image.WritableImage img = fx(() -> w.root().getScene().snapshot(null));
        Png.write(img, file);
        System.out.println("wrote " + file + " (" + (int) img.getWidth() + "x" + (int) img.getHeight() + ")");
    }

    static <T> T fx(Supplier<T> s) {
        CompletableFuture<T> f = new CompletableFuture<>();
        Platform.runLater(() -> {
            try {
                f.complete(s.get());
            } catch (RuntimeException e) {
                f.completeExceptionally(e);
            }
        });
        try {
            return f.get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static void fx(Runnable r) {
        fx(() -> {
            r.run();
            return null;
        });
    }

    private static void waitFor(BooleanSupplier condition) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new IllegalStateException("timed out");
            }
            Thread.sleep(50);
        }
    }

    private static void pause(long ms) throws InterruptedException {
        Thread.sleep(ms);
    }
}
