package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Crash prefixes of VHDX plans through the shared suite. Each stopped image is first
 * opened read-write by qemu ({@code qemu-img check -r all}), which replays the log when the
 * header commit made it live, exactly as after a real crash; then qemu-img check is clean,
 * vhdiinfo reads it, qemu-img info shows the old size before the commit and the new one from
 * it on, and qemu-img compare finds the original's or the finished image's guest data.
 */
@RequiresOracle({"qemu-img", "qemu-io", "vhdiinfo"})
class VhdxCrashPrefixTest {
    @TempDir
    Path tmp;

    record Case(String name, String options, String base, long newSize) {
    }

    static final List<Case> CASES = List.of(
            new Case("dynamic grow within the BAT", "block_size=1M", "16M", 64L << 20),
            new Case("dynamic grow relocating the BAT (1G -> 130G)", "block_size=1M", "1G", 130L << 30),
            new Case("fixed grow", "subformat=fixed,block_size=1M", "20M", (40L << 20) + 512),
            new Case("dynamic shrink", "block_size=1M", "16M", 6L << 20),
            new Case("fixed shrink", "subformat=fixed,block_size=8M", "64M", 20L << 20));

    /** qemu's read-write open first: it replays a live log, as it would after a crash. */
    record Replayed(CrashPrefixSuite.Qemu qemu) implements CrashPrefixSuite.Oracle {
        @Override
        public long accept(Path dir, String file, String ctx) {
            ProcessRunner.Result r = Qcow2Images.tryRun(dir, List.of("qemu-img", "check", "-r", "all", "-f", "vhdx",
                    file));
            assertThat(r.exitCode()).as("qemu-img check -r all (replays the log)\n" + r.describe() + ctx).isZero();
            return qemu.accept(dir, file, ctx);
        }

        @Override
        public void sameGuestData(Path dir, String reference, String candidate, String ctx) {
            qemu.sameGuestData(dir, reference, candidate, ctx);
        }
    }

    @TestFactory
    Stream<DynamicNode> everyPrefixLeavesTheOldOrTheNewImage() throws Exception {
        return CrashPrefixSuite.everyCase(tmp, CASES, Case::name, "original.vhdx",
                c -> CrashPrefixSuite.resizeTo(c.newSize()),
                new Replayed(new CrashPrefixSuite.Qemu("vhdx", true, Optional.of("vhdiinfo"))), (c, dir) -> {
            assertThat(Qemu.img(dir, List.of("create", "-q", "-f", "vhdx", "-o", c.options(), "original.vhdx",
                    c.base())).exitCode()).isZero();
            ProcessRunner.Result io = ProcessRunner.of(Oracles.require("qemu-io").toString(), "-f", "vhdx",
                    "-c", "write -P 0x5a 0 1M", "-c", "write -P 0x44 2M 512k", "-c", "write -P 0x33 3M 1M",
                    "original.vhdx").in(dir).run();
            assertThat(io.exitCode()).as(io.describe()).isZero();
        });
    }
}
