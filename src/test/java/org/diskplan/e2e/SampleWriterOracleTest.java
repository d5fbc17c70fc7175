package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code diskplan sample} makes images the reference tools accept: qemu-img reads the
 * size DiskPlan says it wrote, qemu-io can write and read back the last MiB (for VHD
 * that allocates a block through the BAT), qemu-img check passes where the format has
 * checks (with no leaks), and vhdiinfo / qcowinfo agree on VHD and qcow2 sizes.
 */
@RequiresOracle({"qemu-img", "qemu-io", "vhdiinfo", "qcowinfo"})
class SampleWriterOracleTest {
    private static final Pattern WROTE = Pattern.compile("of (\\d+) bytes");

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0} {2} {1}")
    @CsvSource({
        "raw, 1G, ''",
        "raw, 1000, ''",
        "vpc, 64M, subformat=dynamic",
        "vpc, 100M, subformat=fixed",
        "vpc, 1000000000, subformat=dynamic",
        "vpc, 127G, subformat=dynamic",
        "vpc, 200G, subformat=dynamic",
        "vpc, 2040G, subformat=dynamic",
        "vpc, 5G, subformat=fixed",
        "qcow2, 1G, ''",
        "qcow2, 1000, ''",
        "qcow2, 10G, compat=0.10",
        "qcow2, 1G, 'cluster_size=512,refcount_bits=1'",
        "qcow2, 128G, cluster_size=512",
        "qcow2, 3G, 'cluster_size=2M,refcount_bits=64'",
        "qcow2, 5G, 'cluster_size=4096,refcount_bits=4'",
        "qcow2, 100G, refcount_bits=2",
        "qcow2, 64T, 'refcount_bits=8,lazy_refcounts=on'",
        "qcow2, 1G, 'extended_l2=on,compression_type=zstd'",
        "qcow2, 2G, 'cluster_size=32768,refcount_bits=32'",
        "vdi, 100M, ''",
        "vdi, 1000001, ''",
        "vdi, 64M, subformat=static",
        "vdi, 4T, ''",
    })
    void qemuReadsAndWritesWhatTheWriterMade(String format, String size, String options) {
        List<String> args = new java.util.ArrayList<>(List.of("sample", format, "s.img", size));
        if (!options.isEmpty()) {
            args.addAll(List.of("-o", options));
        }
        ProcessRunner.Result made = Diskplan.run(dir, args);
        assertThat(made.exitCode()).as(made.describe()).isZero();
        Matcher m = WROTE.matcher(made.stdout());
        assertThat(m.find()).as(made.describe()).isTrue();
        long written = Long.parseLong(m.group(1));

        ProcessRunner.Result info = Qemu.img(dir, "info", "--output=json", "-f", format, "s.img");
        assertThat(info.exitCode()).as(info.describe()).isZero();
        JsonNode q = Json.object(info);
        assertThat(q.get("virtual-size").asLong()).as(info.describe()).isEqualTo(written);
        JsonNode ours = Json.object(Diskplan.run(dir, "info", "--output=json", "s.img"));
        assertThat(ours.get("virtual-size").asLong()).isEqualTo(written);
        assertThat(ours.get("format").asText()).isEqualTo(format);

        long last = Math.max(0, written - (1 << 20));
        long len = Math.min(1 << 20, written) / 512 * 512;
        assertCheckPasses(format);

        ProcessRunner.Result io = ProcessRunner.of("qemu-io", "-f", format, "-c", "write -P 0x5a " + last + " " + len,
                "-c", "read -P 0x5a " + last + " " + len, "s.img").in(dir).run();
        assertThat(io.exitCode()).as(io.describe()).isZero();
        assertThat(io.stdout()).as(io.describe()).doesNotContain("Pattern verification failed");
        if (format.equals("vpc")) {
            ProcessRunner.Result yal = ProcessRunner.of("vhdiinfo", "s.img").in(dir).run();
            assertThat(yal.stdout()).as(yal.describe()).contains("(" + written + " bytes)");
        }
        // libqcow 20201213 refuses incompatible features newer than it (extended L2, zstd)
        if (format.equals("qcow2") && !options.contains("extended_l2") && !options.contains("zstd")) {
            ProcessRunner.Result yal = ProcessRunner.of("qcowinfo", "s.img").in(dir).run();
            assertThat(yal.stdout()).as(yal.describe()).contains("(" + written + " bytes)");
        }
        assertCheckPasses(format);
    }

    /** qemu-img check, for the formats that have checks: no errors, no leaks. */
    private void assertCheckPasses(String format) {
        if (format.equals("vpc") || format.equals("raw")) {
            return; // "This image format does not support checks"
        }
        ProcessRunner.Result check = Qemu.img(dir, "check", "-f", format, "s.img");
        assertThat(check.exitCode()).as(check.describe()).isZero();
        assertThat(check.stdout()).as(check.describe()).contains("No errors were found on the image.")
                .doesNotContain("leaked");
    }
}
