package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.assertj.core.api.SoftAssertions;
import org.diskplan.probe.vhdx.VhdxSampleWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * VHDX resizes (through the VHDX log) checked with qemu and libvhdi as the oracles
 * (qemu-img cannot resize VHDX): each image made by {@code qemu-img create -f vhdx} (or
 * DiskPlan's sample writer), guest data written with qemu-io, resized with {@code diskplan
 * resize}; then {@code qemu-img check} is clean, {@code qemu-img info} and {@code vhdiinfo}
 * show the new size, the old data reads back, the new range reads zero, the last MiB can
 * be written and read, and {@code qemu-img compare} finds it identical to the original
 * (not for grows to terabytes, where qemu-img compare takes minutes over the unallocated
 * range, nor for shrinks, whose original holds data past the new end: there the qemu-io
 * pattern reads stand for it).
 */
@RequiresOracle({"qemu-img", "qemu-io", "vhdiinfo"})
class VhdxResizeOracleTest {
    static final long MIB = 1 << 20;
    static final long GIB = 1024 * MIB;

    record Case(String name, String options, String base, long size, boolean shrink, boolean compare) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Case> cases() {
        List<Case> c = new ArrayList<>();
        c.add(new Case("dynamic 1M blocks, grow within the BAT (64M -> 512M)", "block_size=1M", "64M", 512 * MIB,
                false, true));
        c.add(new Case("dynamic 1M blocks, grow needing a bigger BAT (1G -> 2T)", "block_size=1M", "1G",
                2L << 40, false, false));
        c.add(new Case("dynamic 256M blocks, grow to 40T", "block_size=256M", "1G", 40L << 40, false, false));
        c.add(new Case("dynamic 32M blocks, odd sizes (20971008 -> 1073742336)", "block_size=32M", "20971008",
                1073742336L, false, true));
        c.add(new Case("dynamic 8M blocks, 4M log (100M -> 10G)", "block_size=8M,log_size=4M", "100M", 10 * GIB,
                false, true));
        if (Boolean.getBoolean("diskplan.vhdx.huge")) {
            // about a minute (qemu-img check reads a 512 MiB BAT twice); bench/vhdx-resize.sh runs it too
            c.add(new Case("dynamic 1M blocks, 1G -> 64T", "block_size=1M", "1G", 64L << 40, false, false));
        }
        c.add(new Case("fixed 1M blocks, grow (20M -> 40M+512)", "subformat=fixed,block_size=1M", "20M",
                40 * MIB + 512, false, true));
        c.add(new Case("fixed 32M blocks, grow within the last block and on (40M -> 200M)",
                "subformat=fixed,block_size=32M", "40M", 200 * MIB, false, true));
        c.add(new Case("fixed 1M blocks, grow needing a bigger BAT (16M -> 130G)", "subformat=fixed,block_size=1M",
                "16M", 130 * GIB, false, false));
        c.add(new Case("dynamic 1M blocks, shrink (64M -> 20M)", "block_size=1M", "64M", 20 * MIB, true, false));
        c.add(new Case("fixed 32M blocks, shrink (100M -> 40M)", "subformat=fixed,block_size=32M", "100M",
                40 * MIB, true, false));
        return c.stream();
    }

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void resizedImageIsCleanAndKeepsItsData(Case c) throws Exception {
        List<String> create = new ArrayList<>(List.of("create", "-q", "-f", "vhdx"));
        if (!c.options().isEmpty()) {
            create.addAll(List.of("-o", c.options()));
        }
        create.addAll(List.of("img.vhdx", c.base()));
        assertThat(Qemu.img(dir, create).exitCode()).isZero();
        resizeAndCheck("img.vhdx", c.size(), c.shrink(), c.compare());
    }

    @Test
    void sampleWriterImagesGrowAndShrink() throws Exception {
        new VhdxSampleWriter().write(dir.resolve("img.vhdx"), 16 * MIB, Map.of("block_size", "1M"));
        resizeAndCheck("img.vhdx", 3 * GIB, false, true);
        new VhdxSampleWriter().write(dir.resolve("fixed.vhdx"), 64 * MIB, Map.of("subformat", "fixed"));
        resizeAndCheck("fixed.vhdx", 24 * MIB, true, false);
    }

    private void resizeAndCheck(String file, long size, boolean shrink, boolean compare) throws Exception {
        io(file, "write -P 0x5a 0 1M", "write -P 0x44 2M 512k", "write -P 0x33 5M 1M");
        long old = virtualSize(file);
        if (shrink) {
            io(file, "write -P 0x66 " + (old - MIB) + " 1M");
        }
        Files.copy(dir.resolve(file), dir.resolve("orig.vhdx"), StandardCopyOption.REPLACE_EXISTING);
        List<String> args = new ArrayList<>(List.of("resize"));
        if (shrink) {
            args.add("--shrink");
        }
        args.addAll(List.of(file, "--", Long.toString(size)));
        ProcessRunner.Result us = Diskplan.run(dir, args);
        assertThat(us.exitCode()).as(us.describe()).isZero();
        SoftAssertions soft = new SoftAssertions();
        VhdxChecks.cleanWithNewSize(dir, file, old, size, soft);
        soft.assertThat(io(file, "read -P 0x5a 0 1M", "read -P 0x44 2M 512k", "read -P 0x33 5M 1M"))
                .as("old data").doesNotContain("Pattern verification failed");
        if (compare) {
            ProcessRunner.Result cmp = Qemu.img(dir, "compare", "-f", "vhdx", "-F", "vhdx", "orig.vhdx", file);
            soft.assertThat(cmp.exitCode()).as("qemu-img compare\n" + cmp.describe()).isZero();
        }
        VhdxChecks.lastMibWritable(dir, file, size, soft);
        soft.assertAll();
    }

