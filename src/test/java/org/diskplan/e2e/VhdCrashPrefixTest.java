package org.diskplan.e2e;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.diskplan.abi.Preallocation;
import org.diskplan.planner.ResizeRequest;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Crash prefixes of VHD plans through the shared suite: after every sampled step qemu-img
 * info opens the image with the old size before the commit and the new size from it on,
 * vhdiinfo reads it (the file ends in a valid footer), and qemu-img compare finds the
 * original guest data or the finished resize's. qemu has no vpc check.
 */
@RequiresOracle({"qemu-img", "qemu-io", "vhdiinfo"})
class VhdCrashPrefixTest {
    @TempDir
    Path tmp;

    record Case(String name, String create, String base, String newSize, boolean shrink, Preallocation mode) {
    }

    static final List<Case> CASES = List.of(
            new Case("dynamic grow, BAT in place", "subformat=dynamic", "64M", "200M", false, Preallocation.OFF),
            new Case("dynamic grow, BAT relocated past a block", "subformat=dynamic", "64M", "1G", false,
                    Preallocation.OFF),
            new Case("dynamic force_size grow 1G -> 1T", "subformat=dynamic,force_size=on", "1G", "1T", false,
                    Preallocation.OFF),
            new Case("dynamic shrink", "subformat=dynamic", "64M", "20M", true, Preallocation.OFF),
            new Case("fixed grow", "subformat=fixed", "64M", "100M", false, Preallocation.OFF),
            new Case("fixed one-sector grow", "subformat=fixed,force_size=on", "64M", "67109376", false,
                    Preallocation.OFF),
            new Case("fixed grow, preallocation=full", "subformat=fixed", "16M", "24M", false, Preallocation.FULL),
            new Case("fixed grow, preallocation=falloc", "subformat=fixed", "16M", "24M", false,
                    Preallocation.FALLOC),
            new Case("fixed shrink", "subformat=fixed", "64M", "32M", true, Preallocation.OFF));

    @TestFactory
    Stream<DynamicNode> everyPrefixLeavesTheOldOrTheNewImage() throws Exception {
        CrashPrefixSuite.Qemu oracle = new CrashPrefixSuite.Qemu("vpc", false, Optional.of("vhdiinfo"));
        Stream<DynamicNode> made = CrashPrefixSuite.everyCase(tmp, CASES, Case::name, "original.vhd",
                c -> probed -> new ResizeRequest(size(c.newSize()), c.shrink(), c.mode()), oracle, (c, dir) -> {
            Qcow2Images.run(dir, List.of("qemu-img", "create", "-q", "-f", "vpc", "-o", c.create(), "original.vhd",
                    c.base()));
            for (String w : List.of("write -P 0x11 0 1M", "write -P 0x22 5M 64k", "write -P 0x33 12M 1M")) {
                Qcow2Images.run(dir, List.of("qemu-io", "-f", "vpc", "-c", w, "original.vhd"));
            }
        });
        // Layouts other tools write (ForeignVhd): blocks moved for the BAT, a block past the
        // geometry dropped, a relocation behind zero sectors, a fixed grow inside the bytes
        // before a Virtual PC footer.
        List<Foreign> foreign = List.of(new Foreign(ForeignVhdOracleTest.MOVES, "110G"),
                new Foreign(ForeignVhdOracleTest.VPC, "200M"), new Foreign(ForeignVhdOracleTest.D2V, "1G"),
                new Foreign(ForeignVhdOracleTest.LOCATOR, "1G"), new Foreign(ForeignVhdOracleTest.VPC_FIXED, "61M"));
        Stream<DynamicNode> written = CrashPrefixSuite.everyCase(tmp, foreign,
                f -> f.image().name() + " -> " + f.newSize(), "original.vhd",
                f -> CrashPrefixSuite.resizeTo(size(f.newSize())), oracle, (f, dir) -> {
            f.image().write(dir.resolve("original.vhd"));
            for (String w : ForeignVhdOracleTest.qemuWrites(f.image())) {
                String[] p = w.split(" ");
                Qcow2Images.run(dir, List.of("qemu-io", "-f", "vpc", "-c", "write -P " + p[2] + " " + p[0] + " "
                        + p[1], "original.vhd"));
            }
        });
        return Stream.concat(made, written);
    }

    /** A layout another tool writes, grown to {@code newSize}. */
    record Foreign(ForeignVhd image, String newSize) {
    }

    /** A case's size as the CLI reads it ("110G"). */
    private static long size(String text) {
        try {
            return org.diskplan.planner.SizeArgument.parse(text).resolve(0);
        } catch (org.diskplan.planner.SizeSyntaxException e) {
            throw new AssertionError("a case's size: " + text, e);
        }
    }
}
