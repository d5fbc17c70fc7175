package org.diskplan.app.fx;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import javafx.scene.control.Button;
import javafx.scene.control.Label;
import javafx.scene.control.TreeItem;
import javafx.scene.control.TreeTableView;
import javafx.scene.image.WritableImage;
import javafx.scene.input.KeyCode;
import javafx.scene.paint.Color;
import javafx.stage.Stage;
import org.diskplan.app.fx.model.Samples;
import org.diskplan.app.fx.model.SizeText;
import org.diskplan.planner.Planners;
import org.diskplan.planner.SizeArgument;
import org.diskplan.planner.apply.ApplyOptions;
import org.diskplan.planner.apply.PlanApplier;
import org.diskplan.planner.apply.UndoJournal;
import org.diskplan.probe.HeaderField;
import org.diskplan.probe.ImageProber;
import org.diskplan.probe.ProbedImage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.testfx.api.FxRobot;
import org.testfx.framework.junit5.ApplicationExtension;
import org.testfx.framework.junit5.Start;
import org.testfx.util.WaitForAsyncUtils;

/**
 * The real window, driven as a user drives it (headless on Monocle): menus, typing,
 * clicks, keys. Every image is a sample written by the sample writers, so every
 * format with a writer is covered as soon as its writer exists.
 */
@ExtendWith(ApplicationExtension.class)
class WindowTest {
    @TempDir
    static Path config;

    private MainWindow window;

    @Start
    void start(Stage stage) {
        window = DiskPlanApp.show(stage, config.resolve("recent-files"));
    }

    // ---- helpers -------------------------------------------------------------------------

    private static void waitUntil(BooleanSupplier condition) {
        try {
            WaitForAsyncUtils.waitFor(20, TimeUnit.SECONDS, () -> onFx(condition::getAsBoolean));
        } catch (TimeoutException e) {
            throw new AssertionError("timed out waiting", e);
        }
        WaitForAsyncUtils.waitForFxEvents();
    }

