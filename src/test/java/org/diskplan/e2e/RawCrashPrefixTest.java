package org.diskplan.e2e;

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
 * Crash prefixes of raw plans through the shared suite: qemu-img info and compare must
 * see the old file before the commit and the finished one from it on, for a grow, a grow
 * of an empty file (qemu's first block), a shrink and each preallocation mode.
 */
@RequiresOracle({"qemu-img", "qemu-io"})
class RawCrashPrefixTest {
    @TempDir
    Path tmp;

    record Case(String name, long length, long newSize, Preallocation mode) {
    }

    static final List<Case> CASES = List.of(
            new Case("grow", 8L << 20, 24L << 20, Preallocation.OFF),
            new Case("grow an empty file", 0, 1L << 20, Preallocation.OFF),
            new Case("shrink", 8L << 20, 3L << 20, Preallocation.OFF),
            new Case("grow, preallocation=falloc", 8L << 20, 24L << 20, Preallocation.FALLOC),
            new Case("grow, preallocation=full", 8L << 20, 24L << 20, Preallocation.FULL),
            new Case("grow an empty file, preallocation=falloc", 0, 1L << 20, Preallocation.FALLOC));

    @TestFactory
    Stream<DynamicNode> everyPrefixLeavesTheOldOrTheNewFile() throws Exception {
        List<DynamicNode> out = new ArrayList<>();
        int n = 0;
        for (Case c : CASES) {
            Path dir = Files.createDirectory(tmp.resolve("r" + n++));
            Path file = dir.resolve("original.raw");
            Images.write(file, Images.pattern((int) c.length(), n));
            CrashPrefixSuite.of(c.name(), dir, "original.raw",
                    probed -> new ResizeRequest(c.newSize(), c.newSize() < c.length(), c.mode()),
                    new CrashPrefixSuite.Qemu("raw", false, Optional.empty())).ifPresent(out::add);
        }
        return out.stream();
    }
}
