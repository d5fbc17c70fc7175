package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * The ending the {@code *OverlapRefusalTest} classes share: DiskPlan refuses a damaged image in
 * one line, leaves every file of its folder byte for byte as it was, and {@code info} still shows
 * the image.
 */
final class OverlapRefusal {
    private OverlapRefusal() {
    }

    /**
     * Runs {@code diskplan resize <resizeArgs>} in {@code dir}: exit status 1, {@code stderr} one line
     * (no stack trace) that {@code words} accepts, every file of {@code dir} unchanged. Then
     * {@code diskplan info <image>} must exit 0; its output is returned for the flag checks.
     */
    static String refusedThenShown(Path dir, String image, List<String> resizeArgs,
                                   Consumer<ProcessRunner.Result> words) throws IOException {
        Map<Path, byte[]> before = contents(dir);
        List<String> args = new ArrayList<>(List.of("resize"));
        args.addAll(resizeArgs);
        ProcessRunner.Result d = Diskplan.run(dir, args);
        assertThat(d.exitCode()).as(d.describe()).isEqualTo(1);
        words.accept(d);
        assertThat(d.stderr().lines().count()).as("one line, no stack trace\n" + d.describe()).isEqualTo(1);
        Map<Path, byte[]> after = contents(dir);
        assertThat(after.keySet()).as("no file made or removed").containsExactlyElementsOf(before.keySet());
        for (Map.Entry<Path, byte[]> e : before.entrySet()) {
            assertThat(after.get(e.getKey())).as(e.getKey() + " is unchanged").isEqualTo(e.getValue());
        }

        ProcessRunner.Result info = Diskplan.run(dir, List.of("info", image));
        assertThat(info.exitCode()).as(info.describe()).isZero();
        return info.stdout();
    }

    /** Every regular file of {@code dir} (links followed), by name, in name order. */
    private static Map<Path, byte[]> contents(Path dir) throws IOException {
        Map<Path, byte[]> out = new LinkedHashMap<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : files.sorted().toList()) {
                if (Files.isRegularFile(p)) {
                    out.put(p.getFileName(), Files.readAllBytes(p));
                }
            }
        }
        return out;
    }
}