    private static <T> T onFx(java.util.concurrent.Callable<T> c) {
        try {
            return WaitForAsyncUtils.asyncFx(c).get(20, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    /** Opens a sample through the Samples menu and waits for it to be probed. */
    private ProbedImage openSample(FxRobot robot, Samples sample) {
        robot.clickOn("Samples").clickOn(sample.label());
        waitUntil(() -> window.image().image() != null
                && window.image().image().path().getFileName().toString().equals(sample.fileName())
                && !window.image().busyProperty().get());
        return window.image().image();
    }

    private static Samples sample(String format) {
        return Samples.available().stream().filter(s -> s.format().equals(format)).findFirst().orElseThrow();
    }

    private String text(FxRobot robot, String query) {
        return onFx(() -> robot.lookup(query).queryAs(Label.class).getText());
    }

    private boolean visible(FxRobot robot, String query) {
        return onFx(() -> robot.lookup(query).query().isVisible());
    }

    private void typeSize(FxRobot robot, String size) {
        robot.doubleClickOn("#sizeField").press(KeyCode.CONTROL).type(KeyCode.A).release(KeyCode.CONTROL);
        robot.type(KeyCode.BACK_SPACE);
        robot.write(size);
        waitUntil(() -> !window.resize().planningProperty().get() && window.image().workers().pendingProperty().get() == 0);
    }

    private static String sha(Path f) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f)));
    }

    // ---- tests ---------------------------------------------------------------------------

    @Test
    void opensASampleOfEveryFormatAndShowsEveryFieldAtItsOffset(FxRobot robot) throws Exception {
        List<Samples> samples = Samples.available();
        assertThat(samples).extracting(Samples::format).contains("raw", "vpc");
        for (Samples s : samples) {
            ProbedImage shown = openSample(robot, s);
            assertThat(onFx(() -> ((Stage) window.root().getScene().getWindow()).getTitle()))
                    .isEqualTo("DiskPlan — " + s.fileName());
            ProbedImage expected = ImageProber.probe(shown.path(), Optional.empty());
            assertThat(text(robot, "#summary-virtual-size")).isEqualTo(SizeText.human(expected.virtualSize()));
            List<String> rows = onFx(() -> inspectorRows(robot));
            List<String> fields = expected.fields().stream()
                    .map(f -> f.name() + " @ " + SizeText.hex(f.offset()) + " = " + f.value()).toList();
            assertThat(rows).as("inspector rows of %s", s.label()).containsExactlyElementsOf(fields);
        }
        // Known fields, by hand: the VHD cookie at 0 (footer copy of a dynamic image).
        openSample(robot, sample("vpc"));
        assertThat(onFx(() -> inspectorRows(robot))).contains("cookie @ 0x0 = 'conectix'");
        assertThat(text(robot, "#summary-format")).isEqualTo("VHD · dynamic");
        openSample(robot, sample("raw"));
        assertThat(text(robot, "#summary-format")).isEqualTo("raw");
        assertThat(text(robot, "#summary-virtual-size")).isEqualTo("64 MiB");
    }

    /** The field rows of the inspector as "name @ offset = value", read from the tree's cells' values. */
    @SuppressWarnings("unchecked")
    private static List<String> inspectorRows(FxRobot robot) {
        TreeTableView<MainWindow.Row> tree = robot.lookup("#inspector").queryAs(TreeTableView.class);
        List<String> out = new java.util.ArrayList<>();
        for (TreeItem<MainWindow.Row> group : tree.getRoot().getChildren()) {
            for (TreeItem<MainWindow.Row> item : group.getChildren()) {
                String[] cells = new String[4];
                for (int c = 0; c < 4; c++) {
                    cells[c] = String.valueOf(tree.getColumns().get(c).getCellObservableValue(item).getValue());
                }
                out.add(cells[0] + " @ " + cells[1] + " = " + cells[3]);
            }
        }
        return out;
    }

    @Test
    void selectingAFieldHighlightsItsBytes(FxRobot robot) {
        ProbedImage img = openSample(robot, sample("vpc"));
        HeaderField cookie = img.fields().stream().filter(f -> f.name().equals("cookie")).findFirst().orElseThrow();
        robot.clickOn("cookie");
        waitUntil(() -> window.hexView().window().size() > 0);
        assertThat(onFx(() -> window.hexView().window().markedHex())).isEqualTo(cookie.hex());
        assertThat(onFx(() -> window.hexView().getAccessibleText())).isEqualTo(cookie.hex());
    }

    @Test
    void badSizeShowsTheCliMessage(FxRobot robot) {
        openSample(robot, sample("raw"));
        typeSize(robot, "1.1");
        assertThat(text(robot, "#sizeError")).isEqualTo(SizeArgument.INVALID);
        assertThat(text(robot, "#sizeHint")).isEqualTo(SizeArgument.SUFFIX_HINT);
        assertThat(onFx(() -> robot.lookup("#applyButton").queryButton().isDisabled())).isTrue();
        typeSize(robot, "-64M");
        assertThat(text(robot, "#sizeError")).isEqualTo("New image size must be positive");
        typeSize(robot, "+1M");
        assertThat(visible(robot, "#sizeError")).isFalse();
        assertThat(onFx(() -> robot.lookup("#applyButton").queryButton().isDisabled())).isFalse();
    }

    @Test
    void aSmallerSizeNeedsTheShrinkBox(FxRobot robot) {
        openSample(robot, sample("raw"));
        typeSize(robot, "32M");
        assertThat(text(robot, "#sizeError")).isEqualTo("Use the --shrink option to perform a shrink operation.");
        assertThat(window.resize().planProperty().get()).isNull();
        robot.clickOn("#shrinkBox");
        waitUntil(() -> window.resize().planProperty().get() != null);
        assertThat(visible(robot, "#sizeError")).isFalse();
        assertThat(text(robot, "#sizeHint")).isEqualTo(Planners.SHRINK_WARNING);
        assertThat(window.resize().planProperty().get().newVirtualSize()).isEqualTo(32L << 20);
    }

    @Test
    void aPlanAppearsWithItsPatchesAndCommitMarker(FxRobot robot) {
        openSample(robot, sample("raw"));
        robot.clickOn("#preallocation").clickOn("full");
        typeSize(robot, "+8M");
        robot.clickOn("Plan");
        waitUntil(() -> window.timeline().steps() == 2);
        assertThat(text(robot, "#planSummary")).startsWith("1 patch, commit at step 0;");
        assertThat(text(robot, "#timelineSummary")).startsWith("1 patch then the final length · commit at step 0");
        // The commit marker is drawn just after the commit step.
        WritableImage frame = onFx(() -> window.timelineView().surface().snapshot(null, null));
        int x = (int) Math.round(onFx(() -> window.timeline().x(0) + window.timeline().slot()));
        Color c = frame.getPixelReader().getColor(Math.min(x, (int) frame.getWidth() - 1),
                (int) (TimelineView.TOP + TimelineView.TRACK1 + TimelineView.GAP / 2));
        assertThat(c.getRed()).isGreaterThan(0.6);
        assertThat(c.getGreen()).isLessThan(0.4);
        // Keyboard selection shows the step and its bytes before and after.
        robot.clickOn(window.timelineView().surface());
        robot.type(KeyCode.HOME);
        waitUntil(() -> window.timeline().selectedProperty().get() == 0);
        assertThat(text(robot, "#stepDetail")).contains("step 0 · zero");
    }

    @Test
    void hoverZoomAndScrollTheTimeline(FxRobot robot) {
        org.junit.jupiter.api.Assumptions.assumeTrue(Planners.canResize(org.diskplan.abi.ImageFormat.QCOW2));
        openSample(robot, sample("qcow2"));
        typeSize(robot, "+1G");
        robot.clickOn("Plan");
        waitUntil(() -> window.timeline().steps() > 2);
        TimelineView.Surface s = window.timelineView().surface();
        double x = onFx(() -> window.timeline().x(1) + window.timeline().slot() / 2);
        robot.moveTo(s, javafx.geometry.Pos.TOP_LEFT, new javafx.geometry.Point2D(x, 60),
                org.testfx.robot.Motion.DIRECT);
        waitUntil(() -> window.timeline().hoverProperty().get() == 1);
        assertThat(text(robot, "#stepDetail")).startsWith("step 1 · write · offset 0x");
        robot.clickOn(javafx.scene.input.MouseButton.PRIMARY);
        waitUntil(() -> window.timeline().selectedProperty().get() == 1);
        double zoom = onFx(() -> window.timeline().zoomProperty().get());
        robot.type(KeyCode.EQUALS, 3); // wider than the view, so that it scrolls
        waitUntil(() -> window.timeline().zoomProperty().get() > zoom);
        robot.scroll(3, javafx.geometry.VerticalDirection.DOWN);
        waitUntil(() -> window.timeline().scrollProperty().get() > 0);
        robot.type(KeyCode.DIGIT0);
        waitUntil(() -> window.timeline().zoomProperty().get() == zoom
                && window.timeline().scrollProperty().get() == 0);
    }

    @Test
    void aRefusedApplySaysWhyAndLeavesTheFileAsItWas(FxRobot robot) throws Exception {
        ProbedImage img = openSample(robot, sample("raw"));
        typeSize(robot, "+1M");
        // Another program changes the file after the plan was made.
        try (java.io.RandomAccessFile raf = new java.io.RandomAccessFile(img.path().toFile(), "rw")) {
            raf.setLength(img.fileSize() + 512);
        }
        String changed = sha(img.path());
        robot.clickOn("#applyButton");
        waitUntil(() -> robot.lookup("#confirmApply").tryQuery().isPresent());
        robot.clickOn("#confirmApply");
        waitUntil(() -> !window.apply().runningProperty().get());
        assertThat(text(robot, "#message")).contains("changed since it was planned", "plan again");
        assertThat(sha(img.path())).isEqualTo(changed);
        assertThat(UndoJournal.pathFor(img.path())).doesNotExist();
    }

    @Test
    void anApplyIsRefusedWhenAByteThePlannerReadChangedInPlace(FxRobot robot) throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Planners.canResize(org.diskplan.abi.ImageFormat.QCOW2));
        ProbedImage img = openSample(robot, sample("qcow2"));
        typeSize(robot, "+10G");
        var plan = onFx(() -> window.resize().planProperty().get());
        assertThat(plan).isNotNull();
        // The grow allocates a new L1 table, so the planner read the refcount block that counts it.
        var read = plan.expected().stream().filter(e -> e.what().startsWith("refcount block")).findFirst()
                .orElseThrow(() -> new AssertionError("the plan records no refcount block: " + plan.expected()));
        long length = Files.size(img.path());
        // Another program changes one byte of it; the file keeps its length.
        try (java.io.RandomAccessFile raf = new java.io.RandomAccessFile(img.path().toFile(), "rw")) {
            long at = read.offset() + read.length() - 1;
            raf.seek(at);
            int b = raf.read();
            raf.seek(at);
            raf.write(b ^ 0x01);
        }
        assertThat(Files.size(img.path())).isEqualTo(length);
        String changed = sha(img.path());
        robot.clickOn("#applyButton");
        waitUntil(() -> robot.lookup("#confirmApply").tryQuery().isPresent());
        robot.clickOn("#confirmApply");
        waitUntil(() -> !window.apply().runningProperty().get());
        assertThat(text(robot, "#message")).contains("changed since it was planned", read.what(),
                "at offset " + read.offset(), "plan again");
        assertThat(sha(img.path())).isEqualTo(changed);
        assertThat(UndoJournal.pathFor(img.path())).doesNotExist();
    }

    @Test
    void applyGrowsTheImageAndTheSummaryShowsTheNewSize(FxRobot robot) throws Exception {
        ProbedImage img = openSample(robot, sample("raw"));
        typeSize(robot, "+64M");
        robot.clickOn("#applyButton");
        waitUntil(() -> robot.lookup("#confirmApply").tryQuery().isPresent());
        assertThat(onFx(() -> robot.lookup(".dialog-pane .content").queryAs(Label.class).getText()))
                .contains(img.path().toString(), "grows from 64 MiB", "128 MiB", "step 0 of 0");
        robot.clickOn("#confirmApply");
        waitUntil(() -> window.image().image() != null && window.image().image().virtualSize() == 128L << 20);
        assertThat(Files.size(img.path())).isEqualTo(128L << 20);
        assertThat(text(robot, "#summary-virtual-size")).isEqualTo("128 MiB");
        assertThat(text(robot, "#message")).isEqualTo("Image resized.");
        assertThat(UndoJournal.pathFor(img.path())).doesNotExist();
    }

    @Test
    void cancelBeforeTheCommitLeavesTheFileUnchanged(FxRobot robot) throws Exception {
        // raw: the zero-fill of preallocation=full is the commit step and stops mid-way.
        cancelAt(robot, sample("raw"), "full", "+256M", 0);
    }

    @Test
    void cancelBeforeTheQcow2CommitRollsBackTheWrittenSteps(FxRobot robot) throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Planners.canResize(org.diskplan.abi.ImageFormat.QCOW2));
        cancelAt(robot, sample("qcow2"), "off", "+10G", 2);
    }

    /** Holds the apply as step {@code hold} starts, clicks Cancel, and checks the file is as it was. */
    private void cancelAt(FxRobot robot, Samples sample, String preallocation, String size, int hold)
            throws Exception {
        ProbedImage img = openSample(robot, sample);
        robot.clickOn("#preallocation").clickOn(preallocation);
        String before = sha(img.path());
        long length = Files.size(img.path());
        CountDownLatch reached = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        window.apply().setBeforeStep(k -> {
            if (k == hold) {
                reached.countDown();
                try {
                    release.await(20, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        });
        typeSize(robot, size);
        assertThat(window.resize().planProperty().get().commitIndex()).isGreaterThanOrEqualTo(hold);
        robot.clickOn("#applyButton");
        waitUntil(() -> robot.lookup("#confirmApply").tryQuery().isPresent());
        robot.clickOn("#confirmApply");
        assertThat(reached.await(20, TimeUnit.SECONDS)).isTrue();
        waitUntil(() -> !robot.lookup("#cancelButton").queryButton().isDisabled());
        robot.clickOn("#cancelButton");
        release.countDown();
        waitUntil(() -> !window.apply().runningProperty().get());
        assertThat(text(robot, "#message")).contains("rolled back and is unchanged");
        assertThat(sha(img.path())).isEqualTo(before);
        assertThat(Files.size(img.path())).isEqualTo(length);
        assertThat(UndoJournal.pathFor(img.path())).doesNotExist();
    }

    @Test
    void applyToQcow2ShowsTheNewHeaderAndMarksTheChangedFields(FxRobot robot) throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Planners.canResize(org.diskplan.abi.ImageFormat.QCOW2));
        ProbedImage img = openSample(robot, sample("qcow2"));
        typeSize(robot, "+1G");
        long wanted = img.virtualSize() + (1L << 30);
        robot.clickOn("#applyButton");
        waitUntil(() -> robot.lookup("#confirmApply").tryQuery().isPresent());
        robot.clickOn("#confirmApply");
        waitUntil(() -> window.image().image() != null && window.image().image().virtualSize() == wanted);
        HeaderField size = window.image().image().fields().stream().filter(f -> f.name().equals("size"))
                .findFirst().orElseThrow();
        assertThat(size.value()).startsWith(Long.toString(wanted));
        assertThat(onFx(() -> inspectorRows(robot))).contains("size @ 0x18 = " + size.value());
        assertThat(window.image().changedFields()).contains(org.diskplan.app.fx.model.ImageModel.key(size));
        // The changed row is drawn with the :changed pseudo-class.
        assertThat(onFx(() -> robot.lookup(".tree-table-row-cell").queryAll().stream()
                .anyMatch(n -> n.getPseudoClassStates().stream().anyMatch(p -> p.getPseudoClassName()
                        .equals("changed"))))).isTrue();
        assertThat(text(robot, "#summary-virtual-size")).isEqualTo(SizeText.human(wanted));
    }

    @Test
    void anImageWithAJournalOpensWithAnOfferToRecover(FxRobot robot) throws Exception {
        Path file = new Samples("raw", "").write();
        String before = sha(file);
        var plan = org.diskplan.planner.ResizeSession.planFile(file, Optional.empty(), img ->
                new org.diskplan.planner.ResizeRequest(128L << 20, false, org.diskplan.abi.Preallocation.OFF));
        try {
            PlanApplier.apply(file, plan, ApplyOptions.DEFAULT.withAfterStep(k -> {
                if (k == 0) {
                    throw new IllegalStateException("simulated crash after the first step");
                }
            }));
        } catch (IllegalStateException expected) {
            // the journal stays, as after a crash
        }
        assertThat(UndoJournal.pathFor(file)).exists();
        onFx(() -> {
            window.open(file);
            return null;
        });
        waitUntil(() -> window.image().journalPresentProperty().get());
        assertThat(visible(robot, "#journalBanner")).isTrue();
        assertThat(onFx(() -> robot.lookup("#applyButton").queryButton().isDisabled())).isTrue();
        robot.clickOn("#recoverButton");
        waitUntil(() -> !window.image().journalPresentProperty().get() && window.image().image() != null);
        assertThat(UndoJournal.pathFor(file)).doesNotExist();
        assertThat(sha(file)).isEqualTo(before);
    }

    @Test
    void recentFilesArePersistedAndOfferedInTheMenu(FxRobot robot) throws Exception {
        Path a = Files.copy(sample("vpc").write(), config.resolve("disk-a.vpc"), StandardCopyOption.REPLACE_EXISTING);
        Path b = Files.copy(sample("raw").write(), config.resolve("disk-b.raw"), StandardCopyOption.REPLACE_EXISTING);
        for (Path p : List.of(a, b)) {
            onFx(() -> {
                window.open(p);
                return null;
            });
            waitUntil(() -> window.image().image() != null && window.image().image().path().equals(p)
                    && window.image().workers().pendingProperty().get() == 0);
        }
        assertThat(Files.readAllLines(config.resolve("recent-files"))).startsWith(
                b.toAbsolutePath().toString(), a.toAbsolutePath().toString());
        // a sample lives in a temporary folder removed at exit: it is not remembered
        openSample(robot, sample("qcow2"));
        waitUntil(() -> window.image().workers().pendingProperty().get() == 0);
        assertThat(Files.readAllLines(config.resolve("recent-files"))).first()
                .isEqualTo(b.toAbsolutePath().toString());
        robot.clickOn("File").clickOn("Open Recent");
        robot.clickOn(n -> n instanceof javafx.scene.text.Text t && t.getText() != null
                && t.getText().contains(a.getFileName().toString()));
        waitUntil(() -> window.image().image() != null && window.image().image().path().equals(a));
    }

    @Test
    void keyboardOnly(FxRobot robot) throws Exception {
        // Samples menu by its mnemonic, arrows down to the raw sample, Enter.
        robot.press(KeyCode.ALT).type(KeyCode.S).release(KeyCode.ALT);
        int raw = Samples.available().indexOf(sample("raw"));
        robot.type(KeyCode.DOWN, raw + 1).type(KeyCode.ENTER);
        waitUntil(() -> window.image().image() != null && !window.image().busyProperty().get());
        Path file = window.image().image().path();
        long size = window.image().image().virtualSize();
        // Alt+N focuses the size field; Enter shows the plan tab.
        robot.press(KeyCode.ALT).type(KeyCode.N).release(KeyCode.ALT);
        robot.write("+1M").type(KeyCode.ENTER);
        waitUntil(() -> window.resize().planProperty().get() != null);
        assertThat(onFx(() -> ((javafx.scene.control.TabPane) window.root().lookup(".tab-pane"))
                .getSelectionModel().getSelectedIndex())).isEqualTo(1);
        // Alt+A: apply; Enter confirms (Apply is the dialog's default button).
        robot.press(KeyCode.ALT).type(KeyCode.A).release(KeyCode.ALT);
        waitUntil(() -> robot.lookup("#confirmApply").tryQuery().isPresent());
        assertThat(onFx(() -> ((Button) robot.lookup("#confirmApply").query()).isDefaultButton())).isTrue();
        robot.type(KeyCode.ENTER);
        waitUntil(() -> window.image().image() != null && window.image().image().virtualSize() == size + (1L << 20));
        assertThat(Files.size(file)).isEqualTo(size + (1L << 20));
    }
}
