package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import org.diskplan.e2e.Qcow2Images.Recipe;
import org.diskplan.planner.ResizeRequest;
import org.diskplan.planner.SizeArgument;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Crash prefixes of qcow2 plans, for every case of the oracle matrix and a few more: for each the plan is applied in-process and stopped
 * right after step k (the applier's afterStep hook, as the CLI's crash variable does), the
 * undo journal is thrown away (as if nobody recovered), and qemu must accept what is left:
 * {@code qemu-img check} finds no corruption (leaks are allowed), the virtual size is the
 * old or the new one, and the guest sees exactly the original data (old size) or exactly
 * the finished resize (new size). Plans with many steps are sampled evenly, always with
 * every barrier boundary, the commit and the steps next to it.
 */
@RequiresOracle({"qemu-img", "qemu-io"})
class Qcow2CrashPrefixTest {
    record Scenario(String name, Recipe recipe, List<String> options, String size) {
        ResizeRequest request(long oldSize) throws org.diskplan.planner.SizeSyntaxException {
            boolean shrink = options.contains("--shrink");
            org.diskplan.abi.Preallocation mode = org.diskplan.abi.Preallocation.OFF;
            for (String o : options) {
                if (o.startsWith("--preallocation=")) {
                    mode = org.diskplan.abi.Preallocation.fromQemuName(o.substring(16)).orElseThrow();
                }
            }
            return new ResizeRequest(SizeArgument.parse(size).resolve(oldSize), shrink, mode);
        }
    }

    static final List<String> DATA = Qcow2ResizeOracleTest.DATA;

    static final List<Scenario> SCENARIOS = List.of(
            new Scenario("grow needing a bigger L1 table", new Recipe("", "64M", DATA, false), List.of(), "1T"),
            new Scenario("grow needing refcount table growth (512 B clusters)",
                    new Recipe("cluster_size=512", "64M", DATA, false), List.of(), "20G"),
            new Scenario("grow, refcount_bits=1", new Recipe("cluster_size=4096,refcount_bits=1", "64M", DATA, false),
                    List.of(), "10G"),
            new Scenario("shrink with data past the end (4 KiB clusters)",
                    new Recipe("cluster_size=4096", "64M", DATA, false), List.of("--shrink"), "20972032"),
            new Scenario("shrink through a snapshot (shared L2 copied)",
                    new Recipe("", "64M", Qcow2ResizeOracleTest.SNAPSHOT, false), List.of("--shrink"), "40M"),
            new Scenario("shrink with compressed clusters (512 B clusters)",
                    new Recipe("cluster_size=512", "64M", Qcow2ResizeOracleTest.COMPRESSED, false),
                    List.of("--shrink"), "40M"),
            new Scenario("shrink, refcount_bits=64, extended L2",
                    new Recipe("refcount_bits=64,extended_l2=on", "64M", DATA, false), List.of("--shrink"), "1M"),
            new Scenario("preallocation=metadata", new Recipe("", "64M", DATA, false),
                    List.of("--preallocation=metadata"), "100M"),
            new Scenario("preallocation=falloc", new Recipe("", "64M", DATA, false),
                    List.of("--preallocation=falloc"), "100M"),
            new Scenario("preallocation=full", new Recipe("", "64M", DATA, false),
                    List.of("--preallocation=full"), "100M"),
            new Scenario("preallocation=falloc with a bigger L1 table first (4 KiB clusters)",
                    new Recipe("cluster_size=4096", "64M", DATA, false), List.of("--preallocation=falloc"), "70M"),
            new Scenario("zero clusters over a longer backing file (512 B clusters, bigger L1)",
                    new Recipe("cluster_size=512", "64M", List.of("backing128", "w 40M 2M"), false), List.of(),
                    "200M"),
            new Scenario("grow of a dirty image whose refcounts are exact (the commit clears the bit), bigger L1",
                    new Recipe("lazy_refcounts=on", "64M", dirty(), false), List.of(), "1T"),
            new Scenario("grow of a dirty image whose refcounts are exact, refcount table growth (512 B clusters)",
                    new Recipe("cluster_size=512,lazy_refcounts=on", "64M", dirty(), false), List.of(), "20G"),
            new Scenario("shrink of a dirty image whose refcounts are exact (4 KiB clusters)",
                    new Recipe("cluster_size=4096,lazy_refcounts=on", "64M", dirty(), false), List.of("--shrink"),
                    "20972032"),
            new Scenario("preallocation=metadata with bigger L1 and refcount tables (512 B clusters)",
                    new Recipe("cluster_size=512", "64M", DATA, false), List.of("--preallocation=metadata"), "70M"));

    static List<String> dirty() {
        List<String> steps = new ArrayList<>(DATA);
        steps.add("dirty");
        return steps;
    }

    /**
     * The scenarios above and every case of the oracle matrix ({@link Qcow2ResizeOracleTest#cases()});
     * the cases qemu-img and DiskPlan refuse plan nothing and are left out.
     */
    static List<Scenario> scenarios() {
        List<Scenario> all = new ArrayList<>(SCENARIOS);
        Qcow2ResizeOracleTest.cases().forEach(c -> all.add(new Scenario("matrix: " + c.name(), c.recipe(),
                c.options(), c.size())));
        return all;
    }

    @TempDir
    Path tmp;

    /** qcow2's oracle: qemu-img check and compare, through the LUKS secret where the image is encrypted. */
    record Qcow2Oracle(boolean luks) implements CrashPrefixSuite.Oracle {
        @Override
        public long accept(Path dir, String file, String ctx) {
            JsonNode check = Qcow2Images.check(dir, file, luks);
            assertThat(check.has("exit")).as("qemu-img check ran: " + check + ctx).isFalse();
            assertThat(check.path("corruptions").asInt(0)).as("no corruption: " + check + ctx).isZero();
            assertThat(check.path("check-errors").asInt(0)).as("no check errors: " + check + ctx).isZero();
            return Qcow2Images.virtualSize(dir, file);
        }

        @Override
        public void sameGuestData(Path dir, String reference, String candidate, String ctx) {
            ProcessRunner.Result compared = Qcow2Images.compare(dir, reference, candidate, luks, "-U");
            assertThat(compared.exitCode()).as("guest data as in " + reference + "\n" + compared.describe() + ctx)
                    .isZero();
        }
    }

    @TestFactory
    Stream<DynamicNode> everyPrefixLeavesAnImageQemuAccepts() throws Exception {
        List<DynamicNode> out = new ArrayList<>();
        int s = 0;
        for (Scenario sc : scenarios()) {
            Path dir = Files.createDirectory(tmp.resolve("s" + s++));
            Qcow2Images.make(dir, "original.qcow2", sc.recipe());
            CrashPrefixSuite.of(sc.name(), dir, "original.qcow2", probed -> sc.request(probed.virtualSize()),
                    new Qcow2Oracle(sc.recipe().luks())).ifPresent(out::add);
        }
        return out.stream();
    }
}
