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
import org.diskplan.app.fx.model.PatchDiff;
import org.diskplan.app.fx.model.SizeText;
import org.diskplan.app.fx.model.WindowWords;
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

    static void waitUntil(BooleanSupplier condition) {
        try {
            WaitForAsyncUtils.waitFor(20, TimeUnit.SECONDS, () -> onFx(condition::getAsBoolean));
        } catch (TimeoutException e) {
            throw new AssertionError("timed out waiting", e);
        }
        WaitForAsyncUtils.waitForFxEvents();
    }

    static <T> T onFx(java.util.concurrent.Callable<T> c) {
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
                    // a computed row (no bytes of its own) shows no offset
                    .map(f -> f.name() + " @ " + (f.length() == 0 ? "" : SizeText.hex(f.offset())) + " = "
                            + f.value()).toList();
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
    void badSizeSaysWhatIsWrongInTheWindowsOwnWords(FxRobot robot) {
        openSample(robot, sample("raw"));
        typeSize(robot, "1.1");
        assertThat(text(robot, "#sizeError")).isEqualTo("\u201c1.1\u201d needs a unit: a fraction of a byte is not a "
                + "size (try 1.1G).");
        assertThat(text(robot, "#sizeHint")).isEqualTo(WindowWords.SIZE_HELP).doesNotContain("\n")
                .isNotEqualTo(SizeArgument.SUFFIX_HINT);
        assertThat(onFx(() -> robot.lookup("#applyButton").queryButton().isDisabled())).isTrue();
        typeSize(robot, "frob");
        assertThat(text(robot, "#sizeError")).isEqualTo("\u201cfrob\u201d is not a size.");
        typeSize(robot, "-64M");
        assertThat(text(robot, "#sizeError")).isEqualTo("The new size must be larger than zero.");
        typeSize(robot, "+1M");
        assertThat(visible(robot, "#sizeError")).isFalse();
        assertThat(onFx(() -> robot.lookup("#applyButton").queryButton().isDisabled())).isFalse();
    }

    @Test
    void aSmallerSizeNeedsTheShrinkBox(FxRobot robot) {
        openSample(robot, sample("raw"));
        typeSize(robot, "32M");
        assertThat(text(robot, "#sizeError")).isEqualTo("32 MiB is smaller than the image (64 MiB). "
                + "Tick Shrink to make the image smaller.").doesNotContain("--shrink");
        assertThat(window.resize().planProperty().get()).isNull();
        robot.clickOn("#shrinkBox");
        waitUntil(() -> window.resize().planProperty().get() != null);
        assertThat(visible(robot, "#sizeError")).isFalse();
        assertThat(text(robot, "#sizeHint")).isEqualTo(WindowWords.shrinkHint(64L << 20, 32L << 20))
                .contains("32 MiB", "33,554,432");
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
        // hover shows its bubble only; the caption follows the selection
        assertThat(text(robot, "#stepDetail")).doesNotStartWith("step 1");
        robot.clickOn(javafx.scene.input.MouseButton.PRIMARY);
        waitUntil(() -> window.timeline().selectedProperty().get() == 1);
        assertThat(text(robot, "#stepDetail")).startsWith("step 1 · write · offset 0x");
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
                .contains(img.path().toString(), "grows from 64 MiB", "128 MiB", "at the first step")
                .doesNotContain("step 0 of");
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
        // Recover asks first; Cancel leaves the journal
        waitUntil(() -> robot.lookup("#confirmRecover").tryQuery().isPresent());
        assertThat(onFx(() -> robot.lookup("#recoverDialog .content").queryAs(Label.class).getText()))
                .contains(file.getFileName().toString(), "original length");
        robot.clickOn("Cancel");
        WaitForAsyncUtils.waitForFxEvents();
        assertThat(UndoJournal.pathFor(file)).exists();
        robot.clickOn("#recoverButton");
        waitUntil(() -> robot.lookup("#confirmRecover").tryQuery().isPresent());
        robot.clickOn("#confirmRecover");
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

    // ---- the window speaks to people (issue 19) ------------------------------------------

    @Test
    void oneSelectedStepDrivesTheCaptionAndBothHexPanes(FxRobot robot) throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Planners.canResize(org.diskplan.abi.ImageFormat.QCOW2));
        ProbedImage img = openSample(robot, sample("qcow2"));
        typeSize(robot, "+10G");
        robot.clickOn("Plan");
        var plan = window.resize().planProperty().get();
        waitUntil(() -> window.timeline().steps() == plan.patches().size() + 1);
        int last = plan.patches().size() - 1;
        assertThat(last).isPositive();
        robot.clickOn(window.timelineView().surface());
        robot.type(KeyCode.HOME);
        for (int s = 0; s <= last; s++) {
            int step = s;
            waitUntil(() -> window.timeline().selectedProperty().get() == step
                    && text(robot, "#diffBeforeTitle").startsWith("step " + step + " \u2014 before"));
            waitUntil(() -> window.image().workers().pendingProperty().get() == 0);
            assertThat(text(robot, "#stepDetail")).startsWith("step " + step + " ");
            assertThat(text(robot, "#diffAfterTitle")).startsWith("step " + step + " \u2014 after");
            // before = the file as steps 0..step-1 leave it, read independently here
            PatchDiff expected = PatchDiff.read(img.path(), plan, step);
            var shown = onFx(() -> window.diffBefore().window());
            assertThat(shown.offset()).isEqualTo(expected.before().offset());
            assertThat(shown.bytes()).isEqualTo(expected.before().bytes());
            assertThat(onFx(() -> window.diffAfter().window().bytes())).isEqualTo(expected.after().bytes());
            robot.type(KeyCode.RIGHT);
        }
        // the layout map shows the file now and after the plan, every region at least MIN pixels wide
        var now = onFx(() -> window.layoutMap().nowScale());
        var after = onFx(() -> window.layoutMap().afterScale());
        assertThat(now.fileSize()).isEqualTo(img.fileSize());
        assertThat(after.fileSize()).isEqualTo(plan.newFileSize());
        assertThat(now.segments()).filteredOn(seg -> seg.kind() != null).isNotEmpty()
                .allSatisfy(seg -> assertThat(seg.width()).isGreaterThanOrEqualTo(
                        org.diskplan.app.fx.model.LayoutScale.MIN - 1e-9));
    }

    @Test
    void aShrinkWarnsWithCancelTheDefaultAndNamesTheBytesLost(FxRobot robot) throws Exception {
        ProbedImage img = openSample(robot, sample("raw"));
        String before = sha(img.path());
        typeSize(robot, "48M");
        robot.clickOn("#shrinkBox");
        waitUntil(() -> window.resize().planProperty().get() != null);
        robot.clickOn("#applyButton");
        waitUntil(() -> robot.lookup("#confirmShrink").tryQuery().isPresent());
        assertThat(onFx(() -> ((Button) robot.lookup("#cancelShrink").query()).isDefaultButton())).isTrue();
        assertThat(onFx(() -> ((Button) robot.lookup("#confirmShrink").query()).isDefaultButton())).isFalse();
        assertThat(onFx(() -> ((Button) robot.lookup("#confirmShrink").query()).getText()))
                .isEqualTo("Shrink and delete");
        assertThat(onFx(() -> robot.lookup("#shrinkDialog").queryAs(javafx.scene.control.DialogPane.class)
                .getContentText())).contains("last 16 MiB", "50,331,648 to 67,108,863", "deleted",
                        "cannot tell which of these bytes hold data, so all 16 MiB count as lost")
                .doesNotContain("--shrink");
        // Enter takes the default: Cancel; nothing is written
        robot.type(KeyCode.ENTER);
        waitUntil(() -> robot.lookup("#shrinkDialog").tryQuery().isEmpty());
        assertThat(sha(img.path())).isEqualTo(before);
        robot.clickOn("#applyButton");
        waitUntil(() -> robot.lookup("#confirmShrink").tryQuery().isPresent());
        robot.clickOn("#confirmShrink");
        waitUntil(() -> window.image().image() != null && window.image().image().virtualSize() == 48L << 20);
        assertThat(Files.size(img.path())).isEqualTo(48L << 20);
        // the box is unticked after the apply: the next smaller size asks again
        assertThat(onFx(() -> robot.lookup("#shrinkBox").queryAs(javafx.scene.control.CheckBox.class).isSelected()))
                .isFalse();
    }

    @Test
    void aShrinkNamesTheAllocatedDataPastTheNewEndFromTheBlockMap(FxRobot robot) throws Exception {
        Path vdi = Files.copy(sample("vdi").write(), config.resolve("data-past-end.vdi"),
                StandardCopyOption.REPLACE_EXISTING);
        // qemu writes 3 MiB of guest data at 52 MiB (1 MiB blocks 52..54) and 1 MiB at 8 MiB (kept)
        for (String cmd : List.of("write -P 0x5a 52M 3M", "write -P 0x33 8M 1M")) {
            Process p = new ProcessBuilder("qemu-io", "-f", "vdi", "-c", cmd, vdi.toString())
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            assertThat(p.waitFor()).as(out).isZero();
        }
        onFx(() -> {
            window.open(vdi);
            return null;
        });
        waitUntil(() -> window.image().image() != null && window.image().image().path().equals(vdi)
                && window.image().workers().pendingProperty().get() == 0);
        assertThat(((org.diskplan.probe.vdi.VdiHeader) window.image().image().header()).isDynamic()).isTrue();
        String before = sha(vdi);
        typeSize(robot, "48M");
        robot.clickOn("#shrinkBox");
        waitUntil(() -> window.resize().planProperty().get() != null);
        robot.clickOn("#applyButton");
        waitUntil(() -> robot.lookup("#confirmShrink").tryQuery().isPresent());
        assertThat(onFx(() -> robot.lookup("#shrinkDialog").queryAs(javafx.scene.control.DialogPane.class)
                .getContentText())).contains("3 MiB of data lies past the new end (at 52 MiB \u2026 55 MiB, bytes "
                        + "54,525,952 to 57,671,679) and will be lost", "last 16 MiB");
        robot.clickOn("#cancelShrink");
        waitUntil(() -> robot.lookup("#shrinkDialog").tryQuery().isEmpty());
        assertThat(sha(vdi)).isEqualTo(before);
        // shrinking only past free blocks: the map says no data is lost
        typeSize(robot, "60M");
        waitUntil(() -> window.resize().planProperty().get() != null
                && window.resize().planProperty().get().newVirtualSize() == 60L << 20);
        robot.clickOn("#applyButton");
        waitUntil(() -> robot.lookup("#confirmShrink").tryQuery().isPresent());
        assertThat(onFx(() -> robot.lookup("#shrinkDialog").queryAs(javafx.scene.control.DialogPane.class)
                .getContentText())).contains("No allocated data lies past the new end");
        robot.clickOn("#cancelShrink");
        waitUntil(() -> robot.lookup("#shrinkDialog").tryQuery().isEmpty());
        assertThat(sha(vdi)).isEqualTo(before);
    }

    @Test
    void thePlanTabListsEveryFileAlsoTheExtentsAShrinkRemoves(FxRobot robot) throws Exception {
        Path dir = Files.createDirectories(config.resolve("split"));
        Process p = new ProcessBuilder("qemu-img", "create", "-q", "-f", "vmdk", "-o", "subformat=twoGbMaxExtentFlat",
                "img.vmdk", "5G").directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).as(out).isZero();
        Path vmdk = dir.resolve("img.vmdk");
        onFx(() -> {
            window.open(vmdk);
            return null;
        });
        waitUntil(() -> window.image().image() != null && window.image().image().path().equals(vmdk)
                && window.image().workers().pendingProperty().get() == 0);
        typeSize(robot, "1G");
        robot.clickOn("#shrinkBox");
        waitUntil(() -> window.resize().planProperty().get() != null);
        var plan = window.resize().planProperty().get();
        robot.clickOn("#planTab");
        waitUntil(() -> !text(robot, "#planFiles").isEmpty());
        List<String> lines = List.of(text(robot, "#planFiles").split("\n"));
        assertThat(lines.get(0)).isEqualTo("Files: ");
        assertThat(lines).hasSize(plan.files().size() + 1);
        // 5G in 2 GiB extents: f001 keeps 1G, f002 and f003 lie wholly past the new end
        assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("img-f002.vmdk (extent): ")
                .contains("removed after the commit"));
        assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("img-f003.vmdk (extent): ")
                .contains("removed after the commit"));
        assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("img-f001.vmdk (extent): ")
                .doesNotContain("removed").contains("2 GiB \u2192 1 GiB", "only its length changes"));
        // the descriptor is the image file: the one the patches write
        assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("img.vmdk (image): ").contains("step writes it"));
        // a removed extent has no step of its own, yet it is listed
        assertThat(lines).anySatisfy(l -> assertThat(l).contains("removed after the commit", "no step writes it"));
    }

    @Test
    void theSameSizeGivesNoApply(FxRobot robot) {
        openSample(robot, sample("raw"));
        typeSize(robot, "64M");
        waitUntil(() -> window.resize().planProperty().get() != null);
        assertThat(onFx(() -> robot.lookup("#applyButton").queryButton().isDisabled())).isTrue();
        assertThat(text(robot, "#roundingNote")).isEqualTo(WindowWords.NO_OP);
    }

    @Test
    void aFormatThatCannotBeResizedSaysWhyInABanner(FxRobot robot) {
        Optional<Samples> unsupported = Samples.available().stream().filter(s -> java.util.Arrays.stream(
                org.diskplan.abi.ImageFormat.values()).noneMatch(f -> f.qemuName().equals(s.format())
                && Planners.canResize(f))).findFirst();
        org.junit.jupiter.api.Assumptions.assumeTrue(unsupported.isPresent(), "every sample format resizes");
        ProbedImage img = openSample(robot, unsupported.get());
        assertThat(visible(robot, "#cannotResizeBanner")).isTrue();
        assertThat(text(robot, "#cannotResizeBannerText")).isEqualTo(WindowWords.cannotResize(img.format()))
                .contains("cannot resize", "header field");
        openSample(robot, sample("raw"));
        assertThat(visible(robot, "#cannotResizeBanner")).isFalse();
    }

    @Test
    void afterTheFileChangedOneClickReloadsAndPlansTheSameSizeAgain(FxRobot robot) throws Exception {
        ProbedImage img = openSample(robot, sample("raw"));
        typeSize(robot, "+1M");
        try (java.io.RandomAccessFile raf = new java.io.RandomAccessFile(img.path().toFile(), "rw")) {
            raf.setLength(img.fileSize() + (1L << 20));
        }
        robot.clickOn("#applyButton");
        waitUntil(() -> robot.lookup("#confirmApply").tryQuery().isPresent());
        robot.clickOn("#confirmApply");
        waitUntil(() -> !window.apply().runningProperty().get() && window.apply().staleProperty().get());
        assertThat(visible(robot, "#staleBanner")).isTrue();
        assertThat(onFx(() -> robot.lookup("#applyButton").queryButton().isDisabled())).isTrue();
        robot.clickOn("#reloadAndPlan");
        waitUntil(() -> !window.apply().staleProperty().get() && window.resize().planProperty().get() != null
                && window.image().workers().pendingProperty().get() == 0);
        assertThat(onFx(() -> robot.lookup("#sizeField").queryAs(javafx.scene.control.TextField.class).getText()))
                .isEqualTo("+1M");
        // planned again from the file as it is now: 65 MiB + 1 MiB
        assertThat(window.resize().planProperty().get().newVirtualSize()).isEqualTo(66L << 20);
        assertThat(visible(robot, "#staleBanner")).isFalse();
        assertThat(onFx(() -> robot.lookup("#applyButton").queryButton().isDisabled())).isFalse();
    }

    @Test
    void aFailedOpenKeepsThePreviousImageAndAMissingRecentFileIsPruned(FxRobot robot) throws Exception {
        Path kept = Files.copy(sample("raw").write(), config.resolve("kept.raw"), StandardCopyOption.REPLACE_EXISTING);
        Path gone = Files.copy(sample("vpc").write(), config.resolve("gone.vpc"), StandardCopyOption.REPLACE_EXISTING);
        for (Path p : List.of(gone, kept)) {
            onFx(() -> {
                window.open(p);
                return null;
            });
            waitUntil(() -> window.image().image() != null && window.image().image().path().equals(p)
                    && window.image().workers().pendingProperty().get() == 0);
        }
        Files.delete(gone);
        onFx(() -> {
            window.open(gone);
            return null;
        });
        waitUntil(() -> !window.image().busyProperty().get() && visible(robot, "#openErrorBanner"));
        assertThat(window.image().image().path()).isEqualTo(kept);
        assertThat(onFx(() -> ((Stage) window.root().getScene().getWindow()).getTitle()))
                .isEqualTo("DiskPlan \u2014 kept.raw");
        assertThat(text(robot, "#summaryTitle")).isEqualTo("kept.raw");
        assertThat(text(robot, "#openErrorBannerText")).isEqualTo(WindowWords.recentMissing(gone));
        waitUntil(() -> !window.image().recent().items().contains(gone.toAbsolutePath().normalize()));
        // a file that is there but is no image: the banner says why, the previous image stays
        byte[] broken = new byte[20]; // a qcow2 magic and nothing after the first fields
        System.arraycopy(new byte[] {'Q', 'F', 'I', (byte) 0xfb}, 0, broken, 0, 4);
        Path empty = Files.write(config.resolve("empty.img"), broken);
        onFx(() -> {
            window.open(empty);
            return null;
        });
        waitUntil(() -> !window.image().busyProperty().get()
                && text(robot, "#openErrorBannerText").startsWith("Could not open empty.img"));
        assertThat(text(robot, "#openErrorBannerText")).endsWith("The image you had open stays open.");
        assertThat(window.image().image().path()).isEqualTo(kept);
        robot.clickOn("#dismissOpenError");
        waitUntil(() -> !visible(robot, "#openErrorBanner"));
    }

    // ---- damaged images (issue 19) ------------------------------------------------------

    /** Writes {@code value} big-endian as 8 bytes at {@code offset} of {@code file}. */
    private static void poke64(Path file, long offset, long value) throws Exception {
        try (java.io.RandomAccessFile raf = new java.io.RandomAccessFile(file.toFile(), "rw")) {
            raf.seek(offset);
            raf.writeLong(value);
        }
    }

    private void openAndWait(Path file) {
        onFx(() -> {
            window.open(file);
            return null;
        });
        waitUntil(() -> !window.image().busyProperty().get() && window.image().workers().pendingProperty().get() == 0
                && file.equals(window.image().fileProperty().get()));
    }

    /** The rows drawn with the :bad pseudo-class, as their field names. */
    @SuppressWarnings("unchecked")
    private static List<String> badRows(FxRobot robot) {
        return robot.lookup(".tree-table-row-cell").queryAll().stream()
                .filter(n -> n.getPseudoClassStates().stream().anyMatch(c -> c.getPseudoClassName().equals("bad")))
                .map(n -> ((javafx.scene.control.TreeTableRow<MainWindow.Row>) n).getItem())
                .filter(java.util.Objects::nonNull).map(r -> r.field().name()).toList();
    }

    @Test
    void aDamagedImageShowsTheFieldsParsedBeforeTheErrorAndMarksTheBadOne(FxRobot robot) throws Exception {
        openSample(robot, sample("raw"));
        Path vhd = Files.copy(sample("vpc").write(), config.resolve("damaged.vhd"), StandardCopyOption.REPLACE_EXISTING);
        // the footer copy's data_offset (offset 16) points far past the end of the file
        poke64(vhd, 16, 1L << 40);
        String before = sha(vhd);
        var error = org.assertj.core.api.Assertions.catchThrowableOfType(
                () -> ImageProber.probe(vhd, Optional.empty()), org.diskplan.probe.ProbeException.class);
        var partial = error.partial().orElseThrow();
        assertThat(partial.bad()).map(HeaderField::name).contains("data_offset");
        openAndWait(vhd);
        assertThat(window.image().damagedProperty().get()).isNotNull();
        assertThat(window.image().image()).isNull();
        // the banner says what is wrong, where, and that it cannot be resized
        assertThat(visible(robot, "#damagedBanner")).isTrue();
        assertThat(text(robot, "#damagedBannerText")).startsWith("Damaged: ").contains("data_offset", "offset 16",
                "DiskPlan cannot resize it; the fields parsed before the error are shown.");
        assertThat(visible(robot, "#openErrorBanner")).isFalse();
        assertThat(visible(robot, "#cannotResizeBanner")).isFalse();
        // every field parsed before the error, in the probe's order, the bad one marked
        List<String> expected = partial.fields().stream().map(f -> f.name() + " @ " + (f.length() == 0 ? ""
                : SizeText.hex(f.offset())) + " = " + f.value()).toList();
        assertThat(expected).isNotEmpty();
        assertThat(onFx(() -> inspectorRows(robot))).containsExactlyElementsOf(expected);
        waitUntil(() -> !badRows(robot).isEmpty());
        assertThat(onFx(() -> badRows(robot))).containsExactly("data_offset");
        HeaderField bad = partial.bad().orElseThrow();
        waitUntil(() -> window.hexView().window().size() > 0);
        assertThat(onFx(() -> window.hexView().window().markedHex())).isEqualTo(bad.hex());
        @SuppressWarnings("unchecked")
        TreeTableView<MainWindow.Row> tree = onFx(() -> robot.lookup("#inspector").queryAs(TreeTableView.class));
        String meaning = onFx(() -> tree.getColumns().get(4).getCellObservableValue(
                tree.getSelectionModel().getSelectedItem()).getValue().toString());
        assertThat(meaning).startsWith("\u2717 ").contains("lies outside the file", bad.meaning());
        // the layout shows the structures parsed, and the Resize panel is off with the reason
        assertThat(onFx(() -> window.layoutMap().nowScale().fileSize())).isEqualTo(Files.size(vhd));
        assertThat(onFx(() -> robot.lookup("#sizeField").query().isDisabled())).isTrue();
        assertThat(visible(robot, "#resizeRefusal")).isTrue();
        assertThat(text(robot, "#resizeRefusal")).startsWith("DiskPlan cannot resize a damaged image: ")
                .contains("data_offset");
        assertThat(text(robot, "#summary-damaged")).isEqualTo("data_offset at 0x10");
        assertThat(sha(vhd)).isEqualTo(before);
        // an image that opens whole takes the banner and the marks away
        openSample(robot, sample("raw"));
        assertThat(visible(robot, "#damagedBanner")).isFalse();
        assertThat(visible(robot, "#resizeRefusal")).isFalse();
        assertThat(onFx(() -> robot.lookup("#sizeField").query().isDisabled())).isFalse();
        assertThat(onFx(() -> badRows(robot))).isEmpty();
    }

    @Test
    void aQcow2FlaggedCorruptThatQemuOpensShowsEveryFieldTheFlagAndTheBadField(FxRobot robot) throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Planners.canResize(org.diskplan.abi.ImageFormat.QCOW2));
        Path qcow2 = Files.copy(sample("qcow2").write(), config.resolve("l1-past-end.qcow2"),
                StandardCopyOption.REPLACE_EXISTING);
        poke64(qcow2, 40, 1L << 40); // l1_table_offset: a cluster-aligned offset past the end of the file
        Process p = new ProcessBuilder("qemu-img", "info", qcow2.toString()).redirectErrorStream(true).start();
        String info = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).as("qemu-img info opens it: %s", info).isZero();
        String before = sha(qcow2);
        ProbedImage probed = ImageProber.probe(qcow2, Optional.empty());
        assertThat(probed.flags()).anySatisfy(f -> assertThat(f).startsWith("corrupt:").contains("l1_table_offset"));
        openAndWait(qcow2);
        assertThat(window.image().image()).isNotNull();
        assertThat(onFx(() -> inspectorRows(robot))).hasSize(probed.fields().size())
                .contains("l1_table_offset @ 0x28 = " + (1L << 40) + " (0x10000000000)");
        assertThat(text(robot, "#summary-flags")).contains("corrupt:", "l1_table_offset");
        assertThat(visible(robot, "#damagedBanner")).isTrue();
        assertThat(text(robot, "#damagedBannerText")).startsWith("Damaged: qcow2 header field l1_table_offset at "
                + "offset 40: ").contains("beyond the end of the file", "every field it could read is shown")
                .doesNotContain("will not resize it:");
        waitUntil(() -> !badRows(robot).isEmpty());
        assertThat(onFx(() -> badRows(robot))).containsExactly("l1_table_offset");
        assertThat(onFx(() -> robot.lookup("#sizeField").query().isDisabled())).isTrue();
        assertThat(text(robot, "#resizeRefusal")).contains("damaged", "l1_table_offset");
        assertThat(text(robot, "#summary-resize")).isEqualTo("refused");
        @SuppressWarnings("unchecked")
        TreeTableView<MainWindow.Row> tree = onFx(() -> robot.lookup("#inspector").queryAs(TreeTableView.class));
        assertThat(onFx(() -> tree.getColumns().get(4).getCellObservableValue(tree.getSelectionModel()
                .getSelectedItem()).getValue().toString())).startsWith("\u2717 qcow2 header field l1_table_offset at "
                + "offset 40: ").doesNotContain("will not resize it");
        assertThat(sha(qcow2)).isEqualTo(before);
    }

    // ---- the layout map marks the data a shrink cuts (issue 19) --------------------------

    /** How many pixels of the lower half of the "now" bar have the colour of cut data. */
    private int cutPixels() {
        WritableImage frame = onFx(() -> window.layoutMap().nowBar().canvas().snapshot(null, null));
        int y = (int) Math.round((frame.getHeight() - 13) * 0.75);
        int n = 0;
        for (int x = 0; x < (int) frame.getWidth(); x++) {
            if (frame.getPixelReader().getColor(x, y).equals(Palette.CUT)) {
                n++;
            }
        }
        return n;
    }

    @Test
    void theLayoutMapMarksTheAllocatedDataAShrinkWouldCut(FxRobot robot) throws Exception {
        Path vdi = Files.copy(sample("vdi").write(), config.resolve("cut.vdi"), StandardCopyOption.REPLACE_EXISTING);
        // 3 MiB of guest data at 52 MiB (1 MiB blocks 52..54) and 1 MiB at 8 MiB
        for (String cmd : List.of("write -P 0x5a 52M 3M", "write -P 0x33 8M 1M")) {
            Process p = new ProcessBuilder("qemu-io", "-f", "vdi", "-c", cmd, vdi.toString())
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            assertThat(p.waitFor()).as(out).isZero();
        }
        openAndWait(vdi);
        ProbedImage img = window.image().image();
        assertThat(cutPixels()).isZero();
        typeSize(robot, "48M");
        robot.clickOn("#shrinkBox");
        waitUntil(() -> window.resize().cutProperty().get() != null && window.image().workers().pendingProperty()
                .get() == 0);
        var cut = window.resize().cutProperty().get();
        assertThat(cut.bytes()).isEqualTo(3L << 20);
        // the cut bytes are data blocks of the file, not the header or the block map
        assertThat(cut.ranges()).isNotEmpty().allSatisfy(r -> assertThat(img.regions()).anySatisfy(reg -> {
            assertThat(reg.kind()).isEqualTo(org.diskplan.probe.RegionKind.DATA);
            assertThat(reg.offset() <= r.start() && r.end() <= reg.end()).isTrue();
        }));
        waitUntil(() -> !window.layoutMap().cutSpans().isEmpty());
        assertThat(cutPixels()).isPositive();
        // each range is drawn where the bar's scale puts its file offsets
        var scale = onFx(() -> window.layoutMap().nowScale());
        List<double[]> spans = onFx(() -> window.layoutMap().cutSpans());
        assertThat(spans).hasSize(cut.ranges().size());
        for (int k = 0; k < spans.size(); k++) {
            assertThat(spans.get(k)[0]).isEqualTo(scale.x(cut.ranges().get(k).start()));
            assertThat(spans.get(k)[1]).isGreaterThanOrEqualTo(scale.x(cut.ranges().get(k).end()));
        }
        assertThat(visible(robot, "#cutLegend")).isTrue();
        assertThat(text(robot, "#cutLegend")).isEqualTo("data the shrink cuts \u00b7 3 MiB");
        // a shrink past free blocks only cuts no data: nothing marked
        typeSize(robot, "60M");
        waitUntil(() -> window.resize().cutProperty().get() != null
                && window.resize().planProperty().get().newVirtualSize() == 60L << 20);
        assertThat(window.resize().cutProperty().get().bytes()).isZero();
        waitUntil(() -> window.layoutMap().cutSpans().isEmpty());
        assertThat(cutPixels()).isZero();
        assertThat(robot.lookup("#cutLegend").tryQuery()).isEmpty();
        // a grow cuts nothing
        typeSize(robot, "+1M");
        waitUntil(() -> window.resize().planProperty().get() != null);
        assertThat(window.resize().cutProperty().get()).isNull();
        assertThat(cutPixels()).isZero();
    }

    @Test
    void aRawShrinkMarksTheFilesTail(FxRobot robot) {
        ProbedImage img = openSample(robot, sample("raw"));
        typeSize(robot, "48M");
        robot.clickOn("#shrinkBox");
        waitUntil(() -> window.resize().cutProperty().get() != null && !window.layoutMap().cutSpans().isEmpty());
        assertThat(window.resize().cutProperty().get().ranges()).containsExactly(
                new org.diskplan.probe.GuestAllocation.Range(48L << 20, img.fileSize()));
        double[] span = onFx(() -> window.layoutMap().cutSpans().get(0));
        double width = onFx(() -> window.layoutMap().nowBar().getWidth());
        assertThat(span[1]).isCloseTo(width, org.assertj.core.data.Offset.offset(1.0));
        assertThat(cutPixels()).isPositive();
    }

    // ---- the hex panes at the smallest and a large window (issue 19) ----------------------

    private void resizeStage(double width, double height) {
        onFx(() -> {
            Stage st = (Stage) window.root().getScene().getWindow();
            st.setMinWidth(0);
            st.setMinHeight(0);
            st.setWidth(width);
            st.setHeight(height);
            return null;
        });
        WaitForAsyncUtils.waitForFxEvents();
        waitUntil(() -> Math.abs(window.root().getScene().getWidth() - width) < 40);
        onFx(() -> {
            window.root().getScene().getRoot().layout();
            return null;
        });
        WaitForAsyncUtils.waitForFxEvents();
    }

    /** A node's bounds in the scene. */
    private static javafx.geometry.Bounds inScene(javafx.scene.Node n) {
        return onFx(() -> n.localToScene(n.getBoundsInLocal()));
    }

    @Test
    void theHexPanesFillALargeWindowAndAfterIsReachableInASmallOne(FxRobot robot) {
        openSample(robot, sample("raw"));
        robot.clickOn("#preallocation").clickOn("full");
        typeSize(robot, "+8M");
        robot.clickOn("#planTab");
        waitUntil(() -> window.timeline().steps() == 2);
        robot.clickOn(window.timelineView().surface());
        robot.type(KeyCode.HOME);
        waitUntil(() -> window.diffAfter().window().size() > 0);
        var panes = onFx(() -> (MainWindow.DiffPanes) robot.lookup("#diffPanes").query());
        javafx.scene.Node beforePane = onFx(() -> window.diffBefore().getParent().getParent().getParent());
        javafx.scene.Node afterPane = onFx(() -> window.diffAfter().getParent().getParent().getParent());
        double defaultHeight = inScene(beforePane).getHeight();
        // a large window (the headless screen's 1600x1000; bench/screenshots.sh shows 1920x1080):
        // side by side, each wider than its hex rows and taller than in the default window
        resizeStage(1600, 1000);
        waitUntil(() -> panes.sideBySide() && inScene(beforePane).getHeight() > defaultHeight + 100);
        var b = inScene(beforePane);
        var a = inScene(afterPane);
        assertThat(a.getMinX()).isGreaterThan(b.getMaxX());
        assertThat(Math.abs(a.getMinY() - b.getMinY())).isLessThan(1.0);
        assertThat(b.getWidth()).isGreaterThan(onFx(() -> window.diffBefore().getMinWidth()) + 100);
        assertThat(b.getHeight()).isGreaterThan(HexView.rowsHeight(16));
        // 1024x640: After below Before, and the tab scrolls to show it whole with its rows
        resizeStage(1024, 640);
        waitUntil(() -> !panes.sideBySide());
        var scroll = onFx(() -> robot.lookup("#planScroll").queryAs(javafx.scene.control.ScrollPane.class));
        onFx(() -> {
            scroll.setVvalue(scroll.getVmax());
            scroll.layout();
            return null;
        });
        WaitForAsyncUtils.waitForFxEvents();
        var viewport = onFx(() -> scroll.localToScene(scroll.getBoundsInLocal()));
        var after = inScene(afterPane);
        assertThat(after.getMinY()).isGreaterThan(inScene(beforePane).getMaxY() - 1);
        assertThat(after.getMinY()).isGreaterThanOrEqualTo(viewport.getMinY());
        assertThat(after.getMaxY()).isLessThanOrEqualTo(viewport.getMaxY() + 1);
        assertThat(after.getHeight()).isGreaterThanOrEqualTo(HexView.rowsHeight(3));
        assertThat(after.getMaxX()).isLessThanOrEqualTo(viewport.getMaxX() + 1);
    }

    // ---- the per-file lanes of a multi-file plan (issue 15) --------------------------------

    @Test
    void aMultiFilePlanShowsWhichFileEachStepWritesInItsOwnLane(FxRobot robot) throws Exception {
        Path dir = Files.createDirectories(config.resolve("lanes"));
        Process p = new ProcessBuilder("qemu-img", "create", "-q", "-f", "vmdk", "-o", "subformat=twoGbMaxExtentFlat",
                "img.vmdk", "3G").directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).as(out).isZero();
        Path vmdk = dir.resolve("img.vmdk");
        openAndWait(vmdk);
        typeSize(robot, "1G");
        robot.clickOn("#shrinkBox");
        waitUntil(() -> window.resize().planProperty().get() != null);
        var plan = window.resize().planProperty().get();
        assertThat(plan.files()).hasSizeGreaterThan(1);
        robot.clickOn("#planTab");
        waitUntil(() -> window.timeline().steps() == plan.patches().size() + 1);
        assertThat(window.timeline().lanes()).isEqualTo(plan.files().size());
        waitUntil(() -> window.timelineView().surface().getHeight() == TimelineView.height(plan.files().size()));
        WaitForAsyncUtils.waitForFxEvents();
        WritableImage frame = onFx(() -> window.timelineView().surface().canvas().snapshot(null, null));
        int marks = 0;
        for (int s = 0; s < window.timeline().steps(); s++) {
            int step = s;
            int x = (int) Math.round(onFx(() -> window.timeline().x(step) + window.timeline().slot() / 2));
            if (x < 0 || x >= frame.getWidth()) {
                continue;
            }
            int file = s < plan.patches().size() ? plan.patches().get(s).file() : -1;
            for (int lane = 0; lane < plan.files().size(); lane++) {
                var f = plan.files().get(lane);
                boolean marked = file == lane || (file < 0 && (f.newLength() != f.oldLength() || f.created()
                        || f.removed()));
                Color c = frame.getPixelReader().getColor(x, (int) (TimelineView.laneY(lane) + TimelineView.LANE_H / 2));
                if (marked) {
                    marks++;
                    assertThat(c).as("step %d, lane %d (%s)", s, lane, f.path().getFileName())
                            .isEqualTo(Palette.of(window.timeline().kind(s)));
                } else {
                    assertThat(c).as("step %d, lane %d (%s)", s, lane, f.path().getFileName())
                            .isNotEqualTo(Palette.of(window.timeline().kind(s)));
                }
            }
        }
        assertThat(marks).isGreaterThanOrEqualTo(2);
        // this planner offers only preallocation "off": the choice box shows it (it showed nothing)
        assertThat(onFx(() -> robot.lookup("#preallocation").queryAs(javafx.scene.control.ChoiceBox.class)
                .getValue())).isEqualTo(org.diskplan.abi.Preallocation.OFF);
        // a one-file plan has no lanes
        openSample(robot, sample("raw"));
        typeSize(robot, "+1M");
        waitUntil(() -> window.resize().planProperty().get() != null && window.timeline().steps() > 0);
        assertThat(window.timeline().lanes()).isZero();
        waitUntil(() -> window.timelineView().surface().getHeight() == TimelineView.HEIGHT);
    }

    // ---- a VHDX left with a log to replay (issue 14) -------------------------------------

    /** Stops the applier where a crash would. */
    private static final class Stop extends RuntimeException {
        private static final long serialVersionUID = 1L;
    }

    @Test
    void aVhdxWithALogLeftToReplayShowsItInTheFlagsRow(FxRobot robot) throws Exception {
        Path vhdx = config.resolve("dirty-log.vhdx");
        Files.deleteIfExists(vhdx);
        new org.diskplan.probe.vhdx.VhdxSampleWriter().write(vhdx, 64L << 20, java.util.Map.of("block_size", "1M"));
        ProbedImage clean = ImageProber.probe(vhdx, Optional.empty());
        assertThat(clean.flags()).noneMatch(f -> f.startsWith("log needs replay"));
        // a resize stopped right after its header commit: the header's log GUID names a live entry
        org.diskplan.planner.ResizePlan plan = org.diskplan.planner.ResizeSession.planFile(vhdx, Optional.empty(),
                p -> new org.diskplan.planner.ResizeRequest(512L << 20, false, org.diskplan.abi.Preallocation.OFF));
        try {
            PlanApplier.apply(vhdx, plan, ApplyOptions.DEFAULT.withAfterStep(step -> {
                if (step == plan.commitIndex()) {
                    throw new Stop();
                }
            }));
            throw new AssertionError("the applier did not reach the commit");
        } catch (Stop expected) {
            // stopped with the log live
        }
        Files.deleteIfExists(UndoJournal.pathFor(vhdx));
        ProbedImage probed = ImageProber.probe(vhdx, Optional.empty());
        assertThat(((org.diskplan.probe.vhdx.VhdxHeader) probed.header()).logNeedsReplay()).isTrue();
        String flag = probed.flags().stream().filter(f -> f.startsWith("log needs replay")).findFirst().orElseThrow();
        assertThat(flag).startsWith("log needs replay (1 valid log entry");
        String before = sha(vhdx);
        openAndWait(vhdx);
        assertThat(window.image().image()).isNotNull();
        assertThat(text(robot, "#summary-flags")).contains(flag);
        assertThat(visible(robot, "#summary-flags")).isTrue();
        // showing it writes nothing: the replay is the next resize's business
        assertThat(sha(vhdx)).isEqualTo(before);
        // a clean image shows no such flag
        openSample(robot, sample("raw"));
        assertThat(text(robot, "#summary-flags")).doesNotContain("log needs replay");
    }
}
