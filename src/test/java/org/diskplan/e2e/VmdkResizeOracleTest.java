package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.assertj.core.api.SoftAssertions;
import org.diskplan.probe.vmdk.VmdkSampleWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * VMDK resizes checked with tools DiskPlan did not write (qemu-img cannot resize VMDK):
 * images from {@code qemu-img create -f vmdk} (and the sample writer) with guest data
 * written by qemu-io, resized by {@code diskplan resize}; then {@code qemu-img check} is
 * clean, {@code qemu-img info} and {@code vmdkinfo} report the new size, the old data reads
 * back, the new range reads zero, the last MiB can be written and read (and check stays
 * clean), {@code qemu-img compare} finds the common part identical, and every descriptor
 * line the resize does not own is byte-identical.
 */
@RequiresOracle({"qemu-img", "qemu-io", "vmdkinfo"})
class VmdkResizeOracleTest {
    static final long MIB = 1 << 20;

    record Case(String name, String options, String base, long size, boolean shrink) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Case> sparse() {
        List<Case> c = new ArrayList<>();
        c.add(new Case("monolithicSparse grow in place (1G -> 3G)", "", "1G", 3L << 30, false));
        c.add(new Case("monolithicSparse grow, directory moved (1G -> 100G)", "", "1G", 100L << 30, false));
        c.add(new Case("monolithicSparse grow to 2T", "adapter_type=lsilogic", "1G", 2L << 40, false));
        c.add(new Case("monolithicSparse odd sizes (20971008 -> 1073742336)", "", "20971008", 1073742336L, false));
        c.add(new Case("monolithicSparse hwversion 6, zeroed grains (64M -> 40G+512)",
                "hwversion=6,zeroed_grain=on", "64M", (40L << 30) + 512, false));
        c.add(new Case("monolithicSparse shrink (1G -> 6M)", "", "1G", 6 * MIB, true));
        c.add(new Case("monolithicSparse odd shrink (64M -> 6M+512)", "", "64M", 6 * MIB + 512, true));
        return c.stream();
    }