    /**
     * An image left with a live log (a resize stopped right after its header commit, as a
     * crashed writer leaves one): qemu-img info refuses it read-only, DiskPlan shows the log
     * needs replay, and the next DiskPlan resize replays it as part of its own plan.
     */
    @Test
    void aLogLeftToReplayIsReplayedByTheNextResize() throws Exception {
        assertThat(Qemu.img(dir, "create", "-q", "-f", "vhdx", "-o", "block_size=1M", "img.vhdx", "64M").exitCode())
                .isZero();
        io("img.vhdx", "write -P 0x5a 0 1M", "write -P 0x44 2M 512k", "write -P 0x33 5M 1M");
        Files.copy(dir.resolve("img.vhdx"), dir.resolve("orig.vhdx"));
        org.diskplan.planner.ResizePlan plan = org.diskplan.planner.ResizeSession.planFile(dir.resolve("img.vhdx"),
                java.util.Optional.empty(), p -> new org.diskplan.planner.ResizeRequest(512 * MIB, false,
                        org.diskplan.abi.Preallocation.OFF));
        try {
            org.diskplan.planner.apply.PlanApplier.apply(dir.resolve("img.vhdx"), plan,
                    org.diskplan.planner.apply.ApplyOptions.DEFAULT.withAfterStep(step -> {
                        if (step == plan.commitIndex()) {
                            throw new CrashPrefixSuite.Halt();
                        }
                    }));
        } catch (CrashPrefixSuite.Halt expected) {
            // stopped with the log live
        }
        Files.deleteIfExists(org.diskplan.planner.apply.UndoJournal.pathFor(dir.resolve("img.vhdx")));
        ProcessRunner.Result readOnly = Qemu.img(dir, "info", "-f", "vhdx", "img.vhdx");
        assertThat(readOnly.exitCode()).as("qemu refuses a dirty log read-only\n" + readOnly.describe()).isNotZero();
        assertThat(readOnly.stderr()).contains("log that needs to be replayed");
        ProcessRunner.Result info = Diskplan.run(dir, "info", "img.vhdx");
        assertThat(info.exitCode()).as(info.describe()).isZero();
        assertThat(info.stdout()).contains("log needs replay");
        ProcessRunner.Result us = Diskplan.run(dir, "resize", "img.vhdx", "3G");
        assertThat(us.exitCode()).as(us.describe()).isZero();
        ProcessRunner.Result check = Qemu.img(dir, "check", "-f", "vhdx", "img.vhdx");
        assertThat(check.exitCode()).as(check.describe()).isZero();
        assertThat(virtualSize("img.vhdx")).isEqualTo(3 * GIB);
        assertThat(io("img.vhdx", "read -P 0x5a 0 1M", "read -P 0x44 2M 512k", "read -P 0x33 5M 1M",
                "read -P 0 64M 1M", "read -P 0 " + (3 * GIB - MIB) + " 1M")).doesNotContain("Pattern verification failed");
        ProcessRunner.Result cmp = Qemu.img(dir, "compare", "-f", "vhdx", "-F", "vhdx", "orig.vhdx", "img.vhdx");
        assertThat(cmp.exitCode()).as(cmp.describe()).isZero();
    }

