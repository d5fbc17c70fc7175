package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Crash prefixes of VMDK plans through the shared suite: qemu-img check clean, vmdkinfo
 * reads it, qemu-img info the old size before the commit and the new one from it on,
 * qemu-img compare the original or the finished image. Covers a grow whose directory
 * grows in place, one that moves both directories, an odd grow that clears a partly used
 * last grain, shrinks, and descriptor-file plans over several files (monolithicFlat, a
 * twoGbMaxExtentFlat grow that creates extent files, a shrink that cuts the last extent),
 * the whole folder copied per prefix.
 */
@RequiresOracle({"qemu-img", "qemu-io", "vmdkinfo"})
class VmdkCrashPrefixTest {
    @TempDir
    Path tmp;

    record Case(String name, String options, String base, long newSize) {
    }

    static final List<Case> CASES = List.of(
            new Case("monolithicSparse grow in place", "", "1G", 3L << 30),
            new Case("monolithicSparse grow, directories moved (1G -> 100G)", "", "1G", 100L << 30),
            new Case("monolithicSparse odd grow", "", "20971008", 1073742336L),
            new Case("monolithicSparse odd shrink", "", "64M", (6L << 20) + 512),
            new Case("monolithicFlat grow", "subformat=monolithicFlat", "64M", (1L << 30) + 512),
            new Case("monolithicFlat shrink", "subformat=monolithicFlat", "64M", (6L << 20) + 512),
            new Case("twoGbMaxExtentFlat grow adding extents", "subformat=twoGbMaxExtentFlat", "3G", 9L << 30),
            new Case("twoGbMaxExtentFlat shrink in the last extent", "subformat=twoGbMaxExtentFlat", "3G",
                    (2L << 30) + (1L << 20)),
            new Case("twoGbMaxExtentFlat shrink removing extent files (5G -> 1G)", "subformat=twoGbMaxExtentFlat",
                    "5G", 1L << 30),
            new Case("twoGbMaxExtentSparse grow adding sparse extents", "subformat=twoGbMaxExtentSparse", "3G",
                    (9L << 30) + 512),
            new Case("twoGbMaxExtentSparse shrink removing extent files", "subformat=twoGbMaxExtentSparse", "5G",
                    2L << 30));

    @TestFactory
    Stream<DynamicNode> everyPrefixLeavesTheOldOrTheNewImage() throws Exception {
        return CrashPrefixSuite.everyCase(tmp, CASES, Case::name, "original.vmdk",
                c -> CrashPrefixSuite.resizeTo(c.newSize()),
                new CrashPrefixSuite.Qemu("vmdk", true, Optional.of("vmdkinfo")), (c, dir) -> {
            List<String> create = new ArrayList<>(List.of("create", "-q", "-f", "vmdk"));
            if (!c.options().isEmpty()) {
                create.addAll(List.of("-o", c.options()));
            }
            create.addAll(List.of("original.vmdk", c.base()));
            assertThat(Qemu.img(dir, create).exitCode()).isZero();
            ProcessRunner.Result io = ProcessRunner.of(Oracles.require("qemu-io").toString(), "-f", "vmdk",
                    "-c", "write -P 0x5a 0 1M", "-c", "write -P 0x44 2M 512k", "-c", "write -P 0x33 5M 1M",
                    "-c", "write -P 0x21 " + (19L << 20) + " 512k", "original.vmdk").in(dir).run();
            assertThat(io.exitCode()).as(io.describe()).isZero();
        });
    }
}
