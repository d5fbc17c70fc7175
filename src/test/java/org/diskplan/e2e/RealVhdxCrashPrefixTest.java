package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Crash prefixes of VHDX resizes of images the native tools made (see {@link RealVhdxImagesTest}),
 * through the shared suite with {@link VhdxCrashPrefixTest}'s oracle (qemu replays the log on
 * a read-write open first). For the sample with a log left to replay, the image before the
 * commit is the original as qemu replays it: a copy replayed with {@code qemu-img check -r all}
 * stands for the original in the guest data comparison, and every prefix before DiskPlan's
 * commit must still replay to it (the pending entries stay valid until then).
 */
@RequiresOracle({"qemu-img", "qemu-io", "vhdiinfo"})
class RealVhdxCrashPrefixTest {
    @TempDir
    Path tmp;

    record Case(String name, String sample, long newSize) {
    }

    static final List<Case> CASES = List.of(
            new Case("Hyper-V dynamic 32M blocks, grow (1G -> 2G)", RealVhdxImagesTest.HYPERV, 2L << 30),
            new Case("disk2vhd, shrink dropping fully present blocks (256M -> 100M)", RealVhdxImagesTest.DISK2VHD,
                    100L << 20),
            new Case("dirty log, replayed by the grow (10G -> 11G)", RealVhdxImagesTest.DIRTY, 11L << 30));

    /** Compares with {@code replayed} wherever the suite names the original (whose log is live). */
    record ReplayedOriginal(CrashPrefixSuite.Oracle inner, String original, String replayed)
            implements CrashPrefixSuite.Oracle {
        @Override
        public long accept(Path dir, String file, String ctx) {
            return inner.accept(dir, file, ctx);
        }

        @Override
        public void sameGuestData(Path dir, String reference, String candidate, String ctx) {
            inner.sameGuestData(dir, reference.equals(original) ? replayed : reference, candidate, ctx);
        }
    }

    @TestFactory
    Stream<DynamicNode> everyPrefixLeavesTheOldOrTheNewImage() throws Exception {
        CrashPrefixSuite.Oracle oracle = new VhdxCrashPrefixTest.Replayed(
                new CrashPrefixSuite.Qemu("vhdx", true, Optional.of("vhdiinfo")));
        return CrashPrefixSuite.everyCase(tmp, CASES, Case::name, "original.vhdx",
                c -> CrashPrefixSuite.resizeTo(c.newSize()),
                new ReplayedOriginal(oracle, "original.vhdx", "replayed.vhdx"), (c, dir) -> {
            Samples.qemuOnce(c.sample(), dir);
            Files.move(dir.resolve(c.sample()), dir.resolve("original.vhdx"));
            RealVhdxImagesTest.copy(dir, "original.vhdx", dir, "replayed.vhdx");
            ProcessRunner.Result r = Qemu.img(dir, "check", "-r", "all", "-f", "vhdx", "replayed.vhdx");
            assertThat(r.exitCode()).as(r.describe()).isZero();
        });
    }
}