    static Stream<Case> flat() {
        List<Case> c = new ArrayList<>();
        c.add(new Case("monolithicFlat grow (64M -> 1G+512)", "subformat=monolithicFlat", "64M", (1L << 30) + 512,
                false));
        c.add(new Case("monolithicFlat shrink (64M -> 6M+512)", "subformat=monolithicFlat", "64M", 6 * MIB + 512,
                true));
        c.add(new Case("twoGbMaxExtentFlat grow adding extents (3G -> 64G)", "subformat=twoGbMaxExtentFlat", "3G",
                64L << 30, false));
        c.add(new Case("twoGbMaxExtentFlat one extent grows and splits (1G -> 5G+512)",
                "subformat=twoGbMaxExtentFlat,adapter_type=lsilogic", "1G", (5L << 30) + 512, false));
        c.add(new Case("twoGbMaxExtentFlat shrink in the last extent (5G -> 4G+512)", "subformat=twoGbMaxExtentFlat",
                "5G", (4L << 30) + 512, true));
        c.add(new Case("twoGbMaxExtentFlat shrink removing extent files (5G -> 1G)", "subformat=twoGbMaxExtentFlat",
                "5G", 1L << 30, true));
        c.add(new Case("twoGbMaxExtentSparse grow adding sparse extents (3G -> 8G+512)",
                "subformat=twoGbMaxExtentSparse", "3G", (8L << 30) + 512, false));
        c.add(new Case("twoGbMaxExtentSparse shrink removing extent files (5G -> 2G)", "subformat=twoGbMaxExtentSparse",
                "5G", 2L << 30, true));
        return c.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("flat")
    void flatResizeIsCleanAndKeepsItsData(Case c) throws Exception {
        assertThat(Qemu.img(dir, "create", "-q", "-f", "vmdk", "-o", c.options(), "img.vmdk", c.base()).exitCode())
                .isZero();
        resizeAndCheck("img.vmdk", c.size(), c.shrink());
    }

    @Test
    void vmfsDescriptorGrowsAndShrinks() throws Exception {
        assertThat(Qemu.img(dir, "create", "-q", "-f", "vmdk", "-o", "subformat=monolithicFlat,adapter_type=lsilogic",
                "img.vmdk", "64M").exitCode()).isZero();
        Path d = dir.resolve("img.vmdk");
        Files.writeString(d, Files.readString(d, StandardCharsets.ISO_8859_1).replace("createType=\"monolithicFlat\"",
                "createType=\"vmfs\"").replaceAll("RW (\\d+) FLAT (\"[^\"]+\") 0", "RW $1 VMFS $2"),
                StandardCharsets.ISO_8859_1);
        assertThat(Files.readString(d)).contains(" VMFS ").contains("vmfs");
        resizeAndCheck("img.vmdk", 3L << 30, false);
        resizeAndCheck("img.vmdk", 9 * MIB, true);
        assertThat(Files.readString(d)).contains("RW " + (9 * MIB / 512) + " VMFS \"img-flat.vmdk\"\n");
        assertThat(Files.size(dir.resolve("img-flat.vmdk"))).isEqualTo(9 * MIB);
    }

    @Test
    void flatRefusals() throws Exception {
        assertThat(Qemu.img(dir, "create", "-q", "-f", "vmdk", "-o", "subformat=twoGbMaxExtentFlat", "img.vmdk", "3G")
                .exitCode()).isZero();
        byte[] before = Files.readAllBytes(dir.resolve("img.vmdk"));
        Files.writeString(dir.resolve("out.vmdk"), new String(before, StandardCharsets.ISO_8859_1)
                .replace("\"img-f002.vmdk\"", "\"../img-f002.vmdk\""), StandardCharsets.ISO_8859_1);
        Files.writeString(dir.resolve("abs.vmdk"), new String(before, StandardCharsets.ISO_8859_1)
                .replace("\"img-f002.vmdk\"", "\"" + dir.resolve("img-f002.vmdk") + "\""), StandardCharsets.ISO_8859_1);
        Files.createDirectory(dir.resolve("sub-f002.vmdk"));
        Files.writeString(dir.resolve("dir.vmdk"), new String(before, StandardCharsets.ISO_8859_1)
                .replace("\"img-f002.vmdk\"", "\"sub-f002.vmdk\""), StandardCharsets.ISO_8859_1);
        for (String f : List.of("out.vmdk", "abs.vmdk", "dir.vmdk")) {
            byte[] b = Files.readAllBytes(dir.resolve(f));
            ProcessRunner.Result r = Diskplan.run(dir, "resize", f, "8G");
            assertThat(r.exitCode()).as(f).isNotZero();
            assertThat(r.stderr()).as(f).contains("line 9");
            assertThat(Files.readAllBytes(dir.resolve(f))).isEqualTo(b);
        }
        Files.write(dir.resolve("img-f003.vmdk"), new byte[0]);
        ProcessRunner.Result exists = Diskplan.run(dir, "resize", "img.vmdk", "8G");
        assertThat(exists.exitCode()).isNotZero();
        assertThat(exists.stderr()).contains("img-f003.vmdk").contains("exists");
        assertThat(Files.readAllBytes(dir.resolve("img.vmdk"))).isEqualTo(before);
        assertThat(Files.size(dir.resolve("img-f002.vmdk"))).isEqualTo(1L << 30);
    }

    @Test
    void recoverAfterACrashRestoresEveryFileAndRemovesTheCreatedOnes() throws Exception {
        assertThat(Qemu.img(dir, "create", "-q", "-f", "vmdk", "-o", "subformat=twoGbMaxExtentFlat", "img.vmdk", "64M")
                .exitCode()).isZero();
        io("img.vmdk", "write -P 0x5a 0 1M", "write -P 0x33 63M 1M");
        String orig = snapshot("img.vmdk");
        byte[] descriptor = Files.readAllBytes(dir.resolve("img.vmdk"));
        // 64M -> 5G: the extent grows to 4192256 sectors, two files are created, then the descriptor commits
        for (int k = 0; k <= 3; k++) {
            ProcessRunner.Result crash = Diskplan.run(dir, Map.of(Diskplan.CRASH_ENV, Integer.toString(k)),
                    List.of("resize", "img.vmdk", "5G"));
            assertThat(crash.exitCode()).as(crash.describe()).isEqualTo(Diskplan.CRASH_EXIT);
            ProcessRunner.Result recover = Diskplan.run(dir, "recover", "img.vmdk");
            assertThat(recover.exitCode()).as(recover.describe()).isZero();
            assertThat(Files.readAllBytes(dir.resolve("img.vmdk"))).as("descriptor after crash " + k)
                    .isEqualTo(descriptor);
            assertThat(Files.size(dir.resolve("img-f001.vmdk"))).isEqualTo(64 * MIB);
            assertThat(dir.resolve("img-f002.vmdk")).as("created file removed after crash " + k).doesNotExist();
            assertThat(dir.resolve("img-f003.vmdk")).doesNotExist();
            ProcessRunner.Result compare = Qemu.img(dir, "compare", "-f", "vmdk", "-F", "vmdk", orig, "img.vmdk");
            assertThat(compare.exitCode()).as(compare.describe()).isZero();
        }
        ProcessRunner.Result done = Diskplan.run(dir, "resize", "img.vmdk", "5G");
        assertThat(done.exitCode()).as(done.describe()).isZero();
        assertThat(Files.readString(dir.resolve("img.vmdk"))).contains("RW 4192256 FLAT \"img-f001.vmdk\" 0\n"
                + "RW 4192256 FLAT \"img-f002.vmdk\" 0\nRW " + (5L * 2097152 - 2 * 4192256) + " FLAT \"img-f003.vmdk\" 0\n");
        assertThat(virtualSize("img.vmdk")).isEqualTo(5L << 30);
    }

    /**
     * Nothing outside the folder, nothing but regular files: an extent named by an absolute
     * path, through {@code ..}, by a symbolic link that leaves the folder (to a file, to
     * {@code /dev/zero}), a directory or a FIFO is refused by resize (every kind), plan and a
     * shrink (naming line 9), and by info (a FIFO inside the folder is flagged, never opened);
     * nothing is written and no journal is left.
     */
    @Test
    void everyCommandRefusesExtentsOutsideTheFolderOrNotRegular() throws Exception {
        assertThat(Qemu.img(dir, "create", "-q", "-f", "vmdk", "-o", "subformat=twoGbMaxExtentFlat", "img.vmdk", "3G")
                .exitCode()).isZero();
        String text = Files.readString(dir.resolve("img.vmdk"), StandardCharsets.ISO_8859_1);
        Path outside = Files.createDirectories(dir.resolve("elsewhere"));
        Path sub = Files.createDirectories(dir.resolve("folder"));
        Files.copy(dir.resolve("img-f002.vmdk"), outside.resolve("img-f002.vmdk"));
        Files.createSymbolicLink(sub.resolve("out-f002.vmdk"), outside.resolve("img-f002.vmdk"));
        Files.createSymbolicLink(sub.resolve("zero-f002.vmdk"), Path.of("/dev/zero"));
        Files.createDirectory(sub.resolve("dir-f002.vmdk"));
        assertThat(ProcessRunner.of("mkfifo", sub.resolve("fifo-f002.vmdk").toString()).in(dir).run().exitCode())
                .isZero();
        Files.copy(dir.resolve("img-f001.vmdk"), sub.resolve("img-f001.vmdk"));
        Map<String, String> names = new java.util.LinkedHashMap<>();
        names.put("abs.vmdk", outside.resolve("img-f002.vmdk").toString());
        names.put("dots.vmdk", "../elsewhere/img-f002.vmdk");
        names.put("out.vmdk", "out-f002.vmdk");
        names.put("zero.vmdk", "zero-f002.vmdk");
        names.put("dir.vmdk", "dir-f002.vmdk");
        names.put("fifo.vmdk", "fifo-f002.vmdk");
        for (var n : names.entrySet()) {
            Path d = sub.resolve(n.getKey());
            Files.writeString(d, text.replace("\"img-f002.vmdk\"", "\"" + n.getValue() + "\""),
                    StandardCharsets.ISO_8859_1);
            byte[] before = Files.readAllBytes(d);
            byte[] far = Files.readAllBytes(outside.resolve("img-f002.vmdk"));
            // resize for every kind; plan, a shrink and info once per kind of refusal (each run is a JVM)
            List<List<String>> commands = new ArrayList<>(List.of(List.of("resize", n.getKey(), "8G")));
            if (n.getKey().equals("abs.vmdk") || n.getKey().equals("dir.vmdk")) {
                commands.add(List.of("plan", n.getKey(), "8G"));
            }
            if (n.getKey().equals("dots.vmdk")) {
                commands.add(List.of("resize", "--shrink", n.getKey(), "1G"));
            }
            for (List<String> args : commands) {
                ProcessRunner.Result r = Diskplan.run(sub, args);
                assertThat(r.exitCode()).as(args + "\n" + r.describe()).isNotZero();
                assertThat(r.stderr()).as(args + "").contains("line 9").doesNotContain("Exception");
            }
            if (n.getKey().equals("fifo.vmdk")) {
                ProcessRunner.Result info = Diskplan.run(sub, "info", n.getKey());
                assertThat(info.stdout()).as(info.describe()).contains("not a regular file; it was not opened");
            } else if (n.getKey().equals("out.vmdk")) {
                ProcessRunner.Result info = Diskplan.run(sub, "info", n.getKey());
                assertThat(info.exitCode()).as(info.describe()).isNotZero();
                assertThat(info.stderr()).as(info.describe()).contains("line 9").contains("folder");
            }
            assertThat(Files.readAllBytes(d)).as(n.getKey()).isEqualTo(before);
            assertThat(Files.readAllBytes(outside.resolve("img-f002.vmdk"))).isEqualTo(far);
            try (var files = Files.list(sub)) {
                assertThat(files.map(f -> f.getFileName().toString())).noneMatch(f -> f.contains(".diskplan-"));
            }
        }
    }

    /**
     * twoGbMaxExtentSparse: the new extents' headers hold exactly the descriptor lines' counts
     * (qemu reads the one, VMware the other); the partly filled last extent is left as it is;
     * a shrink inside a sparse extent is refused, naming the boundaries, nothing written.
     */
    @Test
    void splitSparseExtentsAgreeWithTheDescriptor() throws Exception {
        assertThat(Qemu.img(dir, "create", "-q", "-f", "vmdk", "-o", "subformat=twoGbMaxExtentSparse", "img.vmdk",
                "3G").exitCode()).isZero();
        byte[] before = Files.readAllBytes(dir.resolve("img.vmdk"));
        ProcessRunner.Result inside = Diskplan.run(dir, "resize", "--shrink", "img.vmdk", "1G");
        assertThat(inside.exitCode()).isNotZero();
        assertThat(inside.stderr()).contains("line 8").contains("extent boundary").contains("2147483648");
        assertThat(Files.readAllBytes(dir.resolve("img.vmdk"))).isEqualTo(before);
        ProcessRunner.Result r = Diskplan.run(dir, "resize", "img.vmdk", "7G");
        assertThat(r.exitCode()).as(r.describe()).isZero();
        String text = Files.readString(dir.resolve("img.vmdk"), StandardCharsets.ISO_8859_1);
        assertThat(text).contains("RW 4194304 SPARSE \"img-s001.vmdk\"\nRW 2097152 SPARSE \"img-s002.vmdk\"\n"
                + "RW 4194304 SPARSE \"img-s003.vmdk\"\nRW 4194304 SPARSE \"img-s004.vmdk\"\n\n");
        for (String s : List.of("img-s003.vmdk", "img-s004.vmdk")) {
            byte[] h = java.util.Arrays.copyOf(Files.readAllBytes(dir.resolve(s)), 512);
            assertThat(java.nio.ByteBuffer.wrap(h).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong(12))
                    .as(s + " header capacity").isEqualTo(4194304L);
        }
        assertThat(Qemu.img(dir, "check", "-f", "vmdk", "img.vmdk").exitCode()).isZero();
        assertThat(virtualSize("img.vmdk")).isEqualTo(7L << 30);
    }

    @Test
    void recoverAfterACrashPutsBackTheExtentsAShrinkRemoves() throws Exception {
        assertThat(Qemu.img(dir, "create", "-q", "-f", "vmdk", "-o", "subformat=twoGbMaxExtentFlat", "img.vmdk", "5G")
                .exitCode()).isZero();
        io("img.vmdk", "write -P 0x5a 0 1M", "write -P 0x33 3G 1M", "write -P 0x44 5119M 1M");
        String orig = snapshot("img.vmdk");
        byte[] descriptor = Files.readAllBytes(dir.resolve("img.vmdk"));
        List<String> extents = List.of("img-f001.vmdk", "img-f002.vmdk", "img-f003.vmdk");
        List<Long> sizes = new ArrayList<>();
        for (String e : extents) {
            sizes.add(Files.size(dir.resolve(e)));
        }
        ProcessRunner.Result plan = Diskplan.run(dir, "plan", "--shrink", "img.vmdk", "1G");
        assertThat(plan.stdout()).as(plan.describe()).contains("remove").contains("img-f002.vmdk")
                .contains("img-f003.vmdk");
        ProcessRunner.Result json = Diskplan.run(dir, "plan", "--shrink", "--output=json", "img.vmdk", "1G");
        assertThat(json.exitCode()).as(json.describe()).isZero();
        Map<String, Boolean> removed = new java.util.TreeMap<>();
        new com.fasterxml.jackson.databind.ObjectMapper().readTree(json.stdout()).get("files").forEach(f -> removed.put(
                Path.of(f.get("path").asText()).getFileName().toString(), f.get("removed").asBoolean()));
        assertThat(removed).containsExactlyEntriesOf(new java.util.TreeMap<>(Map.of("img.vmdk", false,
                "img-f001.vmdk", false, "img-f002.vmdk", true, "img-f003.vmdk", true)));
        // 5G -> 1G: step 0 the descriptor (commit), step 1 the final lengths and renames
        for (int k = 0; k <= 1; k++) {
            ProcessRunner.Result crash = Diskplan.run(dir, Map.of(Diskplan.CRASH_ENV, Integer.toString(k)),
                    List.of("resize", "--shrink", "img.vmdk", "1G"));
            assertThat(crash.exitCode()).as(crash.describe()).isEqualTo(Diskplan.CRASH_EXIT);
            ProcessRunner.Result recover = Diskplan.run(dir, "recover", "img.vmdk");
            assertThat(recover.exitCode()).as(recover.describe()).isZero();
            if (k == 0) {
                assertThat(Files.readAllBytes(dir.resolve("img.vmdk"))).as("descriptor after crash " + k)
                        .isEqualTo(descriptor);
                for (int i = 0; i < extents.size(); i++) {
                    assertThat(Files.size(dir.resolve(extents.get(i)))).as(extents.get(i)).isEqualTo(sizes.get(i));
                }
                ProcessRunner.Result compare = Qemu.img(dir, "compare", "-f", "vmdk", "-F", "vmdk", orig,
                        "img.vmdk");
                assertThat(compare.exitCode()).as(compare.describe()).isZero();
                assertThat(io("img.vmdk", "read -P 0x33 3G 1M", "read -P 0x44 5119M 1M"))
                        .doesNotContain("Pattern verification failed");
            } else {
                // the first extent was already cut: recover finishes the shrink
                assertThat(virtualSize("img.vmdk")).isEqualTo(1L << 30);
                assertThat(dir.resolve("img-f002.vmdk")).doesNotExist();
                assertThat(dir.resolve("img-f003.vmdk")).doesNotExist();
                assertThat(io("img.vmdk", "read -P 0x5a 0 1M")).doesNotContain("Pattern verification failed");
            }
            try (var files = Files.list(dir)) {
                assertThat(files.map(f -> f.getFileName().toString())).noneMatch(n -> n.contains(".diskplan-"));
            }
        }
        assertThat(Files.size(dir.resolve("img-f001.vmdk"))).isEqualTo(1L << 30);
        ProcessRunner.Result check = Qemu.img(dir, "check", "-f", "vmdk", "img.vmdk");
        assertThat(check.exitCode()).as(check.describe()).isZero();
    }

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0}")
    @MethodSource("sparse")
    void sparseResizeIsCleanAndKeepsItsData(Case c) throws Exception {
        List<String> create = new ArrayList<>(List.of("create", "-q", "-f", "vmdk"));
        if (!c.options().isEmpty()) {
            create.addAll(List.of("-o", c.options()));
        }
        create.addAll(List.of("img.vmdk", c.base()));
        assertThat(Qemu.img(dir, create).exitCode()).isZero();
        resizeAndCheck("img.vmdk", c.size(), c.shrink());
    }

