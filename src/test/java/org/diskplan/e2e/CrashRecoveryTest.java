package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import org.assertj.core.api.SoftAssertions;
import org.diskplan.e2e.Images.Start;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Crash-prefix injection: {@code DISKPLAN_TEST_CRASH_AFTER_PATCH=k} halts a resize right
 * after step k (-1: journal written, nothing changed; 0..n-1: after patch k; n: after
 * the final length, before the journal is removed). For every k the journal must be
 * there, every other command must refuse the file and point at {@code diskplan recover},
 * and {@code diskplan recover} must bring back the original byte for byte.
 */
class CrashRecoveryTest {

    static final String FILE = "disk.raw";

    record Scenario(String name, Start start, List<String> options, String size) {
        List<String> resizeArgs() {
            return args("resize");
        }

        List<String> args(String command, String... extra) {
            List<String> a = new ArrayList<>();
            a.add(command);
            a.addAll(options);
            a.addAll(List.of(extra));
            a.add(FILE);
            if (size.startsWith("-")) {
                a.add("--");
            }
            a.add(size);
            return a;
        }
    }

    static final List<Scenario> SCENARIOS = List.of(
            new Scenario("raw grow, preallocation off", Start.PATTERN_1M, List.of("-f", "raw"), "2M"),
            new Scenario("raw grow, preallocation full", Start.PATTERN_1M, List.of("-f", "raw", "--preallocation=full"), "2M"),
            new Scenario("raw grow, preallocation falloc", Start.PATTERN_1M, List.of("-f", "raw", "--preallocation=falloc"), "+1M"),
            new Scenario("raw shrink with --shrink", Start.PATTERN_1M, List.of("-f", "raw", "--shrink"), "512K"),
            new Scenario("raw shrink to a non-multiple of 512 with --shrink", Start.PATTERN_1M, List.of("-f", "raw", "--shrink"), "600000"),
            new Scenario("empty raw file grown to 1M", Start.EMPTY, List.of("-f", "raw"), "1M"),
            new Scenario("1000-byte raw file grown to 1M, preallocation full", Start.BYTES_1000,
                    List.of("-f", "raw", "--preallocation=full"), "1M"));

    @TempDir
    Path tmp;

    @TestFactory
    Stream<DynamicNode> crashAfterEveryStepIsRecoverable() throws IOException {
        List<DynamicNode> containers = new ArrayList<>();
        int s = 0;
        for (Scenario sc : SCENARIOS) {
            int scenarioIndex = s++;
            // The plan is made on a pristine copy, which then stays as the reference original.
            Path original = Files.createDirectory(tmp.resolve("s" + scenarioIndex)).resolve(FILE);
            sc.start().createAt(original);
            JsonNode plan = Json.object(Diskplan.run(original.getParent(), sc.args("plan", "--output=json")));
            int n = plan.get("patches").size();
            boolean fileShrinks = plan.get("new_file_size").asLong() < plan.get("old_file_size").asLong();
            containers.add(DynamicContainer.dynamicContainer(sc.name() + " (n = " + n + " patches)",
                    IntStream.rangeClosed(-1, n).mapToObj(k -> DynamicTest.dynamicTest(
                            "crash after step " + k + describeStep(k, n),
                            () -> crashThenRecover(sc, k, n, fileShrinks, original,
                                    tmp.resolve("s" + scenarioIndex + "k" + (k + 1)))))));
        }
        return containers.stream();
    }

    private static String describeStep(int k, int n) {
        if (k == -1) {
            return " (journal written, nothing changed)";
        }
        if (k == n) {
            return " (final length set, journal not yet removed)";
        }
        return " (patch " + k + " of 0.." + (n - 1) + ")";
    }

