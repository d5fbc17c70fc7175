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
        List<DynamicNode> out = new ArrayList<>();
        int n = 0;
        for (Case c : CASES) {
            Path dir = Files.createDirectory(tmp.resolve("v" + n++));
            Qcow2Images.run(dir, List.of("qemu-img", "create", "-q", "-f", "vpc", "-o", c.create(), "original.vhd",
                    c.base()));
            for (String w : List.of("write -P 0x11 0 1M", "write -P 0x22 5M 64k", "write -P 0x33 12M 1M")) {
                Qcow2Images.run(dir, List.of("qemu-io", "-f", "vpc", "-c", w, "original.vhd"));
            }
            long size = org.diskplan.planner.SizeArgument.parse(c.newSize()).resolve(0);
            CrashPrefixSuite.of(c.name(), dir, "original.vhd",
                    probed -> new ResizeRequest(size, c.shrink(), c.mode()),
                    new CrashPrefixSuite.Qemu("vpc", false, Optional.of("vhdiinfo"))).ifPresent(out::add);
        }
        // Layouts other tools write (ForeignVhd): blocks moved for the BAT, a block past the
        // geometry dropped, a relocation behind zero sectors, a fixed grow inside the bytes
        // before a Virtual PC footer.
        List<Object[]> foreign = List.of(
                new Object[] {ForeignVhdOracleTest.MOVES, "110G", false},
                new Object[] {ForeignVhdOracleTest.VPC, "200M", false},
                new Object[] {ForeignVhdOracleTest.D2V, "1G", false},
                new Object[] {ForeignVhdOracleTest.LOCATOR, "1G", false},
                new Object[] {ForeignVhdOracleTest.VPC_FIXED, "61M", false});
        for (Object[] f : foreign) {
            ForeignVhd image = (ForeignVhd) f[0];
            Path dir = Files.createDirectory(tmp.resolve("v" + n++));
            image.write(dir.resolve("original.vhd"));
            for (String w : ForeignVhdOracleTest.qemuWrites(image)) {
                String[] p = w.split(" ");
                Qcow2Images.run(dir, List.of("qemu-io", "-f", "vpc", "-c", "write -P " + p[2] + " " + p[0] + " "
                        + p[1], "original.vhd"));
            }
            long size = org.diskplan.planner.SizeArgument.parse((String) f[1]).resolve(0);
            CrashPrefixSuite.of(image.name() + " -> " + f[1], dir, "original.vhd",
                    probed -> new ResizeRequest(size, (Boolean) f[2], Preallocation.OFF),
                    new CrashPrefixSuite.Qemu("vpc", false, Optional.of("vhdiinfo"))).ifPresent(out::add);
        }
        return out.stream();
    }
}