    @Test
    void sampleWriterSparseGrowsAndShrinks() throws Exception {
        new VmdkSampleWriter().write(dir.resolve("img.vmdk"), 16 * MIB, Map.of("subformat", "monolithicSparse"));
        resizeAndCheck("img.vmdk", 3L << 30, false);
        resizeAndCheck("img.vmdk", 7 * MIB, true);
        resizeAndCheck("img.vmdk", 64 * MIB, false);
    }

    @Test
    void grownAgainAfterAShrinkReadsZerosPastTheOldEnd() throws Exception {
        assertThat(Qemu.img(dir, "create", "-q", "-f", "vmdk", "img.vmdk", "64M").exitCode()).isZero();
        io("img.vmdk", "write -P 0x11 0 64M");
        long before = Files.size(dir.resolve("img.vmdk"));
        assertThat(Diskplan.run(dir, "resize", "--shrink", "img.vmdk", "--", Long.toString(6 * MIB + 512))
                .exitCode()).isZero();
        assertThat(before).isGreaterThan(64 * MIB);
        assertThat(Files.size(dir.resolve("img.vmdk"))).as("cut after the grains still in use")
                .isLessThan(7 * MIB + 512 * 1024);
        ProcessRunner.Result cut = Qemu.img(dir, "check", "-f", "vmdk", "img.vmdk");
        assertThat(cut.exitCode()).as(cut.describe()).isZero();
        assertThat(io("img.vmdk", "read -P 0x11 0 " + (6 * MIB + 512))).doesNotContain("Pattern verification failed");
        ProcessRunner.Result r = Diskplan.run(dir, "resize", "img.vmdk", "64M");
        assertThat(r.exitCode()).as(r.describe()).isZero();
        assertThat(io("img.vmdk", "read -P 0x11 0 " + (6 * MIB + 512), "read -P 0 " + (6 * MIB + 512) + " "
                + (58 * MIB - 512))).doesNotContain("Pattern verification failed");
        ProcessRunner.Result check = Qemu.img(dir, "check", "-f", "vmdk", "img.vmdk");
        assertThat(check.exitCode()).as(check.describe()).isZero();
    }