    private void crashThenRecover(Scenario sc, int k, int n, boolean fileShrinks, Path original, Path dir)
            throws IOException {
        Files.createDirectory(dir);
        Path image = dir.resolve(FILE);
        sc.start().createAt(image); // the original's bytes, sparse like it
        assertThat(Images.difference(image, original)).as("test setup").isNull();
        Path journal = Diskplan.journalOf(image);

        ProcessRunner.Result crash = Diskplan.run(dir, Map.of(Diskplan.CRASH_ENV, Integer.toString(k)),
                sc.resizeArgs());
        assertThat(crash.exitCode()).as("halted with 137\n" + crash.describe()).isEqualTo(Diskplan.CRASH_EXIT);
        assertThat(journal).as("journal after a crash\n" + crash.describe()).exists();
        byte[] crashed = Images.read(image);

        SoftAssertions soft = new SoftAssertions();
        for (List<String> refused : List.of(
                sc.resizeArgs(),
                sc.args("plan", "--output=json"),
                List.of("info", "-f", "raw", FILE),
                List.of("info", FILE))) {
            ProcessRunner.Result r = Diskplan.run(dir, refused);
            soft.assertThat(r.exitCode()).as("refuses a file with a journal\n" + r.describe()).isEqualTo(1);
            soft.assertThat(r.stderr()).as("points at diskplan recover\n" + r.describe()).contains("diskplan recover");
        }
        soft.assertThat(Images.read(image)).as("refusing commands left the crashed file as it was").isEqualTo(crashed);
        soft.assertThat(journal).as("refusing commands kept the journal").exists();
        soft.assertAll();

        ProcessRunner.Result recover = Diskplan.run(dir, "recover", FILE);
        String ctx = "\nscenario: " + sc.name() + ", crash after step " + k + " of -1.." + n + "\n" + recover.describe();
        assertThat(recover.exitCode()).as("recover succeeds" + ctx).isZero();
        assertThat(journal).as("recover removes the journal" + ctx).doesNotExist();
        if (k == n && fileShrinks) {
            // The file was already cut: the cut bytes are gone, every patch was written, so
            // recovery keeps the finished resize instead of half-restoring it.
            Path reference = Files.createDirectory(dir.resolveSibling(dir.getFileName() + "-ref")).resolve(FILE);
            sc.start().createAt(reference);
            ProcessRunner.Result done = Diskplan.run(reference.getParent(), sc.resizeArgs());
            assertThat(done.exitCode()).as("uninterrupted resize\n" + done.describe()).isZero();
            assertThat(recover.stdout()).as("says it kept the finished resize" + ctx).contains("had already completed");
            assertThat(Images.difference(image, reference)).as("equals the uninterrupted resize" + ctx).isNull();
            return;
        }
        assertThat(Images.length(image)).as("length restored" + ctx).isEqualTo(Images.length(original));
        assertThat(Images.difference(image, original)).as("bytes restored" + ctx).isNull();
    }

    @Test
    void recoverWithoutJournalFails() {
        Path image = tmp.resolve(FILE);
        Start.PATTERN_1M.createAt(image);
        Images.setOldMtime(image);
        Images.Snapshot before = Images.Snapshot.of(image);
        ProcessRunner.Result r = Diskplan.run(tmp, "recover", FILE);
        assertThat(r.exitCode()).as(r.describe()).isEqualTo(1);
        assertThat(r.stderr()).as(r.describe()).startsWith("diskplan: ");
        assertThat(before.difference()).as(r.describe()).isNull();
    }

    @Test
    void recoveredFileCanBeResizedAgain() throws IOException {
        Path dir = Files.createDirectory(tmp.resolve("again"));
        Path image = dir.resolve(FILE);
        Start.PATTERN_1M.createAt(image);
        ProcessRunner.Result crash = Diskplan.run(dir, Map.of(Diskplan.CRASH_ENV, "0"), List.of("resize", "-f", "raw", FILE, "2M"));
        assertThat(crash.exitCode()).as(crash.describe()).isEqualTo(Diskplan.CRASH_EXIT);
        ProcessRunner.Result recover = Diskplan.run(dir, "recover", FILE);
        assertThat(recover.exitCode()).as(recover.describe()).isZero();

        ProcessRunner.Result resize = Diskplan.run(dir, "resize", "-f", "raw", FILE, "2M");
        assertThat(resize.exitCode()).as(resize.describe()).isZero();
        assertThat(resize.stdout()).isEqualTo("Image resized.\n");
        assertThat(Images.length(image)).isEqualTo(2L * Images.MIB);
        assertThat(Diskplan.journalOf(image)).doesNotExist();
    }
}
