package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

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
 * qcow2 images qemu refuses to open, one header field changed in a qemu-img image: qemu-img
 * resize refuses them, and so does DiskPlan, in qemu's words with the field and its offset,
 * leaving the file byte for byte as it was; {@code diskplan info} still shows the image, with
 * a flag naming what qemu refuses. (Before, DiskPlan "resized" the first two.)
 */
@RequiresOracle({"qemu-img"})
class QemuOpenRefusalTest {
    /**
     * {@code ours}: DiskPlan's words when they are not qemu's — the probe itself refuses the
     * field (naming it and its offset), so {@code info} reports it as an error, not a flag.
     */
    record Case(String name, int offset, String hex, String qemuWords, String field, String ours) {
        Case(String name, int offset, String hex, String qemuWords, String field) {
            this(name, offset, hex, qemuWords, field, "");
        }

        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Case> cases() {
        return Stream.of(
                new Case("header_length 0xffff", 100, "0000ffff", "Header extension too large", "offset"),
                new Case("crypt_method 7", 32, "00000007", "Unsupported encryption method 7", "crypt_method"),
                new Case("snapshots_offset 1", 64, "0000000000000001", "Snapshot table offset invalid",
                        "snapshots_offset"),
                new Case("compression_type 5", 104, "05", "qcow2: unknown compression type: 5", "compression_type"),
                new Case("refcount_table_clusters 0", 56, "00000000",
                        "Image does not contain a reference count table", "refcount_table_clusters"),
                new Case("data-file-raw without a data file", 88, "0000000000000002",
                        "data-file-raw requires a data file", "autoclear_features"),
                new Case("l1_size 0", 36, "00000000", "L1 table is too small", "l1_size",
                        "l1_size at offset 36: 0 entries are too few"),
                new Case("l1_table_offset unaligned", 40, "0000000000030001", "Active L1 table offset invalid",
                        "l1_table_offset", "l1_table_offset at offset 40: 196609 is not aligned"),
                new Case("refcount_order 7", 96, "00000007", "Reference count entry width too large", "refcount_order",
                        "refcount_order at offset 96: 7 is too large"),
                new Case("compression bit with zlib", 72, "0000000000000008",
                        "Compression type incompatible feature bit must not be set", "incompatible_features"),
                new Case("crypt_method 2 without a crypto header", 32, "00000002",
                        "Missing CRYPTO header for crypt method 2", "crypt_method"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void refusedLikeQemuAndShownByInfo(Case c, @TempDir Path dir) throws IOException {
        ProcessRunner.Result made = Qemu.img(dir, "create", "-q", "-f", "qcow2", "d.qcow2", "16M");
        assertThat(made.exitCode()).as(made.describe()).isZero();
        QedResizeOracleTest.poke(dir.resolve("d.qcow2"), c.offset(), HexFormat.of().parseHex(c.hex()));
        Files.copy(dir.resolve("d.qcow2"), dir.resolve("q.qcow2"));
        byte[] before = Files.readAllBytes(dir.resolve("d.qcow2"));

        ProcessRunner.Result q = Qemu.img(dir, "resize", "q.qcow2", "+1M");
        assertThat(q.exitCode()).as("qemu-img refuses it\n" + q.describe()).isEqualTo(1);
        assertThat(q.stderr()).as(q.describe()).contains(c.qemuWords());

        ProcessRunner.Result d = Diskplan.run(dir, "resize", "d.qcow2", "+1M");
        assertThat(d.exitCode()).as(d.describe()).isEqualTo(1);
        assertThat(d.stderr()).as(d.describe()).contains(c.ours().isEmpty() ? c.qemuWords() : c.ours())
                .contains(c.field());
        assertThat(d.stderr().lines().count()).as("one line, no stack trace\n" + d.describe()).isEqualTo(1);
        assertThat(Files.readAllBytes(dir.resolve("d.qcow2"))).as("the file is unchanged").isEqualTo(before);

        ProcessRunner.Result info = Diskplan.run(dir, List.of("info", "d.qcow2"));
        if (!c.ours().isEmpty()) {
            assertThat(info.exitCode()).as(info.describe()).isEqualTo(1);
            assertThat(info.stderr()).as(info.describe()).contains(c.ours());
            // issue 19/17: what was parsed is still shown, the refused field marked
            assertThat(info.stdout()).as(info.describe()).contains("file format: qcow2", "damaged: ")
                    .containsPattern("(?m)^  0x[0-9a-f]+ +\\d+  " + c.field() + " .*<-- bad$");
            ProcessRunner.Result json = Diskplan.run(dir, List.of("info", "--output=json", "d.qcow2"));
            assertThat(json.exitCode()).as(json.describe()).isEqualTo(1);
            assertThat(json.stdout()).as("JSON output prints nothing for a failure, as qemu-img\n" + json.describe())
                    .isEmpty();
            return;
        }
        assertThat(info.exitCode()).as(info.describe()).isZero();
        assertThat(info.stdout()).as(info.describe()).contains("qemu refuses to open it: ").contains(c.qemuWords());
    }
}
