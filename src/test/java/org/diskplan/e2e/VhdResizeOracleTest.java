package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.diskplan.abi.Preallocation;
import org.diskplan.planner.ResizePlan;
import org.diskplan.planner.ResizeRequest;
import org.diskplan.planner.ResizeSession;
import org.diskplan.planner.SizeArgument;
import org.diskplan.probe.vhd.VhdSampleWriter;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * VHD resizes checked with tools DiskPlan did not write (qemu-img refuses to resize vpc,
 * so there is no peer to diff against): images from {@code qemu-img create -f vpc}
 * (dynamic and fixed, force_size on and off, CHS-exact sizes and not) and from DiskPlan's
 * sample writer, guest data written by qemu-io first, resized by the {@code diskplan}
 * CLI. Afterwards {@code qemu-img info -f vpc} and {@code vhdiinfo} report the size the
 * plan promised, the old data reads back, the new range reads zero, the last MiB takes a
 * write and reads it back, and {@code qemu-img compare} finds the common part identical.
 * Refusals leave the file byte for byte unchanged.
 */
@RequiresOracle({"qemu-img", "qemu-io", "vhdiinfo"})
class VhdResizeOracleTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final Pattern MEDIA_SIZE = Pattern.compile("Media size\\s*:.*\\((\\d+) bytes\\)");

    /**
     * One case. {@code create} are qemu-img create options ("sample:dynamic" for DiskPlan's writer),
     * {@code data} qemu-io writes "offset length pattern", {@code args} the resize arguments
     * after the file name, {@code refusal} the words of a refusal (empty: it must succeed).
     */
    record Case(String name, String create, String base, List<String> data, List<String> args, String refusal) {
        @Override
        public String toString() {
            return name;
        }
    }

    static final List<String> DATA = List.of("0 1M 0x11", "5M 64k 0x22", "40M 1M 0x33");

    static Case ok(String name, String create, String base, String... args) {
        return new Case(name, create, base, DATA, List.of(args), "");
    }

    static Case no(String name, String create, String base, String refusal, String... args) {
        return new Case(name, create, base, DATA, List.of(args), refusal);
    }

    static Stream<Case> cases() {
        List<Case> c = new ArrayList<>();
        String dyn = "subformat=dynamic";
        String dynForce = "subformat=dynamic,force_size=on";
        String fix = "subformat=fixed";
        String fixForce = "subformat=fixed,force_size=on";
        // dynamic grows: the BAT grows in its sector padding, or is relocated
        c.add(ok("dynamic 64M -> 200M (BAT in place)", dyn, "64M", "200M"));
        c.add(ok("dynamic 64M -> 1G (CHS rounding, BAT relocated)", dyn, "64M", "1G"));
        c.add(ok("dynamic force_size 64M -> 1G exact", dynForce, "64M", "1G"));
        c.add(ok("dynamic force_size 64M -> 100000256 (not CHS exact)", dynForce, "64M", "100000256"));
        c.add(new Case("dynamic 1G -> 1T (BAT relocated to the end)", dyn, "1G",
                List.of("0 1M 0x11", "900M 2M 0x22"), List.of("1T"), ""));
        c.add(ok("dynamic 64M -> 2040G (the maximum)", dynForce, "64M", "2040G"));
        // fixed grows
        c.add(ok("fixed 64M -> 100M", fix, "64M", "100M"));
        c.add(ok("fixed force_size 64M -> 64M+512 (a one-sector grow)", fixForce, "64M", "+512"));
        c.add(ok("fixed force_size 64M -> 96M, preallocation=falloc", fixForce, "64M", "96M",
                "--preallocation=falloc"));
        c.add(ok("fixed 64M -> 96M, preallocation=full", fix, "64M", "96M", "--preallocation=full"));
        // shrinks
        c.add(ok("dynamic shrink 64M -> 20M", dyn, "64M", "20M", "--shrink"));
        c.add(ok("dynamic force_size shrink 64M -> 39M", dynForce, "64M", "39M", "--shrink"));
        c.add(ok("fixed shrink 64M -> 32M", fix, "64M", "32M", "--shrink"));
        // DiskPlan's own sample images (creator 'dpln', read through the geometry)
        c.add(ok("sample dynamic 64M -> 3G", "sample:dynamic", "64M", "3G"));
        c.add(ok("sample fixed 64M -> 100M", "sample:fixed", "64M", "100M"));
        // refusals
        c.add(no("too big: 2041G", dyn, "64M", "2040 GiB", "2041G"));
        c.add(no("not a multiple of 512", dyn, "64M", "multiple of 512", "100000001"));
        c.add(no("shrink without --shrink", dyn, "64M", "--shrink", "20M"));
        c.add(no("fixed: metadata preallocation", fix, "64M", "Unsupported preallocation mode", "96M",
                "--preallocation=metadata"));
        return c.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void readersSeeThePromisedSize(Case c, @TempDir Path dir) throws Exception {
        String file = "disk.vhd";
        Path image = dir.resolve(file);
        if (c.create().startsWith("sample:")) {
            new VhdSampleWriter().write(image, bytes(c.base()),
                    Map.of("subformat", c.create().substring(7)));
        } else {
            run(dir, "qemu-img", "create", "-q", "-f", "vpc", "-o", c.create(), file, c.base());
        }
        for (String d : c.data()) {
            String[] w = d.split(" ");
            run(dir, "qemu-io", "-f", "vpc", "-c", "write -P " + w[2] + " " + w[0] + " " + w[1], file);
        }
        resizeAndCheck(dir, file, c.data(), c.args(), c.refusal());
    }

    /**
     * Resizes {@code file} in {@code dir} with the CLI ({@code args}: the size, then options)
     * and checks it with the reference tools: a refusal containing {@code refusal} that
     * leaves the file unchanged, or (refusal empty) the promised size in qemu-img info and
     * vhdiinfo, {@code data} (qemu-io "offset length pattern") read back where it is still
     * inside the image, the new range zero, qemu-img compare, a write of the last MiB.
     * Returns the plan, or null after a refusal.
     */
    static ResizePlan resizeAndCheck(Path dir, String file, List<String> data, List<String> args, String refusal)
            throws Exception {
        Path image = dir.resolve(file);
        Files.copy(image, dir.resolve("original.vhd"));
        long oldSize = infoSize(dir, file);

        List<String> argv = new ArrayList<>(List.of("resize", "-f", "vpc"));
        List<String> rest = new ArrayList<>(args);
        String size = rest.remove(0);
        argv.addAll(rest);
        argv.add(file);
        argv.add(size);

        if (!refusal.isEmpty()) {
            byte[] before = Files.readAllBytes(image);
            ProcessRunner.Result r = Diskplan.run(dir, argv);
            assertThat(r.exitCode()).as(r.describe()).isNotZero();
            assertThat(r.stderr()).as(r.describe()).contains(refusal);
            assertThat(Files.readAllBytes(image)).as("a refused resize writes nothing").isEqualTo(before);
            return null;
        }

        boolean shrink = rest.contains("--shrink");
        Preallocation mode = rest.stream().filter(a -> a.startsWith("--preallocation="))
                .map(a -> Preallocation.fromQemuName(a.substring(16)).orElseThrow()).findFirst()
                .orElse(Preallocation.OFF);
        ResizePlan plan = ResizeSession.planFile(image, Optional.of("vpc"),
                p -> new ResizeRequest(SizeArgument.parse(size).resolve(p.virtualSize()), shrink, mode));
        long promised = plan.newVirtualSize();

        ProcessRunner.Result r = Diskplan.run(dir, argv);
        assertThat(r.exitCode()).as(r.describe()).isZero();
        assertThat(Files.size(image) % 512).as("the file stays a multiple of 512").isZero();
        assertThat(infoSize(dir, file)).as("qemu-img info").isEqualTo(promised);
        assertThat(vhdiSize(dir, file)).as("vhdiinfo").isEqualTo(promised);

        // the old data, in what is left of it
        for (String d : data) {
            String[] w = d.split(" ");
            long at = bytes(w[0]);
            long len = bytes(w[1]);
            if (at + len <= promised) {
                io(dir, file, "read -P " + w[2] + " " + at + " " + len);
            }
        }
        if (promised > oldSize) {
            // the common part is identical and the new range reads zero (qemu-img compare checks both)
            ProcessRunner.Result cmp = run(dir, "qemu-img", "compare", "-f", "vpc", "-F", "vpc", "original.vhd",
                    file);
            assertThat(cmp.stdout()).contains("Images are identical");
            long first = Math.min(1 << 20, promised - oldSize);
            io(dir, file, "read -P 0 " + oldSize + " " + first);
        } else {
            ProcessRunner.Result cmp = Qcow2Images.tryRun(dir, List.of("qemu-img", "compare", "-f", "vpc", "-F",
                    "vpc", "original.vhd", file));
            // a size mismatch: qemu-img compare names the first offset where the longer one holds data
            Matcher m = Pattern.compile("Content mismatch at offset (\\d+)").matcher(cmp.stdout());
            if (m.find()) {
                assertThat(Long.parseLong(m.group(1))).as("only the cut part differs\n" + cmp.describe())
                        .isGreaterThanOrEqualTo(promised);
            } else {
                assertThat(cmp.stdout()).as(cmp.describe()).contains("Images are identical");
            }
        }
        long lastMiB = Math.max(0, promised - (1 << 20));
        io(dir, file, "write -P 0x5a " + lastMiB + " " + (promised - lastMiB));
        io(dir, file, "read -P 0x5a " + lastMiB + " " + (promised - lastMiB));
        assertThat(infoSize(dir, file)).as("qemu-img info after the write").isEqualTo(promised);
        assertThat(vhdiSize(dir, file)).as("vhdiinfo after the write").isEqualTo(promised);
        return plan;
    }

    private static long bytes(String size) throws Exception {
        return SizeArgument.parse(size).resolve(0);
    }

    private static void io(Path dir, String file, String cmd) {
        ProcessRunner.Result r = run(dir, "qemu-io", "-f", "vpc", "-c", cmd, file);
        assertThat(r.stdout()).as(cmd + "\n" + r.describe()).doesNotContain("Pattern verification failed")
                .doesNotContain("failed");
    }

    private static long infoSize(Path dir, String file) throws IOException {
        ProcessRunner.Result r = run(dir, "qemu-img", "info", "--output=json", "-f", "vpc", file);
        return MAPPER.readTree(r.stdout()).get("virtual-size").asLong();
    }

    private static long vhdiSize(Path dir, String file) {
        ProcessRunner.Result r = run(dir, "vhdiinfo", file);
        Matcher m = MEDIA_SIZE.matcher(r.stdout());
        assertThat(m.find()).as(r.describe()).isTrue();
        return Long.parseLong(m.group(1));
    }

    private static ProcessRunner.Result run(Path dir, String... cmd) {
        ProcessRunner.Result r = Qcow2Images.tryRun(dir, List.of(cmd));
        assertThat(r.exitCode()).as(r.describe()).isZero();
        return r;
    }
}
