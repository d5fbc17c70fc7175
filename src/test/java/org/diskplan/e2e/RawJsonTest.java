package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import org.assertj.core.api.SoftAssertions;
import org.diskplan.e2e.Images.Start;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The JSON outputs on raw images: {@code resize --output=json} describes what happened
 * to the file, and {@code plan --output=json --with-data}, replayed patch by patch on a
 * copy, gives exactly the bytes {@code resize} gives, while leaving its file untouched.
 */
class RawJsonTest {

    static final String FILE = "disk.raw";
    static final Set<String> KINDS = Set.of("write", "append", "zero");

    record Case(String name, Start start, String action, List<String> options, String size) {
        @Override
        public String toString() {
            return name + "  [" + start + ": " + String.join(" ", options) + " FILE " + size + " -> " + action + "]";
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

    static Case c(String name, Start start, String action, String size, String... options) {
        List<String> o = new ArrayList<>(List.of("-f", "raw"));
        o.addAll(List.of(options));
        return new Case(name, start, action, List.copyOf(o), size);
    }

    static Stream<Case> cases() {
        Start p = Start.PATTERN_1M;
        return Stream.of(
                c("grow", p, "grow", "2M"),
                c("grow relative", p, "grow", "+1M"),
                c("grow to a non-multiple of 512", p, "grow", "3000001"),
                c("grow with falloc", p, "grow", "2M", "--preallocation=falloc"),
                c("grow with full", p, "grow", "2M", "--preallocation=full"),
                c("shrink with --shrink", p, "shrink", "512K", "--shrink"),
                c("shrink relative with --shrink", p, "shrink", "-300K", "--shrink"),
                c("same size", p, "noop", "1M"),
                c("empty file to 1M", Start.EMPTY, "grow", "1M"),
                c("empty file to 100 bytes", Start.EMPTY, "grow", "100"),
                c("1000-byte file to 1500", Start.BYTES_1000, "grow", "1500"),
                c("1000-byte file to 1M with full", Start.BYTES_1000, "grow", "1M", "--preallocation=full"),
                c("1000-byte file shrink to 512", Start.BYTES_1000, "shrink", "512", "--shrink"));
    }

    static long roundUp512(long n) {
        return (n + 511) / 512 * 512;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void planReplayEqualsResize(Case c, @TempDir Path tmp) throws IOException {
        Path planDir = Files.createDirectory(tmp.resolve("plan"));
        Path resizeDir = Files.createDirectory(tmp.resolve("resize"));
        Path planned = planDir.resolve(FILE);
        Path resized = resizeDir.resolve(FILE);
        c.start().createAt(planned);
        c.start().createAt(resized);
        long oldLength = Images.length(planned);
        Images.setOldMtime(planned);
        Images.Snapshot before = Images.Snapshot.of(planned);

        ProcessRunner.Result planRun = Diskplan.run(planDir, c.args("plan", "--output=json", "--with-data"));
        JsonNode plan = Json.object(planRun);
        ProcessRunner.Result resizeRun = Diskplan.run(resizeDir, c.args("resize", "--output=json"));
        JsonNode result = Json.object(resizeRun);
        long newLength = Images.length(resized);
        String ctx = "\nplan:\n" + planRun.describe() + "\nresize:\n" + resizeRun.describe();

        SoftAssertions soft = new SoftAssertions();
        // plan never modifies the file
        soft.assertThat(before.difference()).as("plan left the file untouched" + ctx).isNull();
        soft.assertThat(Files.exists(Diskplan.journalOf(planned))).as("plan wrote no journal" + ctx).isFalse();
        soft.assertThat(planRun.stderr()).as("plan stderr" + ctx).isEmpty();
        soft.assertThat(resizeRun.stderr()).as("resize stderr" + ctx).isEmpty();

        // plan fields
        checkFilename(soft, plan, planDir, planned, ctx);
        soft.assertThat(Json.textField(plan, "format")).as("plan format" + ctx).isEqualTo("raw");
        soft.assertThat(Json.textField(plan, "action")).as("plan action" + ctx).isEqualTo(c.action());
        soft.assertThat(Json.longField(plan, "old_virtual_size")).as("plan old_virtual_size" + ctx)
                .isEqualTo(roundUp512(oldLength));
        soft.assertThat(Json.longField(plan, "old_file_size")).as("plan old_file_size" + ctx).isEqualTo(oldLength);
        soft.assertThat(Json.longField(plan, "new_file_size")).as("plan new_file_size = resize's file length" + ctx)
                .isEqualTo(newLength);
        soft.assertThat(Json.longField(plan, "new_virtual_size")).as("plan new_virtual_size" + ctx)
                .isEqualTo(roundUp512(newLength));
        JsonNode patches = plan.get("patches");
        soft.assertThat(patches != null && patches.isArray()).as("plan patches is an array" + ctx).isTrue();
        int n = patches == null ? 0 : patches.size();
        long commit = Json.longField(plan, "commit_index");
        // Steps are numbered as for DISKPLAN_TEST_CRASH_AFTER_PATCH: 0..n-1 the patches, n the
        // final length; a raw image shows its new size at the length step, so n is valid.
        soft.assertThat(commit).as("commit_index is a step of the plan (0..n)" + ctx).isBetween(0L, (long) n);
        for (int i = 0; i < n; i++) {
            JsonNode p = patches.get(i);
            soft.assertThat(Json.longField(p, "index")).as("patch %d index%s", i, ctx).isEqualTo(i);
            String kind = Json.textField(p, "kind");
            soft.assertThat(kind).as("patch %d kind%s", i, ctx).isIn(KINDS);
            soft.assertThat(Json.longField(p, "offset")).as("patch %d offset%s", i, ctx).isNotNegative();
            soft.assertThat(Json.longField(p, "length")).as("patch %d length%s", i, ctx).isNotNegative();
            soft.assertThat(Json.textField(p, "label")).as("patch %d label%s", i, ctx).isNotBlank();
            soft.assertThat(Json.textField(p, "region")).as("patch %d region%s", i, ctx).isNotBlank();
            soft.assertThat(p.has("data")).as("patch %d has data iff write/append (--with-data)%s", i, ctx)
                    .isEqualTo(!kind.equals("zero"));
        }
        if (c.action().equals("noop")) {
            soft.assertThat(n).as("a no-op plan has no patches" + ctx).isZero();
        }

        // resize --output=json fields, against the file and the plan
        checkFilename(soft, result, resizeDir, resized, ctx);
        soft.assertThat(Json.textField(result, "format")).as("resize format" + ctx).isEqualTo("raw");
        soft.assertThat(Json.textField(result, "action")).as("resize action" + ctx).isEqualTo(c.action());
        soft.assertThat(Json.longField(result, "old_virtual_size")).as("resize old_virtual_size" + ctx)
                .isEqualTo(roundUp512(oldLength));
        soft.assertThat(Json.longField(result, "old_file_size")).as("resize old_file_size" + ctx).isEqualTo(oldLength);
        soft.assertThat(Json.longField(result, "new_file_size")).as("resize new_file_size = file length" + ctx)
                .isEqualTo(newLength);
        soft.assertThat(Json.longField(result, "new_virtual_size")).as("resize new_virtual_size" + ctx)
                .isEqualTo(roundUp512(newLength));
        soft.assertThat(Json.longField(result, "patches")).as("resize patches = plan's patch count" + ctx)
                .isEqualTo(n);
        soft.assertThat(Json.longField(result, "bytes_written")).as("resize bytes_written" + ctx).isNotNegative();
        soft.assertThat(Files.exists(Diskplan.journalOf(resized))).as("resize removed its journal" + ctx).isFalse();
        soft.assertAll();

        // replaying the plan gives resize's bytes
        Json.replay(plan, planned);
        assertThat(Images.difference(planned, resized)).as("replayed plan vs resize" + ctx).isNull();
    }

    private static void checkFilename(SoftAssertions soft, JsonNode o, Path dir, Path file, String ctx) {
        String name = Json.textField(o, "filename");
        soft.assertThat(dir.resolve(name).normalize()).as("filename names the image" + ctx)
                .isEqualTo(file.normalize());
    }

    @Test
    void planWithoutDataCarriesNoData(@TempDir Path tmp) {
        Path f = tmp.resolve(FILE);
        Start.PATTERN_1M.createAt(f);
        ProcessRunner.Result r = Diskplan.run(tmp, "plan", "-f", "raw", "--preallocation=full", "--output=json", FILE, "2M");
        JsonNode plan = Json.object(r);
        assertThat(plan.get("patches").size()).as(r.describe()).isPositive();
        for (JsonNode p : plan.get("patches")) {
            assertThat(p.has("data")).as("no data without --with-data: " + p).isFalse();
        }
    }

    @Test
    void humanPlanLeavesTheFileUntouched(@TempDir Path tmp) {
        Path f = tmp.resolve(FILE);
        Start.PATTERN_1M.createAt(f);
        Images.setOldMtime(f);
        Images.Snapshot before = Images.Snapshot.of(f);
        ProcessRunner.Result r = Diskplan.run(tmp, "plan", "-f", "raw", "--preallocation=full", FILE, "4M");
        assertThat(r.exitCode()).as(r.describe()).isZero();
        assertThat(r.stdout()).as(r.describe()).isNotBlank();
        assertThat(before.difference()).as(r.describe()).isNull();
        assertThat(Diskplan.journalOf(f)).doesNotExist();
    }

    @Test
    void shrinkJsonReportsTheCut(@TempDir Path tmp) {
        Path f = tmp.resolve(FILE);
        Start.PATTERN_1M.createAt(f);
        ProcessRunner.Result r = Diskplan.run(tmp, "resize", "-f", "raw", "--shrink", "--output=json", FILE, "--", "-256K");
        JsonNode o = Json.object(r);
        assertThat(Images.length(f)).isEqualTo(768 * 1024);
        assertThat(Json.textField(o, "action")).isEqualTo("shrink");
        assertThat(Json.longField(o, "old_virtual_size")).isEqualTo(Images.MIB);
        assertThat(Json.longField(o, "new_virtual_size")).isEqualTo(768 * 1024);
        assertThat(Json.longField(o, "old_file_size")).isEqualTo(Images.MIB);
        assertThat(Json.longField(o, "new_file_size")).isEqualTo(768 * 1024);
        byte[] now = Images.read(f);
        byte[] expect = new byte[768 * 1024];
        Path orig = tmp.resolve("orig.raw");
        Start.PATTERN_1M.createAt(orig);
        System.arraycopy(Images.read(orig), 0, expect, 0, expect.length);
        assertThat(now).as("the kept part is untouched").isEqualTo(expect);
    }
}