    @Test
    void refusals() throws Exception {
        assertThat(Qemu.img(dir, "create", "-q", "-f", "vmdk", "img.vmdk", "64M").exitCode()).isZero();
        assertThat(Qemu.img(dir, "create", "-q", "-f", "vmdk", "-o", "subformat=streamOptimized", "s.vmdk", "64M")
                .exitCode()).isZero();
        byte[] before = Files.readAllBytes(dir.resolve("img.vmdk"));
        byte[] stream = Files.readAllBytes(dir.resolve("s.vmdk"));
        ProcessRunner.Result noShrink = Diskplan.run(dir, "resize", "img.vmdk", "8M");
        assertThat(noShrink.exitCode()).isNotZero();
        assertThat(noShrink.stderr()).contains("--shrink");
        ProcessRunner.Result odd = Diskplan.run(dir, "resize", "img.vmdk", "--", "67109000");
        assertThat(odd.exitCode()).isNotZero();
        assertThat(odd.stderr()).contains("multiple of 512");
        ProcessRunner.Result big = Diskplan.run(dir, "resize", "img.vmdk", "--", Long.toString((2L << 40) + 512));
        assertThat(big.exitCode()).isNotZero();
        assertThat(big.stderr()).contains("32-bit sector numbers");
        ProcessRunner.Result so = Diskplan.run(dir, "resize", "s.vmdk", "128M");
        assertThat(so.exitCode()).isNotZero();
        assertThat(so.stderr()).contains("streamOptimized").contains("offset");
        assertThat(Files.readAllBytes(dir.resolve("img.vmdk"))).isEqualTo(before);
        assertThat(Files.readAllBytes(dir.resolve("s.vmdk"))).isEqualTo(stream);
    }

