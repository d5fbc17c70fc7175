package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Issue 17/19: qcow2 images whose L1, refcount or snapshot table lies past the end of the file.
 * {@code qemu-img info} opens them (it reads past the end as zeros), so {@code diskplan info}
 * shows them too (exit 0) with a flag naming the field and its offset; a resize refuses them,
 * naming the same, and leaves the file byte for byte as it was.
 */
@RequiresOracle({"qemu-img"})
class DamagedQcow2InfoTest {
    record Case(String name, int offset, String hex, String field, int fieldOffset) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Case> cases() {
        return Stream.of(
                new Case("l1_table_offset past the end", 40, "0000000010000000", "l1_table_offset", 40),
                new Case("l1_size runs past the end", 36, "000186a0", "l1_table_offset", 40),
                new Case("refcount_table_offset past the end", 48, "0000000010000000", "refcount_table_offset", 48),
                new Case("refcount_table_clusters past the end", 56, "00000064", "refcount_table_offset", 48),
                new Case("snapshot table past the end", 60, "000000010000000010000000", "snapshots_offset", 64));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void infoShowsItWithAFlagAndResizeRefuses(Case c, @TempDir Path dir) throws IOException {
        ProcessRunner.Result made = Qemu.img(dir, "create", "-q", "-f", "qcow2", "d.qcow2", "64M");
        assertThat(made.exitCode()).as(made.describe()).isZero();
        Path image = dir.resolve("d.qcow2");
        QedResizeOracleTest.poke(image, c.offset(), HexFormat.of().parseHex(c.hex()));
        byte[] before = Files.readAllBytes(image);
        String named = c.field() + " at offset " + c.fieldOffset();

        ProcessRunner.Result q = Qemu.img(dir, "info", "--output=json", "d.qcow2");
        assertThat(q.exitCode()).as("qemu-img info opens it\n" + q.describe()).isZero();

        ProcessRunner.Result info = Diskplan.run(dir, List.of("info", "d.qcow2"));
        assertThat(info.exitCode()).as(info.describe()).isZero();
        assertThat(info.stdout()).as(info.describe()).containsPattern("(?m)^flag: corrupt: .*" + named
                + ": .*lies beyond the end of the file").contains("virtual size: 64 MiB");

        ProcessRunner.Result json = Diskplan.run(dir, List.of("info", "--output=json", "d.qcow2"));
        assertThat(json.exitCode()).as(json.describe()).isZero();
        JsonNode ours = new ObjectMapper().readTree(json.stdout());
        JsonNode theirs = new ObjectMapper().readTree(q.stdout());
        assertThat(ours.get("virtual-size")).isEqualTo(theirs.get("virtual-size"));
        assertThat(ours.get("flags").toString()).contains(named);

        ProcessRunner.Result d = Diskplan.run(dir, "resize", "d.qcow2", "+1M");
        assertThat(d.exitCode()).as(d.describe()).isEqualTo(1);
        assertThat(d.stderr()).as(d.describe()).contains("damaged", named);
        assertThat(d.stderr().lines().count()).as("one line, no stack trace\n" + d.describe()).isEqualTo(1);
        assertThat(Files.readAllBytes(image)).as("the file is unchanged").isEqualTo(before);
    }
}