    /**
     * A pending log (as a crashed Hyper-V leaves one) whose entry maps a block at the end of
     * the file and whose last_file_offset says the file is a block longer than it is (the
     * extension was lost, the entry was not): the replay extends the file, qemu's and
     * DiskPlan's alike (an offset off the MiB is what qemu extends: it rounds up to 1 MiB),
     * so that DiskPlan's resize equals qemu's replay followed by the same resize, and qemu
     * finds nothing past the end of the file.
     */
    @Test
    void aPendingLogsLastFileOffsetExtendsTheFileAsQemusReplayDoes() throws Exception {
        assertThat(Qemu.img(dir, "create", "-q", "-f", "vhdx", "-o", "block_size=1M", "img.vhdx", "64M").exitCode())
                .isZero();
        io("img.vhdx", "write -P 0x5a 0 1M", "write -P 0x44 2M 512k");
        Path img = dir.resolve("img.vhdx");
        long length = Files.size(img);
        assertThat(length % MIB).isZero();
        var h = (org.diskplan.probe.vhdx.VhdxHeader) org.diskplan.probe.ImageProber.probe(img,
                java.util.Optional.of("vhdx")).header();
        byte[] bytes = Files.readAllBytes(img);
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        long batSector = h.batOffset();
        byte[] sector = java.util.Arrays.copyOfRange(bytes, (int) batSector, (int) batSector + 4096);
        // payload block 9 (guest 9M..10M), fully present at the old end of the file
        java.nio.ByteBuffer.wrap(sector).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(9 * 8, length | 6);
        byte[] guid = new byte[16];
        java.util.Arrays.fill(guid, (byte) 0x3c);
        byte[] entry = org.diskplan.probe.vhdx.VhdxLog.encodeEntry(guid, 1, 0, length, length + MIB - 4096,
                List.of(new org.diskplan.probe.vhdx.VhdxLog.Data(batSector, sector)));
        System.arraycopy(entry, 0, bytes, (int) h.logOffset(), entry.length);
        int at = (int) h.headers().get(h.currentHeaderIndex()).offset();
        b.position(at + 48);
        b.put(guid);
        b.putInt(at + 4, (int) org.diskplan.probe.vhdx.VhdxLayout.crc32c(java.util.Arrays.copyOfRange(bytes, at,
                at + 4096), 4));
        Files.write(img, bytes);
        Files.copy(img, dir.resolve("replayed.vhdx"));
        ProcessRunner.Result replay = Qemu.img(dir, "check", "-r", "all", "-f", "vhdx", "replayed.vhdx");
        assertThat(replay.exitCode()).as(replay.describe()).isZero();
        assertThat(Files.size(dir.resolve("replayed.vhdx"))).as("qemu's replay extends the file").isEqualTo(
                length + MIB);
        ProcessRunner.Result us = Diskplan.run(dir, "resize", "img.vhdx", "3G");
        assertThat(us.exitCode()).as(us.describe()).isZero();
        ProcessRunner.Result check = Qemu.img(dir, "check", "-f", "vhdx", "img.vhdx");
        assertThat(check.exitCode()).as(check.describe()).isZero();
        assertThat(virtualSize("img.vhdx")).isEqualTo(3 * GIB);
        assertThat(io("img.vhdx", "read -P 0x5a 0 1M", "read -P 0x44 2M 512k", "read -P 0 9M 1M",
                "write -P 0x21 9M 1M", "read -P 0x21 9M 1M")).doesNotContain("Pattern verification failed");
        ProcessRunner.Result cmp = Qemu.img(dir, "compare", "-f", "vhdx", "-F", "vhdx", "replayed.vhdx", "img.vhdx");
        assertThat(cmp.exitCode()).as(cmp.describe()).isNotZero(); // 9M now holds 0x21
        io("replayed.vhdx", "write -P 0x21 9M 1M");
        cmp = Qemu.img(dir, "compare", "-f", "vhdx", "-F", "vhdx", "replayed.vhdx", "img.vhdx");
        assertThat(cmp.exitCode()).as(cmp.describe()).isZero();
    }

    @Test
    void refusals() throws Exception {
        assertThat(Qemu.img(dir, "create", "-q", "-f", "vhdx", "img.vhdx", "16M").exitCode()).isZero();
        byte[] before = Files.readAllBytes(dir.resolve("img.vhdx"));
        ProcessRunner.Result noShrink = Diskplan.run(dir, "resize", "img.vhdx", "8M");
        assertThat(noShrink.exitCode()).isNotZero();
        assertThat(noShrink.stderr()).contains("--shrink");
        ProcessRunner.Result odd = Diskplan.run(dir, "resize", "img.vhdx", "--", "16777300");
        assertThat(odd.exitCode()).isNotZero();
        ProcessRunner.Result huge = Diskplan.run(dir, "resize", "img.vhdx", "65T");
        assertThat(huge.exitCode()).isNotZero();
        assertThat(huge.stderr()).contains("64TB");
        ProcessRunner.Result prealloc = Diskplan.run(dir, "resize", "--preallocation=full", "img.vhdx", "32M");
        assertThat(prealloc.exitCode()).isNotZero();
        assertThat(Files.readAllBytes(dir.resolve("img.vhdx"))).isEqualTo(before);
        // a header whose CRC no longer holds
        try (RandomAccessFile raf = new RandomAccessFile(dir.resolve("img.vhdx").toFile(), "rw")) {
            raf.seek(128 * 1024 + 100);
            raf.write(0x42);
        }
        byte[] broken = Files.readAllBytes(dir.resolve("img.vhdx"));
        ProcessRunner.Result bad = Diskplan.run(dir, "resize", "img.vhdx", "32M");
        assertThat(bad.exitCode()).isNotZero();
        assertThat(bad.stderr()).contains("header at offset");
        assertThat(Files.readAllBytes(dir.resolve("img.vhdx"))).isEqualTo(broken);
    }

    private long virtualSize(String file) {
        return VhdxChecks.virtualSize(dir, file);
    }

    private String io(String file, String... cmds) {
        return VhdxChecks.io(dir, file, cmds);
    }
}