    void resizeAndCheck(String file, long size, boolean shrink) throws Exception {
        io(file, "write -P 0x5a 0 1M", "write -P 0x44 2M 512k", "write -P 0x33 5M 1M");
        long old = virtualSize(file);
        String orig = snapshot(file);
        List<String> descBefore = descriptorLines(file);
        List<String> args = new ArrayList<>(List.of("resize"));
        if (shrink) {
            args.add("--shrink");
        }
        args.addAll(List.of(file, "--", Long.toString(size)));
        ProcessRunner.Result us = Diskplan.run(dir, args);
        assertThat(us.exitCode()).as(us.describe()).isZero();
        SoftAssertions soft = new SoftAssertions();
        ProcessRunner.Result check = Qemu.img(dir, "check", "-f", "vmdk", file);
        soft.assertThat(check.exitCode()).as("qemu-img check\n" + check.describe()).isZero();
        soft.assertThat(check.stdout()).as(check.describe()).contains("No errors were found");
        soft.assertThat(virtualSize(file)).as("qemu-img info").isEqualTo(size);
        ProcessRunner.Result yal = ProcessRunner.of(Oracles.require("vmdkinfo").toString(), file).in(dir).run();
        soft.assertThat(yal.exitCode()).as(yal.describe()).isZero();
        Matcher media = Pattern.compile("Media size:.*\\((\\d+) bytes\\)").matcher(yal.stdout());
        soft.assertThat(media.find() ? Long.parseLong(media.group(1)) : -1).as("vmdkinfo media size\n"
                + yal.stdout()).isEqualTo(size);
        List<String> descAfter = descriptorLines(file);
        soft.assertThat(owned(descAfter)).as("descriptor lines the resize does not own")
                .isEqualTo(owned(descBefore));
        soft.assertThat(io(file, "read -P 0x5a 0 1M", "read -P 0x44 2M 512k", "read -P 0x33 5M 1M"))
                .as("old data").doesNotContain("Pattern verification failed");
        if (size > old) {
            long n = Math.min(MIB, size - old);
            soft.assertThat(io(file, "read -P 0 " + old + " " + n, "read -P 0 " + (size - n) + " " + n))
                    .as("new range zero").doesNotContain("Pattern verification failed");
        }
        ProcessRunner.Result compare;
        if (size < old) {
            // the common part: the original as raw, cut at the new size (compare wants the longer tail zero)
            assertThat(Qemu.img(dir, "convert", "-f", "vmdk", "-O", "raw", orig, "orig.raw").exitCode()).isZero();
            try (var raf = new java.io.RandomAccessFile(dir.resolve("orig.raw").toFile(), "rw")) {
                raf.setLength(size);
            }
            compare = Qemu.img(dir, "compare", "-f", "raw", "-F", "vmdk", "orig.raw", file);
        } else {
            compare = Qemu.img(dir, "compare", "-f", "vmdk", "-F", "vmdk", orig, file);
        }
        soft.assertThat(compare.exitCode()).as("qemu-img compare\n" + compare.describe()).isZero();
        long last = size - MIB;
        soft.assertThat(io(file, "write -P 0x77 " + last + " 1M", "read -P 0x77 " + last + " 1M"))
                .as("last MiB").doesNotContain("Pattern verification failed").doesNotContain("error")
                .doesNotContain("failed");
        ProcessRunner.Result check2 = Qemu.img(dir, "check", "-f", "vmdk", file);
        soft.assertThat(check2.exitCode()).as("qemu-img check after the write\n" + check2.describe()).isZero();
        soft.assertThat(io(file, "read -P 0x5a 0 1M")).as("old data after the write")
                .doesNotContain("Pattern verification failed");
        soft.assertAll();
    }

