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
 * Crash prefixes of VDI plans through the shared suite: qemu-img check clean, qemu-img
 * info the old size before the commit and the new one from it on, qemu-img compare the
 * original or the finished image. Covers a grow in place, a grow that moves data blocks to
 * make room for the map, a fixed grow and shrinks whose freed blocks are the last ones.
 * Covers compacting shrinks too: blocks of dropped entries below kept ones, kept blocks
 * above the new cBlocks; every prefix must still be clean in qemu-img check. And images in
 * VirtualBox's layout ({@link VirtualBoxVdi}) with blocks allocated out of order.
 */
@RequiresOracle({"qemu-img", "qemu-io"})
class VdiCrashPrefixTest {
    @TempDir
    Path tmp;

    /** {@code virtualBox}: made by {@link VirtualBoxVdi} (dynamic) of {@code base} MiB instead of qemu-img. */
    record Case(String name, String options, String base, long newSize, List<String> writes, boolean virtualBox) {
        Case(String name, String options, String base, long newSize) {
            this(name, options, base, newSize, WRITES, false);
        }

        Case(String name, String options, String base, long newSize, List<String> writes) {
            this(name, options, base, newSize, writes, false);
        }
    }

    static final List<String> OUT_OF_ORDER = List.of("write -P 0x21 40M 1M", "write -P 0x22 63M 1M",
            "write -P 0x23 20M 8M", "write -P 0x5a 0 1M", "write -P 0x44 2M 512k", "write -P 0x33 5M 1M");

    static final List<String> WRITES = List.of("write -P 0x5a 0 1M", "write -P 0x44 2M 512k", "write -P 0x33 3M 1M");

    static final List<Case> CASES = List.of(
            new Case("dynamic grow in place", "", "16M", 64L << 20),
            new Case("dynamic grow moving blocks (1G -> 2T)", "", "1G", 2L << 40),
            new Case("fixed grow", "static=on", "20M", (40L << 20) + 512),
            new Case("fixed grow moving blocks", "static=on", "16M", 4096L << 20),
            new Case("dynamic shrink, last block freed", "", "16M", 3L << 20),
            new Case("fixed shrink", "static=on", "16M", 7L << 20),
            // guest 9 written first takes host block 0: the shrink to 6M drops it, host 3 moves down
            new Case("dynamic shrink compacting one block", "", "16M", 6L << 20,
                    List.of("write -P 0x11 9M 1M", "write -P 0x5a 0 1M", "write -P 0x44 2M 512k",
                            "write -P 0x33 5M 1M")),
            // guests 9-11 at hosts 0-2, the kept ones at 3-5, past the new cBlocks (4): all three move
            new Case("dynamic shrink compacting past the new map", "", "16M", 4L << 20,
                    List.of("write -P 0x11 9M 3M", "write -P 0x5a 0 1M", "write -P 0x44 2M 512k",
                            "write -P 0x33 3M 1M")),
            // VirtualBox's layout: map at 1 MiB, data at 2 MiB; a 1 TiB map (4 MiB) moves 3 of 13 blocks
            new Case("VirtualBox layout, grow moving blocks (64M -> 1T)", "", "64", 1L << 40, OUT_OF_ORDER, true),
            new Case("VirtualBox layout, shrink compacting (64M -> 24M)", "", "64", 24L << 20, OUT_OF_ORDER, true));

    @TestFactory
    Stream<DynamicNode> everyPrefixLeavesTheOldOrTheNewImage() throws Exception {
        return CrashPrefixSuite.everyCase(tmp, CASES, Case::name, "original.vdi",
                c -> CrashPrefixSuite.resizeTo(c.newSize()), new CrashPrefixSuite.Qemu("vdi", true, Optional.empty()),
                (c, dir) -> {
            if (c.virtualBox()) {
                VirtualBoxVdi.create(dir.resolve("original.vdi"), Long.parseLong(c.base()) << 20, false, 0);
            } else {
                List<String> create = new ArrayList<>(List.of("create", "-q", "-f", "vdi"));
                if (!c.options().isEmpty()) {
                    create.addAll(List.of("-o", c.options()));
                }
                create.addAll(List.of("original.vdi", c.base()));
                assertThat(Qemu.img(dir, create).exitCode()).isZero();
            }
            List<String> cmd = new ArrayList<>(List.of(Oracles.require("qemu-io").toString(), "-f", "vdi"));
            for (String w : c.writes()) {
                cmd.addAll(List.of("-c", w));
            }
            cmd.add("original.vdi");
            ProcessRunner.Result io = ProcessRunner.of(cmd).in(dir).run();
            assertThat(io.exitCode()).as(io.describe()).isZero();
        });
    }
}
