package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.diskplan.probe.vhd.VhdLayout.DEFAULT_BLOCK_SIZE;
import static org.diskplan.probe.vhd.VhdLayout.SECTOR;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.diskplan.planner.ResizePlan;
import org.diskplan.probe.vhd.VhdLayout.Geometry;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * VHD resizes of images laid out as Hyper-V, Virtual PC, disk2vhd, VirtualBox and qemu with
 * force_size lay them out ({@link ForeignVhd}), not as qemu-img create does: the planner
 * must not assume qemu's layout. Which reader uses which size field, by creator (qemu's
 * block/vpc.c table): "vpc " (Virtual PC), "qemu" and "vbox" (VirtualBox, not in qemu's
 * list) are read by qemu through the CHS geometry; "win " (Hyper-V), "d2v " (disk2vhd) and
 * "qem2" through current_size; libvhdi reports original_size, Windows current_size. Each
 * case writes more guest data with qemu-io, resizes with the CLI and runs the checks of
 * {@link VhdResizeOracleTest#resizeAndCheck} (qemu-img info, vhdiinfo, old data, zeros in
 * the new range, qemu-img compare, a write of the last MiB; qemu has no vpc check), then
 * checks that the plan took the expected way (BAT in place, relocated, blocks moved) and
 * that the fields the resize does not own (creator, version, host OS, UUID, timestamp) and
 * parent locator data are unchanged.
 */
@RequiresOracle({"qemu-img", "qemu-io", "vhdiinfo"})
class ForeignVhdOracleTest {
    private static final long M = 1 << 20;
    private static final long G = 1L << 30;

    record Case(ForeignVhd image, String size, String expect, String... options) {
        @Override
        public String toString() {
            return image.name() + " -> " + size + (options.length > 0 ? " " + String.join(" ", options) : "");
        }
    }

    /** Hyper-V (Windows 8 and later): data 4 KiB aligned, current_size read, not CHS exact. */
    static final ForeignVhd HYPERV = ForeignVhd.dynamic("Hyper-V dynamic, blocks 4 KiB aligned", "win ", "Wi2k",
            100 * M + 7 * SECTOR, 0, 3, 20).version(0x000a_0000).align(4096);
    /** Data blocks 2 MiB aligned: a large slack between the BAT and the first block. */
    static final ForeignVhd HYPERV_2M = ForeignVhd.dynamic("Hyper-V dynamic, blocks 2 MiB aligned", "win ", "Wi2k",
            100 * M, 0, 1, 7).version(0x0006_0001).align(2 * M);
    /** Virtual PC: geometry smaller than current_size (block 31 past what qemu shows), no slack. */
    static final ForeignVhd VPC = ForeignVhd.dynamic("Virtual PC for Mac, CHS below current_size", "vpc ", "Mac ",
            64 * M, 0, 29, 31).geometry(Geometry.of(60 * M / SECTOR));
    /** disk2vhd: exact current_size, BAT capacity 4x the need, blocks in reverse order, zero sectors at the end. */
    static final ForeignVhd D2V = ForeignVhd.dynamic("disk2vhd, large BAT, blocks out of order, zero tail", "d2v ",
            "Wi2k", 80 * M + 3 * SECTOR, 40, 5, 2, 0).version(0x0001_0000).maxEntries(160).zeroTail(8);
    static final ForeignVhd VBOX = ForeignVhd.dynamic("VirtualBox, read through CHS by qemu", "vbox", "Wi2k",
            50 * M + 5 * SECTOR, 0, 10).version(0x0006_0001);
    /** The BAT at 512, the dynamic header after it, not after the footer copy. */
    static final ForeignVhd HEADER_AFTER_BAT = ForeignVhd.dynamic("qem2, dynamic header after the BAT", "qem2",
            "Wi2k", 64 * M, 0, 3).tables(2048, 512);
    static final ForeignVhd LOCATOR = ForeignVhd.dynamic("Hyper-V, parent locator on a dynamic disk", "win ",
            "Wi2k", 64 * M, 0, 1).withLocator();
    static final ForeignVhd SMALL_BLOCKS = ForeignVhd.dynamic("512 KiB blocks, qemu creator", "qemu", "Wi2k",
            Geometry.covering(64 * M / SECTOR).bytes(), 0, 50, 127).blockSize(512 << 10);
    static final ForeignVhd BIG_BLOCKS = ForeignVhd.dynamic("4 MiB blocks, Hyper-V", "win ", "Wi2k", 64 * M, 0, 15)
            .blockSize(4 << 20).align(4096);
    /** A large BAT (800 KiB) with a block right after it: moving that block is cheaper than relocating. */
    static final ForeignVhd MOVES = ForeignVhd.dynamic("Hyper-V 100 GiB, 512 KiB blocks, block after the BAT",
            "win ", "Wi2k", 100 * G, 0, 1, 204799).blockSize(512 << 10);
    static final ForeignVhd VPC_FIXED = ForeignVhd.fixed("Virtual PC fixed, footer past the CHS size", "vpc ",
            "Wi2k", 64 * M, Geometry.of(60 * M / SECTOR));
    static final ForeignVhd HYPERV_FIXED = ForeignVhd.fixed("Hyper-V fixed, not CHS exact", "win ", "Wi2k",
            64 * M + 3 * SECTOR, null).version(0x000a_0000);