    /** A copy of the whole folder (sparse: the extents stay holes) in orig/; returns the copy of {@code file}. */
    String snapshot(String file) throws Exception {
        Path o = dir.resolve("orig");
        if (Files.exists(o)) {
            ProcessRunner.of("rm", "-rf", "orig").in(dir).run();
        }
        Files.createDirectory(o);
        List<String> cmd = new ArrayList<>(List.of("cp", "--sparse=always"));
        try (var files = Files.list(dir)) {
            files.filter(Files::isRegularFile).forEach(f -> cmd.add(f.getFileName().toString()));
        }
        cmd.add("orig/");
        ProcessRunner.Result r = ProcessRunner.of(cmd).in(dir).run();
        assertThat(r.exitCode()).as(r.describe()).isZero();
        return "orig/" + file;
    }

    /** The descriptor text (embedded: the NUL-terminated text after the header; else the file). */
    List<String> descriptorLines(String file) throws Exception {
        byte[] b = Files.readAllBytes(dir.resolve(file));
        String text;
        if (b.length >= 4 && b[0] == 'K' && b[1] == 'D' && b[2] == 'M' && b[3] == 'V') {
            long off = java.nio.ByteBuffer.wrap(b, 28, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong() * 512;
            int end = (int) off;
            while (end < b.length && b[end] != 0) {
                end++;
            }
            text = new String(b, (int) off, end - (int) off, StandardCharsets.ISO_8859_1);
        } else {
            int end = 0;
            while (end < b.length && b[end] != 0) {
                end++;
            }
            text = new String(b, 0, end, StandardCharsets.ISO_8859_1);
        }
        return List.of(text.split("\n", -1));
    }

    /** Lines other than the extent lines, CID and ddb.geometry.cylinders. */
    static List<String> owned(List<String> lines) {
        return lines.stream().filter(l -> !l.matches("^(RW|RDONLY|NOACCESS) .*") && !l.startsWith("CID=")
                && !l.startsWith("ddb.geometry.cylinders")).toList();
    }

    long virtualSize(String file) {
        ProcessRunner.Result r = Qemu.img(dir, "info", "--output=json", "-f", "vmdk", file);
        assertThat(r.exitCode()).as(r.describe()).isZero();
        var m = Pattern.compile("\"virtual-size\": (\\d+)").matcher(r.stdout());
        assertThat(m.find()).as(r.stdout()).isTrue();
        return Long.parseLong(m.group(1));
    }

    String io(String file, String... cmds) {
        List<String> cmd = new ArrayList<>(List.of(Oracles.require("qemu-io").toString(), "-f", "vmdk"));
        for (String c : cmds) {
            cmd.addAll(List.of("-c", c));
        }
        cmd.add(file);
        ProcessRunner.Result r = ProcessRunner.of(cmd).in(dir).timeout(java.time.Duration.ofMinutes(2)).run();
        assertThat(r.exitCode()).as(r.describe()).isZero();
        return r.stdout() + r.stderr();
    }
}
