package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.assertj.core.api.SoftAssertions;
import org.diskplan.probe.vdi.VdiLayout;
import org.diskplan.probe.vdi.VdiSampleWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * VDI resizes checked with qemu as the oracle (qemu-img cannot resize VDI itself): each
 * image is made by {@code qemu-img create -f vdi} (or DiskPlan's sample writer), guest data
 * written with qemu-io, resized with {@code diskplan resize}; then {@code qemu-img check}
 * is clean, {@code qemu-img info} shows the new size, the old data reads back, the new
 * range reads zero, the last MiB can be written and read, and {@code qemu-img compare}
 * finds it identical to the original.
 */
@RequiresOracle({"qemu-img", "qemu-io"})
class VdiResizeOracleTest {
    static final long MIB = 1 << 20;

    record Case(String name, String options, String base, long size, boolean shrink) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Case> cases() {
        List<Case> c = new ArrayList<>();
        c.add(new Case("dynamic grow in place (16M -> 64M)", "", "16M", 64 * MIB, false));
        c.add(new Case("dynamic grow, odd sizes (20971008 -> 1073742336)", "", "20971008", 1073742336L, false));
        c.add(new Case("dynamic grow moving blocks (1G -> 2T)", "", "1G", 2L << 40, false));
        c.add(new Case("dynamic grow moving blocks, odd size (1G -> 1T+512)", "", "1G", (1L << 40) + 512, false));
        c.add(new Case("static grow (20M -> 40M+512)", "static=on", "20M", 40 * MIB + 512, false));
        c.add(new Case("static grow moving blocks (16M -> 4G)", "static=on", "16M", 4096 * MIB, false));
        c.add(new Case("dynamic shrink (16M -> 6M)", "", "16M", 6 * MIB, true));
        c.add(new Case("static shrink (16M -> 7M)", "static=on", "16M", 7 * MIB, true));
        return c.stream();
    }

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void resizedImageIsCleanAndKeepsItsData(Case c) throws Exception {
        List<String> create = new ArrayList<>(List.of("create", "-q", "-f", "vdi"));
        if (!c.options().isEmpty()) {
            create.addAll(List.of("-o", c.options()));
        }
        create.addAll(List.of("img.vdi", c.base()));
        assertThat(Qemu.img(dir, create).exitCode()).isZero();
        resizeAndCheck("img.vdi", c.size(), c.shrink());
    }

    @Test
    void sampleWriterImageGrowsAndShrinks() throws Exception {
        new VdiSampleWriter().write(dir.resolve("img.vdi"), 16 * MIB, Map.of());
        resizeAndCheck("img.vdi", 3L << 30, false);
        new VdiSampleWriter().write(dir.resolve("small.vdi"), 16 * MIB, Map.of("subformat", "static"));
        resizeAndCheck("small.vdi", 6 * MIB, true);
    }

    private void resizeAndCheck(String file, long size, boolean shrink) throws Exception {
        io(file, "write -P 0x5a 0 1M", "write -P 0x44 2M 512k", "write -P 0x33 5M 1M");
        long old = virtualSize(file);
        Files.copy(dir.resolve(file), dir.resolve("orig.vdi"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        List<String> args = new ArrayList<>(List.of("resize"));
        if (shrink) {
            args.add("--shrink");
        }
        args.addAll(List.of(file, "--", Long.toString(size)));
        ProcessRunner.Result us = Diskplan.run(dir, args);
        assertThat(us.exitCode()).as(us.describe()).isZero();
        SoftAssertions soft = new SoftAssertions();
        ProcessRunner.Result check = Qemu.img(dir, "check", "-f", "vdi", file);
        soft.assertThat(check.exitCode()).as("qemu-img check\n" + check.describe()).isZero();
        soft.assertThat(check.stdout()).as(check.describe()).contains("No errors were found");
        soft.assertThat(virtualSize(file)).as("qemu-img info").isEqualTo(size);
        soft.assertThat(io(file, "read -P 0x5a 0 1M", "read -P 0x44 2M 512k", "read -P 0x33 5M 1M"))
                .as("old data").doesNotContain("Pattern verification failed");
        if (size > old) {
            long n = Math.min(MIB, size - old);
            soft.assertThat(io(file, "read -P 0 " + old + " " + n)).as("new range zero")
                    .doesNotContain("Pattern verification failed");
        }
        ProcessRunner.Result compare = Qemu.img(dir, "compare", "-f", "vdi", "-F", "vdi", "orig.vdi", file);
        soft.assertThat(compare.exitCode()).as("qemu-img compare\n" + compare.describe()).isZero();
        long last = size - MIB;
        soft.assertThat(io(file, "write -P 0x77 " + last + " 1M", "read -P 0x77 " + last + " 1M"))
                .as("last MiB").doesNotContain("Pattern verification failed").doesNotContain("error");
        ProcessRunner.Result check2 = Qemu.img(dir, "check", "-f", "vdi", file);
        soft.assertThat(check2.exitCode()).as("qemu-img check after the write\n" + check2.describe()).isZero();
        soft.assertAll();
    }

    @Test
    void shrinkThatFreesALowBlockCompacts() throws Exception {
        assertThat(Qemu.img(dir, "create", "-q", "-f", "vdi", "img.vdi", "16M").exitCode()).isZero();
        // host block 0 holds guest block 9, which the shrink drops; host 3 must move down into it
        io("img.vdi", "write -P 0x11 9M 1M", "write -P 0x5a 0 1M", "write -P 0x44 2M 512k", "write -P 0x33 5M 1M");
        Files.copy(dir.resolve("img.vdi"), dir.resolve("orig.vdi"));
        ProcessRunner.Result us = Diskplan.run(dir, "resize", "--shrink", "img.vdi", "6M");
        assertThat(us.exitCode()).as(us.describe()).isZero();
        ProcessRunner.Result check = Qemu.img(dir, "check", "-f", "vdi", "img.vdi");
        assertThat(check.exitCode()).as(check.describe()).isZero();
        assertThat(virtualSize("img.vdi")).isEqualTo(6 * MIB);
        assertThat(io("img.vdi", "read -P 0x5a 0 1M", "read -P 0x44 2M 512k", "read -P 0x33 5M 1M"))
                .doesNotContain("Pattern verification failed");
        assertThat(Files.size(dir.resolve("img.vdi"))).as("cut after 3 blocks").isLessThan(4 * MIB);
        ProcessRunner.Result grown = Diskplan.run(dir, "resize", "img.vdi", "16M");
        assertThat(grown.exitCode()).as(grown.describe()).isZero();
        assertThat(io("img.vdi", "read -P 0 6M 10M")).doesNotContain("Pattern verification failed");
        assertThat(Qemu.img(dir, "check", "-f", "vdi", "img.vdi").exitCode()).isZero();
    }

    /**
     * A write of the plan that spans several sectors and that a power cut can tear:
     * the grow that moves blocks commits in one multi-sector write (offData, every index,
     * the new map: 8 MiB here); the compacting shrink rewrites the header and the remapped
     * block map entry in one write across the header's and the map's sectors.
     */
    record Torn(String name, String size, String[] writes, long newSize, boolean shrink, boolean atCommit) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Torn> tornWrites() {
        return Stream.of(
                new Torn("grow commit moving blocks (1G -> 2T)", "1G",
                        new String[] {"write -P 0x5a 0 12M", "write -P 0x33 100M 1M"}, 2L << 40, false, true),
                new Torn("compacting shrink's header and map write (64M -> 16M)", "64M",
                        new String[] {"write -P 0x11 0 1M", "write -P 0x22 40M 1M", "write -P 0x33 8M 1M"}, 16 * MIB,
                        true, false));
    }

    /**
     * Simulated tear: the resize halted right after the multi-sector write, then the second
     * half of its range (whole sectors) put back as it was before that write, as if only the
     * first half reached the disk. {@code diskplan recover} must bring back the original byte
     * for byte, which qemu-img check finds clean.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("tornWrites")
    void tornMultiSectorWriteIsUndoneByRecover(Torn t) throws Exception {
        assertThat(Qemu.img(dir, "create", "-q", "-f", "vdi", "img.vdi", t.size()).exitCode()).isZero();
        io("img.vdi", t.writes());
        Files.copy(dir.resolve("img.vdi"), dir.resolve("orig.vdi"));
        var plan = org.diskplan.planner.ResizeSession.planFile(dir.resolve("img.vdi"), java.util.Optional.empty(),
                p -> new org.diskplan.planner.ResizeRequest(t.newSize(), t.shrink(), org.diskplan.abi.Preallocation.OFF));
        int step = t.atCommit() ? plan.commitIndex() : lastMultiSectorWrite(plan);
        var patch = plan.patches().get(step);
        long first = patch.offset() / VdiLayout.SECTOR;
        long last = (patch.offset() + patch.length() - 1) / VdiLayout.SECTOR;
        assertThat(last).as("the write spans several sectors").isGreaterThan(first);
        // the bytes before the torn write: the file as the earlier steps left it
        Map<String, String> env = Map.of(Diskplan.CRASH_ENV, Integer.toString(step - 1));
        List<String> args = new ArrayList<>(List.of("resize"));
        if (t.shrink()) {
            args.add("--shrink");
        }
        args.addAll(List.of("img.vdi", Long.toString(t.newSize())));
        long half = (first + (last - first + 1) / 2) * VdiLayout.SECTOR;
        long end = patch.offset() + patch.length();
        byte[] before = new byte[(int) (end - half)];
        if (step > 0) {
            Files.copy(dir.resolve("orig.vdi"), dir.resolve("prefix.vdi"));
            ProcessRunner.Result prefix = Diskplan.run(dir, env, replace(args, "img.vdi", "prefix.vdi"));
            assertThat(prefix.exitCode()).as(prefix.describe()).isEqualTo(Diskplan.CRASH_EXIT);
            readAt(dir.resolve("prefix.vdi"), half, before);
        } else {
            readAt(dir.resolve("orig.vdi"), half, before);
        }
        ProcessRunner.Result crash = Diskplan.run(dir, Map.of(Diskplan.CRASH_ENV, Integer.toString(step)), args);
        assertThat(crash.exitCode()).as(crash.describe()).isEqualTo(Diskplan.CRASH_EXIT);
        byte[] written = new byte[before.length];
        readAt(dir.resolve("img.vdi"), half, written);
        assertThat(written).as("the write changed its second half, so the tear is one").isNotEqualTo(before);
        try (RandomAccessFile img = new RandomAccessFile(dir.resolve("img.vdi").toFile(), "rw")) {
            img.seek(half);
            img.write(before);
        }
        ProcessRunner.Result recover = Diskplan.run(dir, "recover", "img.vdi");
        assertThat(recover.exitCode()).as(recover.describe()).isZero();
        assertThat(Files.mismatch(dir.resolve("img.vdi"), dir.resolve("orig.vdi"))).as("original restored")
                .isEqualTo(-1);
        ProcessRunner.Result check = Qemu.img(dir, "check", "-f", "vdi", "img.vdi");
        assertThat(check.exitCode()).as(check.describe()).isZero();
    }

    /** The last write patch of the plan that spans more than one sector. */
    private static int lastMultiSectorWrite(org.diskplan.planner.ResizePlan plan) {
        for (int i = plan.patches().size() - 1; i >= 0; i--) {
            var p = plan.patches().get(i);
            if (p instanceof org.diskplan.planner.ResizePatch.Write
                    && p.offset() / VdiLayout.SECTOR != (p.offset() + p.length() - 1) / VdiLayout.SECTOR) {
                return i;
            }
        }
        throw new AssertionError("no multi-sector write in " + plan.patches());
    }

    private static List<String> replace(List<String> args, String from, String to) {
        return args.stream().map(a -> a.equals(from) ? to : a).toList();
    }

    private static void readAt(Path file, long offset, byte[] into) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
            f.seek(offset);
            f.readFully(into);
        }
    }

    @Test
    void refusals() throws Exception {
        assertThat(Qemu.img(dir, "create", "-q", "-f", "vdi", "img.vdi", "16M").exitCode()).isZero();
        byte[] before = Files.readAllBytes(dir.resolve("img.vdi"));
        ProcessRunner.Result noShrink = Diskplan.run(dir, "resize", "img.vdi", "8M");
        assertThat(noShrink.exitCode()).isNotZero();
        assertThat(noShrink.stderr()).contains("--shrink");
        ProcessRunner.Result odd = Diskplan.run(dir, "resize", "img.vdi", "--", "16777300");
        assertThat(odd.exitCode()).isNotZero();
        assertThat(odd.stderr()).contains("multiple of 512");
        ProcessRunner.Result prealloc = Diskplan.run(dir, "resize", "--preallocation=full", "img.vdi", "32M");
        assertThat(prealloc.exitCode()).isNotZero();
        assertThat(Files.readAllBytes(dir.resolve("img.vdi"))).isEqualTo(before);
        try (RandomAccessFile raf = new RandomAccessFile(dir.resolve("img.vdi").toFile(), "rw")) {
            raf.seek(VdiLayout.OFF_UUID_LINKAGE);
            raf.write(0x42);
        }
        ProcessRunner.Result diff = Diskplan.run(dir, "resize", "img.vdi", "32M");
        assertThat(diff.exitCode()).isNotZero();
        assertThat(diff.stderr()).contains("uuidLinkage").contains("non-NULL link UUID");
        ProcessRunner.Result qemu = Qemu.img(dir, "info", "-f", "vdi", "img.vdi");
        assertThat(qemu.exitCode()).as("qemu refuses it too").isNotZero();
    }

    private long virtualSize(String file) {
        ProcessRunner.Result r = Qemu.img(dir, "info", "--output=json", "-f", "vdi", file);
        assertThat(r.exitCode()).as(r.describe()).isZero();
        var m = java.util.regex.Pattern.compile("\"virtual-size\": (\\d+)").matcher(r.stdout());
        assertThat(m.find()).as(r.stdout()).isTrue();
        return Long.parseLong(m.group(1));
    }

    private String io(String file, String... cmds) {
        List<String> cmd = new ArrayList<>(List.of(Oracles.require("qemu-io").toString(), "-f", "vdi"));
        for (String c : cmds) {
            cmd.addAll(List.of("-c", c));
        }
        cmd.add(file);
        ProcessRunner.Result r = ProcessRunner.of(cmd).in(dir).timeout(java.time.Duration.ofMinutes(2)).run();
        assertThat(r.exitCode()).as(r.describe()).isZero();
        return r.stdout() + r.stderr();
    }
}
