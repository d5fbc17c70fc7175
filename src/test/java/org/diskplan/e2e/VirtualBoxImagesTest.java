package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Images VirtualBox made ({@code vbox-img createbase}, 7.2, {@link VirtualBox}): VDI
 * Standard and Fixed, VHD Standard and Fixed (creator "vbox"), VMDK Standard
 * (monolithicSparse), Fixed (monolithicFlat), Split2G (twoGbMaxExtentSparse) and Fixed,ESX
 * (vmfs), with guest data written by qemu-io, then resized with {@code diskplan resize}.
 * After each: qemu-img check clean (VDI, VMDK; qemu has no VHD check); qemu-img info and
 * VirtualBox the size asked (VHD: VirtualBox's CHS-exact size, which qemu reads through the
 * geometry, at most 4 MiB more; for VDI also {@code vbox-img info}'s header dump);
 * {@code vbox-img repair --dry-run} (VirtualBox's own consistency check: VDI and VHD; its
 * VMDK backend has none) reports the image consistent; the guest data reads back with
 * qemu-io, the new range reads zero; qemu-img compare with the original converted to raw
 * and cut or lengthened to the new size; VirtualBox reads the same bytes (vbox-img convert
 * to a dynamic VDI, which keeps unallocated blocks unallocated, so even 600 GiB converts in
 * milliseconds where a RAW copy would write every byte, compared by qemu-img with the same
 * raw reference). Where VirtualBox can grow the image itself (vbox-img resize: VDI and VMDK
 * and a VHD whose BAT grows in place, not fixed VDI or VHD), its result on an identical copy
 * has the same size (VHD: see below) and the same content. A streamOptimized VMDK is
 * refused, files unchanged.
 *
 * <p>VirtualBox's own resize is compared where it works: its grow of a dynamic VHD whose BAT
 * must grow (64 MiB to 2 GiB) leaves an image its own repair and qemu reject ("Missing
 * footer structure", BAT entries past the end of the file), and its grow of a flat VMDK
 * (monolithicFlat, vmfs) writes twice the sector count into the extent line (qemu then
 * shows 600 MiB for 300 MiB; VirtualBox itself reads 300), so there only VirtualBox's
 * reading of the two results is compared. Its VHD grow keeps current_size at the size asked
 * with the geometry below it, so qemu shows less; DiskPlan's size is the next one the
 * geometry addresses exactly. (Without {@code -f vpc} qemu probes a fixed VHD as raw, hence
 * the explicit drivers.)
 */
class VirtualBoxImagesTest {
    static final long MIB = 1L << 20;
    static final long GIB = 1L << 30;
    static final long OLD = 64 * MIB;

    /** Guest data: pattern, offset and length (qemu-io syntax), below VirtualBox's 64 MiB. */
    static final List<String> DATA = List.of("0x11 0 1M", "0x12 20M 64k", "0x13 62M 1M");

    /**
     * A case: vbox-img format and variant, file name, qemu driver, new size, and whether
     * VirtualBox's own resize can do the same grow (compared then).
     */
    record Case(String format, String variant, String file, String driver, long newSize, boolean vboxResizes) {
        boolean shrink() {
            return newSize < OLD;
        }

        @Override
        public String toString() {
            return format + " " + variant + " 64M -> " + (newSize % GIB == 0 ? newSize / GIB + "G"
                    : newSize / MIB + "M") + (vboxResizes ? ", and VirtualBox's own resize" : "");
        }
    }

    static Stream<Case> cases() {
        return Stream.of(
                // the map at 1 MiB has room for 256 Ki entries: 2 GiB grows it in place
                new Case("VDI", "Standard", "disk.vdi", "vdi", 2 * GIB, true),
                // 600 GiB needs 2.4 MB of map: the data blocks in the way move
                new Case("VDI", "Standard", "disk.vdi", "vdi", 600 * GIB, true),
                new Case("VDI", "Standard", "disk.vdi", "vdi", 32 * MIB, false),
                new Case("VDI", "Fixed", "disk.vdi", "vdi", 300 * MIB, false),
                new Case("VDI", "Fixed", "disk.vdi", "vdi", 32 * MIB, false),
                // VirtualBox's BAT (32 entries in a 512-byte sector) grows in place: VirtualBox can do it too
                new Case("VHD", "Standard", "disk.vhd", "vpc", 128 * MIB, true),
                new Case("VHD", "Standard", "disk.vhd", "vpc", 2 * GIB, false),
                new Case("VHD", "Standard", "disk.vhd", "vpc", 600 * GIB, false),
                new Case("VHD", "Standard", "disk.vhd", "vpc", 32 * MIB, false),
                new Case("VHD", "Fixed", "disk.vhd", "vpc", 300 * MIB, false),
                new Case("VHD", "Fixed", "disk.vhd", "vpc", 32 * MIB, false),
                new Case("VMDK", "Standard", "disk.vmdk", "vmdk", 2 * GIB, true),
                // the grain directory VirtualBox made (one sector) covers 4 GiB: 20 GiB moves both
                // directories (a larger disk only makes qemu's reads slower: 8 s at 600 GiB)
                new Case("VMDK", "Standard", "disk.vmdk", "vmdk", 20 * GIB, true),
                new Case("VMDK", "Standard", "disk.vmdk", "vmdk", 32 * MIB, false),
                new Case("VMDK", "Fixed", "disk.vmdk", "vmdk", 300 * MIB, true),
                new Case("VMDK", "Fixed", "disk.vmdk", "vmdk", 32 * MIB, false),
                new Case("VMDK", "Split2G", "disk.vmdk", "vmdk", 5 * GIB, true),
                new Case("VMDK", "Fixed,ESX", "disk.vmdk", "vmdk", 300 * MIB, true));
    }

    @TempDir
    Path tmp;

    @BeforeEach
    void needsTheTools() {
        VirtualBox.require();
        for (String tool : List.of("qemu-img", "qemu-io")) {
            if (Oracles.find(tool).isEmpty()) {
                if (Oracles.required()) {
                    throw new AssertionError(Oracles.missingMessage(tool));
                }
                org.junit.jupiter.api.Assumptions.assumeTrue(false, Oracles.missingMessage(tool));
            }
        }
    }

    /** The UUID lines of vbox-img info's VDI header dump (creation, modification, parent ones). */
    static List<String> uuids(String info) {
        return info.lines().filter(l -> l.contains("Header: uuid")).toList();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void resizedVirtualBoxImageIsCleanForVirtualBoxAndQemu(Case c) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("img"));
        VirtualBox.ok(dir, "createbase", "--filename", c.file(), "--size", Long.toString(OLD), "--format",
                c.format(), "--variant", c.variant());
        for (String w : DATA) {
            io(dir, c, "write -P " + w);
        }
        long qemuOld = qemuSize(dir, c);
        Path orig = copyFolder(dir, tmp.resolve("orig"));
        long vboxOld = VirtualBox.convertToVdi(orig, c.file(), tmp.resolve("vb-orig.vdi").toString());
        assertThat(vboxOld).as("VirtualBox's size of what it made").isEqualTo(OLD);

        List<String> args = new ArrayList<>(List.of("resize"));
        if (c.shrink()) {
            args.add("--shrink");
        }
        args.addAll(List.of(c.file(), "--", Long.toString(c.newSize())));
        ProcessRunner.Result us = Diskplan.run(dir, args);
        assertThat(us.exitCode()).as(us.describe()).isZero();

        SoftAssertions soft = new SoftAssertions();
        if (!c.driver().equals("vpc")) {
            ProcessRunner.Result check = Qemu.img(dir, "check", "-f", c.driver(), c.file());
            soft.assertThat(check.exitCode()).as("qemu-img check\n" + check.describe()).isZero();
            soft.assertThat(check.stdout()).as(check.describe()).contains("No errors were found");
        }
        // VirtualBox's size: what it opens when it reads the image
        long vboxNew = VirtualBox.convertToVdi(dir, c.file(), tmp.resolve("vb-new.vdi").toString());
        long qemuNew = qemuSize(dir, c);
        if (c.format().equals("VHD")) {
            soft.assertThat(vboxNew).as("VirtualBox's size: the size asked, up to a whole CHS geometry")
                    .isBetween(c.newSize(), c.newSize() + 4 * MIB);
            soft.assertThat(vboxNew % 512).isZero();
            soft.assertThat(qemuNew).as("qemu-img info's size").isEqualTo(vboxNew);
        } else {
            soft.assertThat(vboxNew).as("VirtualBox's size").isEqualTo(c.newSize());
            soft.assertThat(qemuNew).as("qemu-img info's size").isEqualTo(c.newSize());
        }
        if (c.format().equals("VDI")) {
            // vbox-img info dumps the VDI header it opened (for VHD and VMDK only the geometry)
            ProcessRunner.Result info = VirtualBox.run(dir, "info", "--filename", c.file());
            soft.assertThat(info.stdout() + info.stderr()).as("vbox-img info\n" + info.describe())
                    .contains("Size=" + c.newSize() + "\n");
            // every UUID kept, as VirtualBox's own resize keeps them (its VDResize)
            String before = VirtualBox.run(orig, "info", "--filename", c.file()).stdout();
            soft.assertThat(uuids(info.stdout())).as("the header's UUIDs, as vbox-img info shows them")
                    .hasSize(4).isEqualTo(uuids(before));
        }
        if (!c.format().equals("VMDK")) {
            // VirtualBox's consistency check; what it prints for a damaged image (a map entry
            // used twice, BAT entries past the end) never has this line
            ProcessRunner.Result repair = VirtualBox.run(dir, "repair", "--dry-run", "--format", c.format(),
                    "--filename", c.file());
            String out = repair.stdout() + repair.stderr();
            soft.assertThat(repair.exitCode()).as(repair.describe()).isZero();
            soft.assertThat(out).as("vbox-img repair --dry-run\n" + repair.describe())
                    .contains(c.format() + " image is in a consistent state, no repair required")
                    .doesNotContain("clearing").doesNotContain("Missing").doesNotContain("rror");
        }

        // the guest data, and zeros where the disk grew
        for (String w : DATA) {
            String[] p = w.split(" ");
            if (parse(p[1]) + parse(p[2]) <= Math.min(vboxNew, qemuOld)) {
                soft.assertThat(io(dir, c, "read -P " + w)).as("old data " + w)
                        .doesNotContain("Pattern verification failed");
            }
        }
        if (!c.shrink()) {
            long end = Math.min(vboxNew, qemuNew);
            soft.assertThat(io(dir, c, "read -P 0 " + qemuOld + " " + (OLD + MIB - qemuOld)))
                    .as("zeros after the old end").doesNotContain("Pattern verification failed");
            soft.assertThat(io(dir, c, "read -P 0 " + (end - MIB) + " 1M")).as("zeros at the new end")
                    .doesNotContain("Pattern verification failed");
        }

        Qemu.img(orig, "convert", "-f", c.driver(), "-O", "raw", c.file(), tmp.resolve("ref.raw").toString());
        try (RandomAccessFile raf = new RandomAccessFile(tmp.resolve("ref.raw").toFile(), "rw")) {
            raf.setLength(qemuNew);
        }
        ProcessRunner.Result cmp = Qemu.img(dir, "compare", "-f", c.driver(), "-F", "raw", c.file(),
                tmp.resolve("ref.raw").toString());
        soft.assertThat(cmp.exitCode()).as("qemu-img compare with the original, cut or lengthened\n"
                + cmp.describe()).isZero();
        ProcessRunner.Result vb = Qemu.img(tmp, "compare", "-f", "vdi", "-F", "raw", "vb-new.vdi", "ref.raw");
        soft.assertThat(vb.exitCode()).as("VirtualBox reads what qemu reads\n" + vb.describe()).isZero();

        if (c.vboxResizes()) {
            Path theirs = copyFolder(orig, tmp.resolve("vbox"));
            VirtualBox.ok(theirs, "resize", "--filename", c.file(), "--size", Long.toString(c.newSize()));
            long vboxTheirs = VirtualBox.convertToVdi(theirs, c.file(), tmp.resolve("vb-theirs.vdi").toString());
            // VirtualBox's own VHD grow sets current_size to the size asked and the geometry
            // below it, so qemu (which reads "vbox" through the geometry) sees less than
            // VirtualBox; DiskPlan rounds up to a size the geometry addresses exactly
            boolean vhd = c.format().equals("VHD");
            if (vhd) {
                soft.assertThat(vboxTheirs).as("VirtualBox's own resize: the size asked").isEqualTo(c.newSize());
                soft.assertThat(vboxNew).as("DiskPlan's size, rounded up to whole CHS")
                        .isBetween(vboxTheirs, vboxTheirs + 4 * MIB);
            } else {
                soft.assertThat(vboxNew).as("the size VirtualBox's own resize gives").isEqualTo(vboxTheirs);
            }
            // (not strict for VHD: the sizes differ; the longer one must read zeros past the other)
            ProcessRunner.Result both = compare(tmp, !vhd, "vdi", "vb-new.vdi", "vb-theirs.vdi");
            soft.assertThat(both.exitCode()).as("VirtualBox reads the same from DiskPlan's and its own resize\n"
                    + both.describe()).isZero();
            if (c.variant().equals("Standard") || c.variant().equals("Split2G")) {
                // (VirtualBox's own grow of a flat VMDK writes twice the sectors into the extent line)
                long qemuTheirs = qemuSize(theirs, c);
                if (vhd) {
                    soft.assertThat(qemuTheirs).as("qemu's size of VirtualBox's own resize: the geometry's")
                            .isLessThanOrEqualTo(vboxTheirs);
                } else {
                    soft.assertThat(qemuTheirs).as("qemu's size of VirtualBox's resize").isEqualTo(qemuNew);
                }
                ProcessRunner.Result same = compare(tmp, !vhd, c.driver(), dir.resolve(c.file()).toString(),
                        theirs.resolve(c.file()).toString());
                soft.assertThat(same.exitCode()).as("DiskPlan's and VirtualBox's resize\n" + same.describe())
                        .isZero();
            }
        }
        soft.assertAll();
    }

    /**
     * The consistency check above can fail: VirtualBox's repair --dry-run on images it made,
     * damaged as a wrong resize could leave them (a VDI map entry pointing at a block another
     * entry uses; a VHD BAT entry pointing past the end of the file), does not print the line
     * the resize cases look for, and it does print it for the same images undamaged.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("damaged")
    void repairDryRunSeesDamage(String format, String file, String driver, long entryOffset, int entry)
            throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("img"));
        VirtualBox.ok(dir, "createbase", "--filename", file, "--size", Long.toString(OLD), "--format", format);
        for (String w : List.of("0x11 0 1M", "0x12 4M 1M")) {
            Qcow2Images.run(dir, List.of("qemu-io", "-f", driver, "-c", "write -P " + w, file));
        }
        String clean = format + " image is in a consistent state, no repair required";
        ProcessRunner.Result before = VirtualBox.run(dir, "repair", "--dry-run", "--format", format, "--filename",
                file);
        assertThat(before.stdout() + before.stderr()).as(before.describe()).contains(clean);
        try (RandomAccessFile raf = new RandomAccessFile(dir.resolve(file).toFile(), "rw")) {
            raf.seek(entryOffset);
            raf.writeInt(format.equals("VDI") ? Integer.reverseBytes(entry) : entry);
        }
        ProcessRunner.Result after = VirtualBox.run(dir, "repair", "--dry-run", "--format", format, "--filename",
                file);
        assertThat(after.stdout() + after.stderr()).as(after.describe()).doesNotContain(clean);
    }

    static Stream<Arguments> damaged() {
        return Stream.of(
                // VDI map at 1 MiB (little-endian): guest block 4 -> host block 0, which block 0 uses
                Arguments.of("VDI", "disk.vdi", "vdi", MIB + 4 * 4, 0),
                // VHD BAT at 1536 (big-endian): guest block 2 (4 MiB) -> sector 0x00ffffff, past the end
                Arguments.of("VHD", "disk.vhd", "vpc", 1536 + 2 * 4, 0x00ffffff));
    }

    /** A streamOptimized VMDK is refused, by its header field, and no file changes. */
    @Test
    void streamOptimizedIsRefusedUnchanged() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("img"));
        VirtualBox.ok(dir, "createbase", "--filename", "disk.vmdk", "--size", Long.toString(OLD), "--format",
                "VMDK", "--variant", "Stream");
        byte[] before = Files.readAllBytes(dir.resolve("disk.vmdk"));
        ProcessRunner.Result us = Diskplan.run(dir, "resize", "disk.vmdk", "--", "2G");
        assertThat(us.exitCode()).as(us.describe()).isNotZero();
        assertThat(us.stderr()).contains("gdOffset at offset 56").contains("streamOptimized")
                .doesNotContain("Exception");
        assertThat(Files.readAllBytes(dir.resolve("disk.vmdk"))).isEqualTo(before);
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("disk.vmdk");
        }
    }

    /** qemu-img compare; not strict: the longer image must read zeros past the shorter. */
    private static ProcessRunner.Result compare(Path dir, boolean strict, String driver, String a, String b) {
        List<String> args = new ArrayList<>(List.of("compare"));
        if (strict) {
            args.add("-s");
        }
        args.addAll(List.of("-f", driver, "-F", driver, a, b));
        return Qemu.img(dir, args);
    }

    private static String io(Path dir, Case c, String cmd) {
        ProcessRunner.Result r = Qcow2Images.run(dir, List.of("qemu-io", "-f", c.driver(), "-c", cmd, c.file()));
        return r.stdout() + r.stderr();
    }

    private static final Pattern VIRTUAL_SIZE = Pattern.compile("\"virtual-size\":\\s*(\\d+)");

    private static long qemuSize(Path dir, Case c) {
        ProcessRunner.Result r = Qemu.img(dir, "info", "--output=json", "-f", c.driver(), c.file());
        assertThat(r.exitCode()).as(r.describe()).isZero();
        Matcher m = VIRTUAL_SIZE.matcher(r.stdout());
        assertThat(m.find()).as(r.describe()).isTrue();
        return Long.parseLong(m.group(1));
    }

    private static long parse(String size) {
        Map<Character, Long> unit = new HashMap<>(Map.of('k', 1L << 10, 'M', MIB, 'G', GIB));
        char last = size.charAt(size.length() - 1);
        return unit.containsKey(last) ? Long.parseLong(size.substring(0, size.length() - 1)) * unit.get(last)
                : Long.parseLong(size);
    }

    private static Path copyFolder(Path from, Path to) throws Exception {
        Files.createDirectories(to);
        try (Stream<Path> files = Files.list(from)) {
            for (Path f : files.toList()) {
                Files.copy(f, to.resolve(f.getFileName()));
            }
        }
        return to;
    }
}
