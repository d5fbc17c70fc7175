package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code java -jar diskplan.jar FILE} opens a real window (GTK under Xvfb, as on a
 * desktop) whose title names DiskPlan and the file; the title is read from the X server
 * with xwininfo and xprop, as a window manager would. Without Xvfb the test is skipped
 * visibly; CI (CI=true) fails instead, and .ci/run installs the tools.
 */
@RequiresOracle({"xvfb-run", "xwininfo", "xprop"})
class WindowTitleTest {
    /** Polls the X server for a DiskPlan window and prints its _NET_WM_NAME once it names the file. */
    private static final String SCRIPT = """
            "$JAVA" -Ddiskplan.config.dir="$CONFIG" -jar "$JAR" "$IMAGE" >"$CONFIG/out" 2>&1 &
            pid=$!
            i=0
            while [ $i -lt 240 ]; do
              for id in $(xwininfo -root -tree | grep -F DiskPlan | awk '{print $1}'); do
                name=$(xprop -id "$id" _NET_WM_NAME 2>/dev/null || true)
                case "$name" in *"$EXPECT"*) echo "$name"; kill $pid; wait $pid 2>/dev/null; exit 0;; esac
              done
              kill -0 $pid 2>/dev/null || { echo "diskplan exited:"; cat "$CONFIG/out"; exit 1; }
              sleep 0.25; i=$((i + 1))
            done
            echo "no window titled '$EXPECT' within 60 s:"; xwininfo -root -tree; cat "$CONFIG/out"
            kill $pid; exit 1
            """;

    @TempDir
    Path dir;

    @Test
    void theWindowIsTitledWithTheFileName() throws Exception {
        Path image = dir.resolve("growing disk.raw");
        Files.write(image, new byte[1 << 20]);
        Path config = Files.createDirectories(dir.resolve("config"));
        ProcessRunner.Result r = ProcessRunner.of(List.of(Oracles.require("xvfb-run").toString(), "-a", "-s",
                        "-screen 0 1400x900x24", "sh", "-c", SCRIPT))
                .in(dir)
                .env("JAVA", Path.of(System.getProperty("java.home"), "bin", "java").toString())
                .env("JAR", Diskplan.jar().toString())
                .env("IMAGE", image.toString())
                .env("CONFIG", config.toString())
                .env("EXPECT", "DiskPlan — growing disk.raw")
                .timeout(Duration.ofSeconds(120))
                .run();
        assertThat(r.exitCode()).as(r.describe()).isZero();
        assertThat(r.stdout()).contains("_NET_WM_NAME(UTF8_STRING) = \"DiskPlan — growing disk.raw\"");
    }
}
