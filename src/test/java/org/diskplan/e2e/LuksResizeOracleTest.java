package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A raw LUKS container resized by qemu-img (which needs the passphrase: --object secret,
 * --image-opts) and by DiskPlan (which does not: {@code -f luks}) on identical copies:
 * the same exit status, stdout and words, the same file byte for byte and the same
 * allocation. Then qemu reads the old data back through the cipher and takes a write at
 * the new end.
 */
@RequiresOracle({"qemu-img", "qemu-io"})
class LuksResizeOracleTest {
    static final String FILE = "disk.luks";
    static final String SECRET = "secret,id=sec0,data=abc";
    static final String OPTS = "driver=luks,key-secret=sec0,file.filename=" + FILE;

    record Case(String name, String base, List<String> args) {
        @Override
        public String toString() {
            return name;
        }

        /** The resize arguments after the image (the size last). */
        List<String> tail() {
            List<String> rest = new ArrayList<>(args);
            String size = rest.remove(rest.size() - 1);
            rest.add(size);
            return rest;
        }

        List<String> qemuArgv() {
            List<String> a = new ArrayList<>(List.of("resize", "--object", SECRET));
            List<String> t = tail();
            a.addAll(t.subList(0, t.size() - 1));
            a.addAll(List.of("--image-opts", OPTS, t.get(t.size() - 1)));
            return a;
        }

        List<String> diskplanArgv() {
            List<String> a = new ArrayList<>(List.of("resize", "-f", "luks"));
            List<String> t = tail();
            a.addAll(t.subList(0, t.size() - 1));
            a.addAll(List.of(FILE, t.get(t.size() - 1)));
            return a;
        }
    }

    static Case c(String name, String base, String... args) {
        return new Case(name, base, List.of(args));
    }

    static Stream<Case> cases() {
        return Stream.of(
                c("grow 16M -> 1G", "16M", "1G"),
                c("grow by one byte", "16M", "+1"),
                c("grow by an odd count", "16M", "100000001"),
                c("grow, preallocation falloc", "16M", "--preallocation=falloc", "48M"),
                c("grow, preallocation full", "16M", "--preallocation=full", "24M"),
                c("preallocation metadata", "16M", "--preallocation=metadata", "24M"),
                c("same size", "16M", "16M"),
                c("shrink without --shrink", "16M", "8M"),
                c("shrink 16M -> 3M", "16M", "--shrink", "3M"),
                c("shrink to one byte", "16M", "--shrink", "1"),
                c("too large", "16M", "9223372035781033984"),
                c("zero", "16M", "--shrink", "0"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void sameAsQemuImg(Case c, @TempDir Path tmp) throws IOException {
        Path qDir = Files.createDirectory(tmp.resolve("qemu"));
        Path dDir = Files.createDirectory(tmp.resolve("diskplan"));
        make(tmp, c.base());
        // LUKS keys are random: one container, copied with the same holes to both sides.
        sparseCopy(tmp.resolve(FILE), qDir.resolve(FILE));
        sparseCopy(tmp.resolve(FILE), dDir.resolve(FILE));
        assertThat(Images.allocationDifference(qDir.resolve(FILE), dDir.resolve(FILE))).as("test setup").isNull();

        ProcessRunner.Result q = Qemu.img(qDir, c.qemuArgv());
        ProcessRunner.Result d = Diskplan.run(dDir, c.diskplanArgv());
        Path qFile = qDir.resolve(FILE);
        Path dFile = dDir.resolve(FILE);
        String both = "\ncase: " + c + "\nqemu-img:\n" + q.describe() + "\ndiskplan:\n" + d.describe();
        SoftAssertions soft = new SoftAssertions();
        soft.assertThat(d.exitCode()).as("exit status" + both).isEqualTo(q.exitCode());
        soft.assertThat(d.stdout()).as("stdout" + both).isEqualTo(q.stdout());
        soft.assertThat(d.stderr()).as("stderr" + both).isEqualTo(Qemu.asDiskplan(q.stderr()));
        soft.assertThat(Images.length(dFile)).as("file length" + both).isEqualTo(Images.length(qFile));
        soft.assertThat(Images.difference(qFile, dFile)).as("identical files" + both).isNull();
        soft.assertThat(Images.allocationDifference(qFile, dFile)).as("allocated blocks" + both).isNull();
        soft.assertThat(Files.exists(Diskplan.journalOf(dFile))).as("journal left behind" + both).isFalse();
        soft.assertAll();
        if (d.exitCode() == 0) {
            long size = virtualSize(dDir);
            if (size >= (1 << 20)) {
                io(dDir, "read -P 0x11 0 1M");
            }
            long last = Math.max(0, size - 65536);
            if (size > 0 && size % 512 == 0) {
                io(dDir, "write -P 0x5a " + last + " " + (size - last));
                io(dDir, "read -P 0x5a " + last + " " + (size - last));
            }
        }
    }

    @Test
    void thePlanSaysWhatTheNewRangeReadsAs(@TempDir Path dir) throws IOException {
        make(dir, "16M");
        ProcessRunner.Result d = Diskplan.run(dir, "plan", "-f", "luks", FILE, "+16M");
        assertThat(d.exitCode()).as(d.describe()).isZero();
        assertThat(d.stdout()).as(d.describe()).contains("decryption of zeros").contains("no passphrase");
    }

    private static void make(Path dir, String size) {
        ProcessRunner.Result r = Qemu.img(dir, "create", "-q", "-f", "luks", "--object", SECRET, "-o",
                "key-secret=sec0,iter-time=10", FILE, size);
        assertThat(r.exitCode()).as(r.describe()).isZero();
        io(dir, "write -P 0x11 0 1M");
        io(dir, "write -P 0x22 5M 64k");
    }

    private static void sparseCopy(Path from, Path to) {
        Qcow2Images.run(from.getParent(), List.of("cp", "--sparse=always", from.toString(), to.toString()));
    }

    private static long virtualSize(Path dir) {
        ProcessRunner.Result r = Qemu.img(dir, "info", "--output=json", "--object", SECRET, "--image-opts", OPTS);
        assertThat(r.exitCode()).as(r.describe()).isZero();
        try {
            return new com.fasterxml.jackson.databind.ObjectMapper().readTree(r.stdout()).get("virtual-size").asLong();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static void io(Path dir, String cmd) {
        ProcessRunner.Result r = Qcow2Images.run(dir, List.of("qemu-io", "--object", SECRET, "--image-opts", "-c",
                cmd, OPTS));
        assertThat(r.stdout()).as(cmd + "\n" + r.describe()).doesNotContain("failed").doesNotContain("error");
    }
}