    /** The cases run by default (about 40 s); -Ddiskplan.vhd.foreign.all=true adds the others. */
    static Stream<Case> cases() {
        List<Case> c = new ArrayList<>(List.of(
                new Case(HYPERV, "300M", "grows in place"),
                new Case(HYPERV, "50M", "", "--shrink"),
                new Case(HYPERV_2M, "500G", "grows in place"),
                new Case(VPC, "200M", "dropped"),
                new Case(VPC, "40M", "", "--shrink"),
                new Case(D2V, "200M", ""),
                new Case(D2V, "1G", "relocated"),
                new Case(VBOX, "300M", "relocated"),
                new Case(HEADER_AFTER_BAT, "1G", "dynamic header or parent locator lies in its way"),
                new Case(LOCATOR, "1G", "dynamic header or parent locator lies in its way"),
                new Case(SMALL_BLOCKS, "200M", "relocated"),
                new Case(BIG_BLOCKS, "10M", "", "--shrink"),
                new Case(MOVES, "110G", "move to the end"),
                new Case(VPC_FIXED, "+512", "qemu did not show, become zeros"),
                new Case(VPC_FIXED, "100M", "qemu did not show, become zeros"),
                new Case(HYPERV_FIXED, "100M", "")));
        if (Boolean.getBoolean("diskplan.vhd.foreign.all")) {
            c.addAll(List.of(
                    new Case(HYPERV, "4G", "relocated"),
                    new Case(HYPERV_2M, "1T", "relocated"),
                    new Case(VPC, "1G", "relocated"),
                    new Case(D2V, "60M", "", "--shrink"),
                    new Case(HEADER_AFTER_BAT, "200M", "grows in place"),
                    new Case(LOCATOR, "200M", "grows in place"),
                    new Case(SMALL_BLOCKS, "30M", "", "--shrink"),
                    new Case(BIG_BLOCKS, "2G", "relocated"),
                    new Case(VPC_FIXED, "32M", "", "--shrink"),
                    new Case(HYPERV_FIXED, "20M", "", "--shrink")));
        }
        return c.stream();
    }

    /** qemu-io writes into two blocks the builder left unallocated (so the patterns do not overlap). */
    static List<String> qemuWrites(ForeignVhd image) {
        List<String> out = new ArrayList<>();
        long bs = image.fixed() ? DEFAULT_BLOCK_SIZE : image.blockSize();
        Set<Integer> used = new HashSet<>();
        Arrays.stream(image.blocks()).forEach(used::add);
        long last = image.qemuSize() / bs - 1;
        int pattern = 0x7e;
        for (long i = 1; i < last && out.size() < 2; i += 3) {
            if (!used.contains((int) i)) {
                out.add((i * bs + 4096) + " 65536 0x" + Integer.toHexString(pattern--));
            }
        }
        return out;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void foreignLayoutsResizeForEveryReader(Case c, @TempDir Path dir) throws Exception {
        String file = "disk.vhd";
        Path image = dir.resolve(file);
        c.image().write(image);
        List<String> data = new ArrayList<>(c.image().data());
        for (String w : qemuWrites(c.image())) {
            String[] p = w.split(" ");
            Qcow2Images.run(dir, List.of("qemu-io", "-f", "vpc", "-c", "write -P " + p[2] + " " + p[0] + " " + p[1],
                    file));
            data.add(w);
        }
        byte[] headBefore = read(image, 0, 512);
        byte[] tailBefore = read(image, Files.size(image) - 512, 512);
        List<String> args = new ArrayList<>(List.of(c.size()));
        args.addAll(List.of(c.options()));
        ResizePlan plan = VhdResizeOracleTest.resizeAndCheck(dir, file, data, args, "");
        assertThat(plan).isNotNull();
        assertThat(plan.notes()).as("which reader uses which field").anyMatch(n -> n.contains("creator '"
                + c.image().creator().trim()));
        if (!c.expect().isEmpty()) {
            assertThat(String.join("\n", plan.notes())).as("the way the plan took").contains(c.expect());
        }
        unownedFieldsKept(image, c.image().fixed(), headBefore, tailBefore);
        if (c.image().locator()) {
            byte[] text = c.image().locatorData();
            assertThat(read(image, c.image().locatorAt(), text.length)).as("parent locator data kept")
                    .isEqualTo(text);
        }
    }

    /**
     * Asserts that the footers of {@code image} (the tail one, and for a dynamic image the copy
     * at 0) keep the fields a resize does not own, as they were in the footer {@code tailBefore}
     * (fixed) or {@code headBefore} (dynamic): cookie .. creator host OS, disk type, unique id ..
     * reserved.
     */
    static void unownedFieldsKept(Path image, boolean fixed, byte[] headBefore, byte[] tailBefore)
            throws Exception {
        byte[] head = read(image, 0, 512);
        byte[] tail = read(image, Files.size(image) - 512, 512);
        byte[] before = fixed ? tailBefore : headBefore;
        for (byte[] now : fixed ? List.of(tail) : List.of(head, tail)) {
            assertThat(Arrays.copyOfRange(now, 0, 40)).as("cookie .. creator host OS kept")
                    .isEqualTo(Arrays.copyOfRange(before, 0, 40));
            assertThat(Arrays.copyOfRange(now, 60, 64)).as("disk type kept")
                    .isEqualTo(Arrays.copyOfRange(before, 60, 64));
            assertThat(Arrays.copyOfRange(now, 68, 512)).as("unique id, saved state kept")
                    .isEqualTo(Arrays.copyOfRange(before, 68, 512));
        }
    }

    static byte[] read(Path f, long at, int len) throws Exception {
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "r")) {
            byte[] b = new byte[len];
            raf.seek(at);
            raf.readFully(b);
            return b;
        }
    }
}
