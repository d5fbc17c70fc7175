package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import javafx.scene.control.Label;
import javafx.scene.input.KeyCode;
import javafx.stage.Stage;
import org.diskplan.app.fx.DiskPlanApp;
import org.diskplan.app.fx.MainWindow;
import org.diskplan.app.fx.model.Samples;
import org.diskplan.app.fx.model.SizeText;
import org.diskplan.planner.Planners;
import org.diskplan.probe.ImageProber;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.testfx.api.FxRobot;
import org.testfx.framework.junit5.ApplicationExtension;
import org.testfx.framework.junit5.Start;
import org.testfx.util.WaitForAsyncUtils;

/**
 * An image grown through the window (typed size, Apply, confirm; headless Monocle) is
 * one qemu-img accepts: qemu-img check passes where the format has checks, and
 * qemu-img info reports the size the window shows. Every sample whose format DiskPlan
 * can resize is grown, so qcow2 joins as soon as its planner does.
 */
@RequiresOracle("qemu-img")
@ExtendWith(ApplicationExtension.class)
@Execution(ExecutionMode.SAME_THREAD)
class WindowResizeOracleTest {
    private static final Set<String> CHECKED = Set.of("vhdx", "vmdk", "qcow2", "qed", "vdi");

    @TempDir
    static Path config;

    private MainWindow window;

    @Start
    void start(Stage stage) {
        window = DiskPlanApp.show(stage, config.resolve("recent-files"));
    }

    /** Samples of the formats DiskPlan resizes (raw at least). */
    static Stream<Samples> resizable() throws Exception {
        List<Samples> out = new java.util.ArrayList<>();
        for (Samples s : Samples.available()) {
            Path p = s.write();
            if (Planners.canResize(ImageProber.probe(p, Optional.empty()).format()) && !refused(p)) {
                out.add(s);
            }
        }
        assertThat(out).extracting(Samples::format).contains("raw");
        return out.stream();
    }

    /** A subformat its format's planner refuses as a whole (VMDK streamOptimized). */
    private static boolean refused(Path p) {
        try {
            org.diskplan.planner.ResizeSession.planFile(p, Optional.empty(), i -> new org.diskplan.planner.ResizeRequest(
                    i.virtualSize() + (64L << 20), false, org.diskplan.abi.Preallocation.OFF));
            return false;
        } catch (org.diskplan.planner.ResizeError e) {
            return e.code() == org.diskplan.abi.ErrorCode.UNSUPPORTED_SUBFORMAT;
        } catch (Exception e) {
            return false;
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("resizable")
    void growThroughTheWindowAndQemuImgAgrees(Samples sample, FxRobot robot) throws Exception {
        Path file = sample.write();
        fx(() -> {
            window.open(file);
            return null;
        });
        waitUntil(() -> window.image().image() != null && !window.image().busyProperty().get());
        org.diskplan.probe.ProbedImage opened = window.image().image();
        long before = opened.virtualSize();
        robot.clickOn("#sizeField").write("+64M");
        waitUntil(() -> window.resize().planProperty().get() != null);
        long planned = window.resize().planProperty().get().newVirtualSize();
        // where the format rounds (VHD to a size its CHS geometry holds), the window says so before Apply
        long asked = before + (64L << 20);
        String note = fx(() -> robot.lookup("#roundingNote").queryAs(Label.class).getText());
        assertThat(note).isEqualTo(planned == asked ? "" : "You asked for " + SizeText.exact(asked)
                + "; the image will be " + SizeText.exact(planned) + ".");
        if (sample.format().equals("vpc")) {
            assertThat(planned).as("the VHD sample's +64M is not CHS-exact, so this test sees a rounding")
                    .isNotEqualTo(asked);
        }
        robot.clickOn("#applyButton");
        waitUntil(() -> robot.lookup("#confirmApply").tryQuery().isPresent());
        robot.type(KeyCode.ENTER);
        waitUntil(() -> window.image().image() != null && window.image().image().virtualSize() != before);
        String shown = fx(() -> robot.lookup("#summary-virtual-size").queryAs(Label.class).getText());
        assertThat(shown).isEqualTo(SizeText.human(planned));

        String format = window.image().image().format().qemuName();
        if (CHECKED.contains(format)) {
            ProcessRunner.Result check = Qemu.img(file.getParent(), "check", "-f", format, file.toString());
            assertThat(check.exitCode()).as(check.describe()).isZero();
            assertThat(check.stdout()).as(check.describe()).contains("No errors were found on the image.");
        }
        ProcessRunner.Result info = Qemu.img(file.getParent(), "info", "--output=json", "-f", format,
                file.toString());
        assertThat(info.exitCode()).as(info.describe()).isZero();
        JsonNode json = Json.object(info);
        // the size the format gives for +64M (VHD rounds up to an exact CHS geometry)
        assertThat(Json.longField(json, "virtual-size")).isEqualTo(planned)
                .isEqualTo(Planners.effectiveSize(opened, before + (64L << 20)));
        assertThat(Files.exists(file.resolveSibling(file.getFileName() + Diskplan.JOURNAL_SUFFIX))).isFalse();
    }

    private static void waitUntil(BooleanSupplier condition) throws TimeoutException {
        WaitForAsyncUtils.waitFor(30, TimeUnit.SECONDS, () -> fx(condition::getAsBoolean));
        WaitForAsyncUtils.waitForFxEvents();
    }

    private static <T> T fx(Callable<T> c) {
        try {
            return WaitForAsyncUtils.asyncFx(c).get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
