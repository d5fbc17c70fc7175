package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.diskplan.abi.Preallocation;
import org.diskplan.planner.ResizePlan;
import org.diskplan.planner.ResizeRequest;
import org.diskplan.planner.SizeArgument;
import org.diskplan.probe.vhd.VhdLayout;
import org.diskplan.probe.vhd.VhdLayout.Geometry;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * VHD resizes of images the native tools made (qemu's iotest samples, {@link Samples}):
 * Virtual PC ("vpc ", 127 GiB, read by qemu through its CHS geometry, which addresses 2 MiB
 * less than current_size), Hyper-V 2012 R2 ("win ", 127 GiB, current_size, a 4 KiB gap
 * after the BAT) and disk2vhd ("d2v\0" with a NUL, which qemu's table does not list, and
 * the maximum geometry 65535/16/255 at 251 MiB, so qemu takes current_size only because of
 * the geometry; 126 data blocks, the last two stored first). Guest data is written with
 * qemu-io, the CLI resizes, and {@link VhdResizeOracleTest#resizeAndCheck} checks qemu-img
 * info and vhdiinfo against the plan's promise, the old data, zeros in the new range,
 * qemu-img compare against an untouched copy (the kept part for a shrink) and a write of
 * the last MiB (qemu has no vpc check). Here on top: every reader agrees (current_size in
 * both footers is the promise, and a geometry that is not the maximum addresses exactly
 * that), the size is exact where the footer keeps or gets the maximum geometry, the fields
 * the resize does not own are kept ({@link ForeignVhdOracleTest#unownedFieldsKept}), and
 * one crash-prefix case per creator. -Ddiskplan.samples.all=true adds more sizes.
 */
@RequiresOracle({"qemu-img", "qemu-io", "vhdiinfo", "bunzip2"})
class RealVhdImagesTest {
    private static final long G = 1L << 30;

    /** A sample, its creator bytes as the file holds them, and guest data to write first. */
    record Sample(String name, String creator, List<String> data) {
    }

    static final Sample VPC = new Sample("virtualpc-dynamic.vhd", "vpc ",
            List.of("0 64k 0x11", "2M 4k 0x12", "50G 64k 0x13"));
    /** qemu-io's first write puts a block right after the BAT, in Hyper-V's 4 KiB gap. */
    static final Sample HYPERV = new Sample("hyperv2012r2-dynamic.vhd", "win ",
            List.of("0 64k 0x21", "2M 4k 0x22", "50G 64k 0x23"));
    /** As Hyper-V left it: no block, the BAT can grow into the gap before the footer. */
    static final Sample HYPERV_AS_MADE = new Sample("hyperv2012r2-dynamic.vhd", "win ", List.of());
    static final Sample D2V = new Sample("d2v-zerofilled.vhd", "d2v\0",
            List.of("1M 64k 0x31", "150M 4k 0x32", "251M 64k 0x33"));

    /**
     * A case: the sample, the size argument, whether the size must be exactly the one asked
     * (false: the geometry of a CHS-read creator rounds it up), words the plan's notes hold.
     */
    record Case(Sample sample, String size, boolean exact, String expect, String... options) {
        @Override
        public String toString() {
            return sample.name() + " " + size + (options.length > 0 ? " " + String.join(" ", options) : "");
        }
    }

    static Stream<Case> cases() {
        List<Case> c = new ArrayList<>(List.of(
                new Case(VPC, "+1M", false, "you asked"),
                new Case(VPC, "+1G", true, "maximum 65535/16/255"),
                new Case(VPC, "100G", false, "", "--shrink"),
                new Case(HYPERV_AS_MADE, "+1G", true, "grows in place"),
                new Case(HYPERV, "+2M", true, "relocated"),
                new Case(HYPERV, "100G", true, "", "--shrink"),
                new Case(D2V, "+1M", true, "maximum 65535/16/255"),
                new Case(D2V, "+1G", true, "relocated"),
                new Case(D2V, "200M", true, "", "--shrink")));
        if (Boolean.getBoolean("diskplan.samples.all")) {
            c.addAll(List.of(
                    new Case(HYPERV_AS_MADE, "+1M", true, "grows in place"),
                    new Case(HYPERV, "+1G", true, "relocated"),
                    new Case(D2V, "+2M", true, "grows in place"),
                    new Case(VPC, "+2M", false, "you asked"),
                    new Case(VPC, "1T", true, "maximum 65535/16/255"),
                    new Case(HYPERV, "+10G", true, ""),
                    new Case(HYPERV, "2040G", true, ""),
                    new Case(D2V, "+512", true, "maximum 65535/16/255"),
                    new Case(D2V, "100G", true, "relocated"),
                    new Case(D2V, "104858112", true, "", "--shrink")));
        }
        return c.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void nativeImagesResizeForEveryReader(Case c, @TempDir Path dir) throws Exception {
        String file = c.sample().name();
        Path image = sample(file, dir);
        byte[] headBefore = ForeignVhdOracleTest.read(image, 0, 512);
        byte[] tailBefore = ForeignVhdOracleTest.read(image, Files.size(image) - 512, 512);
        assertThat(new String(headBefore, VhdLayout.F_CREATOR_APP, 4, StandardCharsets.ISO_8859_1))
                .as("the sample's creator").isEqualTo(c.sample().creator());
        for (String w : c.sample().data()) {
            String[] p = w.split(" ");
            Qcow2Images.run(dir, List.of("qemu-io", "-f", "vpc", "-c", "write -P " + p[2] + " " + p[0] + " " + p[1],
                    file));
        }
        long oldSize = ByteBuffer.wrap(ForeignVhdOracleTest.read(image, VhdLayout.F_CURRENT_SIZE, 8)).getLong();
        boolean maxBefore = isMax(geometry(ForeignVhdOracleTest.read(image, 0, 512)));
        List<String> args = new ArrayList<>(List.of(c.size()));
        args.addAll(List.of(c.options()));
        ResizePlan plan = VhdResizeOracleTest.resizeAndCheck(dir, file, c.sample().data(), args, "");
        assertThat(plan).isNotNull();
        long promised = plan.newVirtualSize();
        String notes = String.join("\n", plan.notes());
        assertThat(notes).as("the way the plan took").contains(c.expect());

        byte[] head = ForeignVhdOracleTest.read(image, 0, 512);
        byte[] tail = ForeignVhdOracleTest.read(image, Files.size(image) - 512, 512);
        for (byte[] footer : List.of(head, tail)) {
            ByteBuffer b = ByteBuffer.wrap(footer);
            assertThat(b.getLong(VhdLayout.F_CURRENT_SIZE)).as("current_size (Windows)").isEqualTo(promised);
            assertThat(b.getLong(VhdLayout.F_ORIGINAL_SIZE)).as("original_size (libvhdi)").isEqualTo(promised);
            Geometry g = geometry(footer);
            if (VhdLayout.sizeFromGeometry(c.sample().creator(), g)) {
                assertThat(g.bytes()).as("a geometry that is not the maximum addresses the size (Virtual PC)")
                        .isEqualTo(promised);
            }
            if (maxBefore && oldSize < Geometry.MAX.bytes()) {
                assertThat(isMax(g)).as("disk2vhd's maximum geometry kept").isTrue();
            }
        }
        if (c.exact()) {
            // the size asked, as the CLI resolves a relative one: from the size qemu shows
            long qemuOld = plan.oldVirtualSize();
            long asked = SizeArgument.parse(c.size()).resolve(qemuOld);
            assertThat(promised).as("the size asked, exactly").isEqualTo(asked);
            assertThat(notes).doesNotContain("you asked");
        } else {
            assertThat(notes).contains("you asked");
        }
        ForeignVhdOracleTest.unownedFieldsKept(image, false, headBefore, tailBefore);
    }

    /** One crash-prefix case per creator, through the shared suite. */
    @TestFactory
    Stream<DynamicNode> everyPrefixLeavesTheOldOrTheNewImage(@TempDir Path tmp) throws Exception {
        List<DynamicNode> out = new ArrayList<>();
        List<Object[]> cases = List.of(
                new Object[] {VPC, "+1G"},
                new Object[] {HYPERV, "+1G"},
                new Object[] {D2V, "+1G"});
        int n = 0;
        for (Object[] k : cases) {
            Sample s = (Sample) k[0];
            Path dir = Files.createDirectory(tmp.resolve("c" + n++));
            // sparse: the suite's oracles never look at allocation (see CrashPrefixSuite.copy)
            Samples.sparseCopy(Samples.qemuOnce(s.name(), decompressed), dir.resolve("original.vhd"));
            for (String w : s.data()) {
                String[] p = w.split(" ");
                Qcow2Images.run(dir, List.of("qemu-io", "-f", "vpc", "-c", "write -P " + p[2] + " " + p[0] + " "
                        + p[1], "original.vhd"));
            }
            String size = (String) k[1];
            CrashPrefixSuite.of(s.name() + " " + size, dir, "original.vhd",
                    probed -> new ResizeRequest(SizeArgument.parse(size).resolve(probed.virtualSize()), false,
                            Preallocation.OFF),
                    new CrashPrefixSuite.Qemu("vpc", false, Optional.of("vhdiinfo"))).ifPresent(out::add);
        }
        return out.stream();
    }

    /** One decompression per sample for the class (disk2vhd's is 252 MiB), copied for each case. */
    @TempDir
    static Path decompressed;

    private static Path sample(String name, Path dir) throws Exception {
        return Files.copy(Samples.qemuOnce(name, decompressed), dir.resolve(name));
    }

    private static Geometry geometry(byte[] footer) {
        ByteBuffer b = ByteBuffer.wrap(footer);
        return new Geometry(Short.toUnsignedInt(b.getShort(VhdLayout.F_CYLINDERS)),
                Byte.toUnsignedInt(b.get(VhdLayout.F_HEADS)), Byte.toUnsignedInt(b.get(VhdLayout.F_SECTORS)));
    }

    private static boolean isMax(Geometry g) {
        return g.sectors() == Geometry.MAX.sectors();
    }
}
