package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code diskplan info --output=json} against {@code qemu-img info --output=json} (and the
 * libyal tools' media size) on images made by {@code qemu-img create} across the option
 * space: every key both report must agree, and the layout map must cover the whole file.
 */
@RequiresOracle({"qemu-img", "qemu-io", "vhdiinfo", "vmdkinfo", "qcowinfo"})
class InfoOracleTest {
    private static final Pattern MEDIA_SIZE = Pattern.compile("Media size\\s*:[^\\n]*?(\\d+) bytes");
    private static final String FILE = "disk.img";

    @TempDir
    Path tmp;

    /** One image: the qemu-img create options, then optional qemu-img/qemu-io steps on it. */
    record Image(String name, String format, String size, List<String> options, List<List<String>> then) {
        @Override
        public String toString() {
            return name;
        }
    }

    private static Image img(String name, String format, String size, String... options) {
        return new Image(name, format, size, List.of(options), List.of());
    }

    private static Image img(String name, String format, String size, List<String> options, List<List<String>> then) {
        return new Image(name, format, size, options, then);
    }

    static Stream<Image> images() {
        List<Image> all = new ArrayList<>();
        for (String cluster : List.of("512", "4K", "64K", "2M")) {
            for (String compat : List.of("0.10", "1.1")) {
                all.add(img("qcow2 cluster " + cluster + " compat " + compat, "qcow2", "1G",
                        "-o", "cluster_size=" + cluster + ",compat=" + compat));
            }
        }
        for (String bits : List.of("1", "2", "4", "8", "32", "64")) {
            all.add(img("qcow2 refcount_bits " + bits, "qcow2", "10G", "-o", "refcount_bits=" + bits));
        }
        all.add(img("qcow2 extended L2 64K", "qcow2", "1G", "-o", "extended_l2=on"));
        all.add(img("qcow2 extended L2 2M", "qcow2", "5G", "-o", "extended_l2=on,cluster_size=2M"));
        all.add(img("qcow2 lazy refcounts", "qcow2", "1G", "-o", "lazy_refcounts=on"));
        all.add(img("qcow2 zstd", "qcow2", "1G", "-o", "compression_type=zstd"));
        all.add(img("qcow2 preallocation metadata", "qcow2", "64M", "-o", "preallocation=metadata"));
        all.add(img("qcow2 64 TiB sparse", "qcow2", "64T"));
        all.add(img("qcow2 odd size", "qcow2", "1000000512"));
        all.add(img("qcow2 with data", "qcow2", "64M", List.of(),
                List.of(List.of("qemu-io", "-f", "qcow2", "-c", "write -P 0x5a 1M 3M", FILE))));
        all.add(img("qcow2 with snapshots", "qcow2", "64M", List.of(), List.of(
                List.of("qemu-io", "-f", "qcow2", "-c", "write -P 0x11 0 1M", FILE),
                List.of("qemu-img", "snapshot", "-c", "first", FILE),
                List.of("qemu-io", "-f", "qcow2", "-c", "write -P 0x22 0 2M", FILE),
                List.of("qemu-img", "snapshot", "-c", "second", FILE))));
        all.add(img("qcow2 with a bitmap", "qcow2", "64M", List.of(),
                List.of(List.of("qemu-img", "bitmap", "--add", FILE, "bm0"))));
        all.add(img("qcow2 with a backing file", "qcow2", "64M", List.of(), List.of(
                List.of("qemu-img", "create", "-q", "-f", "qcow2", "-b", FILE, "-F", "qcow2", "overlay.qcow2"),
                List.of("mv", "overlay.qcow2", FILE + ".overlay"))));
        all.add(img("qcow2 LUKS encrypted", "qcow2", "64M", List.of("--object", "secret,id=sec0,data=secret",
                "-o", "encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=100"), List.of()));
        all.add(img("qcow2 LUKS aes-128 cbc essiv", "qcow2", "64M", List.of("--object",
                "secret,id=sec0,data=secret", "-o", "encrypt.format=luks,encrypt.key-secret=sec0,"
                        + "encrypt.iter-time=10,encrypt.cipher-alg=aes-128,encrypt.cipher-mode=cbc,"
                        + "encrypt.ivgen-alg=essiv,encrypt.ivgen-hash-alg=sha256"), List.of()));
        all.add(img("qcow2 external raw data file", "qcow2", "64M", "-o", "data_file=data.raw,data_file_raw=on"));
        all.add(img("qcow2 external data file", "qcow2", "64M", "-o", "data_file=data.raw"));
        all.add(img("qcow2 v2 with a backing file", "qcow2", "64M", List.of("-o", "compat=0.10"), List.of(
                List.of("qemu-img", "create", "-q", "-f", "qcow2", "-o", "compat=0.10", "-b", FILE, "-F", "qcow2",
                        "overlay.qcow2"),
                List.of("mv", "overlay.qcow2", FILE + ".overlay"))));
        all.add(img("luks raw", "luks", "16M", "--object", "secret,id=sec0,data=secret",
                "-o", "key-secret=sec0,iter-time=10"));
        all.add(img("luks aes-128 cbc essiv", "luks", "16M", "--object", "secret,id=sec0,data=secret",
                "-o", "key-secret=sec0,iter-time=10,cipher-alg=aes-128,cipher-mode=cbc,ivgen-alg=essiv,"
                        + "ivgen-hash-alg=sha256"));
        all.add(img("qcow2 v2 odd cluster 8K", "qcow2", "3G", "-o", "cluster_size=8K,compat=0.10"));
        for (String sub : List.of("dynamic", "fixed")) {
            for (String size : List.of("1M", "100M", "1000000000", "2047M")) {
                if (sub.equals("fixed") && !size.equals("1M") && !size.equals("100M")) {
                    continue;
                }
                all.add(img("vpc " + sub + " " + size, "vpc", size, "-o", "subformat=" + sub));
                all.add(img("vpc " + sub + " " + size + " force_size", "vpc", size,
                        "-o", "subformat=" + sub + ",force_size=on"));
            }
        }
        for (String block : List.of("1M", "8M", "32M", "256M")) {
            all.add(img("vhdx block " + block, "vhdx", "10G", "-o", "block_size=" + block));
        }
        for (String log : List.of("1M", "4M", "8M")) {
            all.add(img("vhdx log " + log, "vhdx", "1G", "-o", "log_size=" + log));
        }
        all.add(img("vhdx fixed", "vhdx", "8M", "-o", "subformat=fixed"));
        all.add(img("vhdx odd size", "vhdx", "1000000512"));
        all.add(img("vhdx 64 TiB", "vhdx", "64T"));
        all.add(img("vhdx with data", "vhdx", "64M", List.of(),
                List.of(List.of("qemu-io", "-f", "vhdx", "-c", "write -P 0x5a 0 5M", FILE))));
        for (String sub : List.of("monolithicSparse", "streamOptimized", "monolithicFlat", "twoGbMaxExtentSparse",
                "twoGbMaxExtentFlat")) {
            all.add(img("vmdk " + sub + " 10M", "vmdk", "10M", "-o", "subformat=" + sub));
            all.add(img("vmdk " + sub + " 5G", "vmdk", "5G", "-o", "subformat=" + sub));
        }
        all.add(img("vmdk odd size", "vmdk", "1000000512"));
        all.add(img("vmdk with data", "vmdk", "64M", List.of(),
                List.of(List.of("qemu-io", "-f", "vmdk", "-c", "write -P 0x5a 0 3M", FILE))));
        all.add(img("vmdk with a parent", "vmdk", "64M", List.of(), List.of(
                List.of("qemu-img", "create", "-q", "-f", "vmdk", "-b", FILE, "-F", "vmdk", "child.vmdk"),
                List.of("mv", "child.vmdk", FILE + ".overlay"))));
        all.add(img("qed with a backing file", "qed", "64M", List.of(), List.of(
                List.of("qemu-img", "create", "-q", "-f", "qed", "-b", FILE, "-F", "qed", "overlay.qed"),
                List.of("mv", "overlay.qed", FILE + ".overlay"))));
        all.add(img("vmdk adapter lsilogic hwversion 6", "vmdk", "1G", "-o", "adapter_type=lsilogic,hwversion=6"));
        for (String stat : List.of("off", "on")) {
            all.add(img("vdi static=" + stat + " 10M", "vdi", "10M", "-o", "static=" + stat));
            all.add(img("vdi static=" + stat + " odd", "vdi", "10000384", "-o", "static=" + stat));
        }
        all.add(img("vdi 64 GiB dynamic", "vdi", "64G"));
        all.add(img("qed", "qed", "1G"));
        all.add(img("qcow v1", "qcow", "1G"));
        for (String size : List.of("0", "1000", "1M", "10G")) {
            all.add(img("raw " + size, "raw", size));
        }
        return all.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("images")
    void infoAgreesWithQemuImg(Image image) throws Exception {
        Path dir = tmp;
        List<String> create = new ArrayList<>(List.of("create", "-q", "-f", image.format()));
        create.addAll(image.options());
        create.add(FILE);
        create.add(image.size());
        ProcessRunner.Result made = Qemu.img(dir, create);
        assertThat(made.exitCode()).as("qemu-img create\n" + made.describe()).isZero();
        for (List<String> step : image.then()) {
            ProcessRunner.Result r = ProcessRunner.of(step).in(dir).run();
            assertThat(r.exitCode()).as("setup step\n" + r.describe()).isZero();
        }
        String file = Files.exists(dir.resolve(FILE + ".overlay")) ? FILE + ".overlay" : FILE;

        // qemu-img is told the format: without -f it takes a fixed VHD for raw (it looks for
        // the VHD cookie only at offset 0), while DiskPlan detects it by its footer.
        ProcessRunner.Result qemu = Qemu.img(dir, "info", "--output=json", "-U", "-f", image.format(), file);
        ProcessRunner.Result ours = Diskplan.run(dir, "info", "--output=json", file);
        assertThat(qemu.exitCode()).as(qemu.describe()).isZero();
        assertThat(ours.exitCode()).as(ours.describe()).isZero();
        JsonNode q = Json.object(qemu);
        JsonNode d = Json.object(ours);

        // A superset: every key qemu-img reports, DiskPlan reports with the same value.
        SoftAssertions soft = new SoftAssertions();
        q.fieldNames().forEachRemaining(key -> soft.assertThat(d.get(key))
                .as(key + "\n" + ours.describe() + "\n" + qemu.describe()).isEqualTo(q.get(key)));
        soft.assertThat(d.has("virtual-size")).as("reports virtual-size").isTrue();
        long fileSize = Files.size(dir.resolve(file));
        soft.assertThat(d.get("file-size").asLong()).as("file-size").isEqualTo(fileSize);
        long pos = 0;
        for (JsonNode r : d.get("regions")) {
            soft.assertThat(r.get("offset").asLong()).as("regions are contiguous at " + pos).isEqualTo(pos);
            pos = r.get("offset").asLong() + r.get("length").asLong();
        }
        soft.assertThat(pos).as("regions cover the file").isEqualTo(fileSize);
        if (!image.format().equals("raw")) {
            soft.assertThat(d.get("fields").size()).as("header fields").isPositive();
        }
        if (libyalReads(image)) {
            soft.assertThat(libyalSize(dir, image.format(), file)).as("libyal media size")
                    .hasValue(d.get("virtual-size").asLong());
        }
        soft.assertAll();
    }

    /**
     * Whether a libyal tool reads this image: libqcow does not know the extended-L2 and
     * compression-type incompatible features nor LUKS encryption, and there is no libyal
     * tool for VDI, QED or raw.
     */
    private static boolean libyalReads(Image image) {
        String opts = String.join(",", image.options());
        return switch (image.format()) {
            case "vpc", "vhdx", "vmdk", "qcow" -> true;
            case "qcow2" -> !opts.contains("extended_l2") && !opts.contains("compression_type") && !opts.contains("data_file")
                    && !opts.contains("encrypt");
            default -> false;
        };
    }

    /** The media size vhdiinfo / vmdkinfo / qcowinfo report, empty when the tool cannot read the image. */
    private static java.util.Optional<Long> libyalSize(Path dir, String format, String file) {
        String tool = switch (format) {
            case "vpc", "vhdx" -> "vhdiinfo";
            case "vmdk" -> "vmdkinfo";
            case "qcow2", "qcow" -> "qcowinfo";
            default -> null;
        };
        if (tool == null) {
            return java.util.Optional.empty();
        }
        ProcessRunner.Result r = ProcessRunner.of(tool, file).in(dir).run();
        Matcher m = MEDIA_SIZE.matcher(r.stdout());
        if (r.exitCode() != 0 || !m.find()) {
            return java.util.Optional.empty();
        }
        return java.util.Optional.of(Long.parseLong(m.group(1)));
    }
}
