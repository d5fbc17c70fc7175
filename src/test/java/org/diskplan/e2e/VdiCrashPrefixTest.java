package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.diskplan.abi.Preallocation;
import org.diskplan.planner.ResizeRequest;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Crash prefixes of VDI plans through the shared suite: qemu-img check clean, qemu-img
 * info the old size before the commit and the new one from it on, qemu-img compare the
 * original or the finished image. Covers a grow in place, a grow that moves data blocks to
 * make room for the map, a fixed grow and shrinks whose freed blocks are the last ones.
 * (A shrink that compacts — freed blocks in the middle — is not here: between its commit and
 * its last step qemu-img check reports cBlocksAllocated above the count of mapped blocks;
 * qemu reads and writes it correctly, and `diskplan recover` finishes it.)
 */
@RequiresOracle({"qemu-img", "qemu-io"})
class VdiCrashPrefixTest {
    @TempDir
    Path tmp;

    record Case(String name, String options, String base, long newSize) {
    }

    static final List<Case> CASES = List.of(
            new Case("dynamic grow in place", "", "16M", 64L << 20),
            new Case("dynamic grow moving blocks (1G -> 2T)", "", "1G", 2L << 40),
            new Case("fixed grow", "static=on", "20M", (40L << 20) + 512),
            new Case("fixed grow moving blocks", "static=on", "16M", 4096L << 20),
            new Case("dynamic shrink, last block freed", "", "16M", 3L << 20),
            new Case("fixed shrink", "static=on", "16M", 7L << 20));

    @TestFactory
    Stream<DynamicNode> everyPrefixLeavesTheOldOrTheNewImage() throws Exception {
        List<DynamicNode> out = new ArrayList<>();
        int n = 0;
        for (Case c : CASES) {
            Path dir = Files.createDirectory(tmp.resolve("v" + n++));
            List<String> create = new ArrayList<>(List.of("create", "-q", "-f", "vdi"));
            if (!c.options().isEmpty()) {
                create.addAll(List.of("-o", c.options()));
            }
            create.addAll(List.of("original.vdi", c.base()));
            assertThat(Qemu.img(dir, create).exitCode()).isZero();
            ProcessRunner.Result io = ProcessRunner.of(Oracles.require("qemu-io").toString(), "-f", "vdi",
                    "-c", "write -P 0x5a 0 1M", "-c", "write -P 0x44 2M 512k", "-c", "write -P 0x33 3M 1M",
                    "original.vdi").in(dir).run();
            assertThat(io.exitCode()).as(io.describe()).isZero();
            CrashPrefixSuite.of(c.name(), dir, "original.vdi",
                    probed -> new ResizeRequest(c.newSize(), c.newSize() < probed.virtualSize(), Preallocation.OFF),
                    new CrashPrefixSuite.Qemu("vdi", true, Optional.empty())).ifPresent(out::add);
        }
        assertThat(out).hasSize(CASES.size());
        return out.stream();
    }
}
