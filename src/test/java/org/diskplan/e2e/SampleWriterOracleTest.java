package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code diskplan sample} makes images the reference tools accept: qemu-img reads the
 * format and the size DiskPlan says it wrote, qemu-io can write and read back the last MiB
 * (for VHD and VHDX that allocates a block through the BAT, for sparse VMDK a grain through
 * a grain table), qemu-img check passes before and after that write where the format has
 * checks, vhdiinfo (VHD, VHDX), vmdkinfo (VMDK) and qcowinfo (qcow2) agree on the size, and every VMDK extent
 * lies next to its descriptor.
 */
@RequiresOracle({"qemu-img", "qemu-io", "vhdiinfo", "vmdkinfo", "qcowinfo"})
class SampleWriterOracleTest {
    private static final Pattern WROTE = Pattern.compile("of (\\d+) bytes");
    /** Formats whose qemu driver implements qemu-img check. */
    private static final Set<String> CHECKED = Set.of("vhdx", "vmdk", "qcow2", "qed", "vdi", "parallels");

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
        "vhdx, 64M, subformat=dynamic",
        "vhdx, 1000000000, ''",
        "vhdx, 3M, 'block_state_zero=off,log_size=4M'",
        "vhdx, 2G, 'block_size=256M,log_size=2M'",
        "vhdx, 600G, block_size=1M",
        "vhdx, 64T, ''",
        "vhdx, 10000000, 'subformat=fixed,block_size=1M'",
        "vhdx, 100M, subformat=fixed",
        "vhdx, 3G, 'subformat=fixed,block_size=32M'",
        "vmdk, 100M, ''",
        "vmdk, 1000, subformat=monolithicSparse",
        "vmdk, 3T, 'subformat=monolithicSparse,zeroed_grain=on,adapter_type=lsilogic,hwversion=7'",
        "vmdk, 100M, subformat=streamOptimized",
        "vmdk, 10000000, subformat=monolithicFlat",
        "vmdk, 64M, 'subformat=monolithicFlat,compat6=on,adapter_type=buslogic'",
        "vmdk, 5G, subformat=twoGbMaxExtentSparse",
        "vmdk, 20G, 'subformat=twoGbMaxExtentSparse,zeroed_grain=on'",
        "vmdk, 4294967808, subformat=twoGbMaxExtentFlat",
    })
    void qemuReadsAndWritesWhatTheWriterMade(String format, String size, String options) {
        // For multi-file VMDK subformats this is the descriptor; the extents go beside it.
        String image = "s." + format;
        List<String> args = new java.util.ArrayList<>(List.of("sample", format, image, size));
        if (!options.isEmpty()) {
            args.addAll(List.of("-o", options));
        }
        ProcessRunner.Result made = Diskplan.run(dir, args);
        assertThat(made.exitCode()).as(made.describe()).isZero();
        Matcher m = WROTE.matcher(made.stdout());
        assertThat(m.find()).as(made.describe()).isTrue();
        long written = Long.parseLong(m.group(1));

        ProcessRunner.Result info = Qemu.img(dir, "info", "--output=json", "-f", format, image);
        assertThat(info.exitCode()).as(info.describe()).isZero();
        JsonNode q = Json.object(info);
        if (CHECKED.contains(format)) {
            // formats with a signature: qemu's own probe must find the format too (a fixed VHD has
            // only a footer, which qemu's probe does not look for)
            ProcessRunner.Result probed = Qemu.img(dir, "info", "--output=json", image);
            assertThat(Json.object(probed).get("format").asText()).as(probed.describe()).isEqualTo(format);
        }
        assertThat(q.get("virtual-size").asLong()).as(info.describe()).isEqualTo(written);
        if (format.equals("vmdk")) {
            for (JsonNode extent : q.get("format-specific").get("data").get("extents")) {
                Path p = dir.resolve(extent.get("filename").asText()).normalize();
                assertThat(p.getParent()).as(info.describe()).isEqualTo(dir.normalize());
                assertThat(p).exists();
            }
        }
        assertCheckPasses(format, image);
        JsonNode ours = Json.object(Diskplan.run(dir, "info", "--output=json", image));
        assertThat(ours.get("virtual-size").asLong()).isEqualTo(written);
        assertThat(ours.get("format").asText()).isEqualTo(format);

        long last = Math.max(0, written - (1 << 20));
        long len = Math.min(1 << 20, written) / 512 * 512;
        ProcessRunner.Result io = ProcessRunner.of("qemu-io", "-f", format, "-c", "write -P 0x5a " + last + " " + len,
                "-c", "read -P 0x5a " + last + " " + len, image).in(dir).run();
        assertThat(io.exitCode()).as(io.describe()).isZero();
        assertThat(io.stdout()).as(io.describe()).doesNotContain("Pattern verification failed");
        assertCheckPasses(format, image);
        String other = switch (format) {
            case "vpc", "vhdx" -> "vhdiinfo";
            case "vmdk" -> "vmdkinfo";
            // libqcow 20201213 refuses incompatible features newer than it (extended L2, zstd)
            case "qcow2" -> options.contains("extended_l2") || options.contains("zstd") ? "" : "qcowinfo";
            default -> "";
        };
        if (!other.isEmpty()) {
            ProcessRunner.Result yal = ProcessRunner.of(other, image).in(dir).run();
            assertThat(yal.exitCode()).as(yal.describe()).isZero();
            assertThat(yal.stdout()).as(yal.describe()).contains("(" + written + " bytes)");
        }
    }

    private void assertCheckPasses(String format, String image) {
        if (CHECKED.contains(format)) {
            ProcessRunner.Result check = Qemu.img(dir, "check", "-f", format, image);
            assertThat(check.exitCode()).as(check.describe()).isZero();
            assertThat(check.stdout()).as(check.describe()).contains("No errors were found on the image.");
        }
    }
}
