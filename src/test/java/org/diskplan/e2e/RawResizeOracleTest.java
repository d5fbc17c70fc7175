package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.assertj.core.api.SoftAssertions;
import org.diskplan.e2e.Images.Start;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code diskplan resize} against {@code qemu-img resize} on raw images: the same
 * arguments on two identical files must give the same exit status, stdout, stderr
 * (with the line prefix {@code qemu-img: } read as {@code diskplan: }), file length,
 * bytes and allocated blocks (the logical extent map with its written/unwritten marks,
 * or {@code stat -c %b} where the filesystem cannot report extents: see
 * {@link Images.Allocation}).
 *
 * <p>Each tool works in its own directory on a file of the same name, and is given the
 * same relative path, so that messages naming the file are comparable verbatim.
 */
@RequiresOracle("qemu-img")
class RawResizeOracleTest {

    static final String FILE = "disk.raw";
    static final String MISSING = "nofile.raw";

    /** One row of the matrix; {@code FILE} in {@code args} stands for the image's name. */
    record Case(String name, Start start, List<String> args) {
        @Override
        public String toString() {
            return name + "  [" + start + ": resize " + String.join(" ", args.stream().map(Case::show).toList()) + "]";
        }

        private static String show(String a) {
            return a.isEmpty() || a.contains(" ") || a.contains(",") ? "'" + a + "'" : a;
        }

        List<String> argv() {
            List<String> out = new ArrayList<>();
            out.add("resize");
            for (String a : args) {
                out.add(a.equals("FILE") ? (start == Start.MISSING ? MISSING : FILE) : a);
            }
            return out;
        }
    }

    static Case c(String name, Start start, String... args) {
        return new Case(name, start, List.of(args));
    }

    static Case c(String name, String... args) {
        return c(name, Start.PATTERN_1M, args);
    }

    static Stream<Case> cases() {
        Start e = Start.EMPTY;
        Start k = Start.BYTES_1000;
        return Stream.of(
                // growing
                c("grow absolute 2M", "-f", "raw", "FILE", "2M"),
                c("grow relative +1M", "-f", "raw", "FILE", "+1M"),
                c("grow to a size that is not a multiple of 512", "-f", "raw", "FILE", "3000001"),
                c("grow in plain bytes", "-f", "raw", "FILE", "2000000"),
                // fractions
                c("fraction 1.5M", "-f", "raw", "FILE", "1.5M"),
                c("fraction 2.25M", "-f", "raw", "FILE", "2.25M"),
                c("relative fraction +0.5M", "-f", "raw", "FILE", "+0.5M"),
                c("relative fraction +1.5k", "-f", "raw", "FILE", "+1.5k"),
                // every suffix
                c("suffix b", "-f", "raw", "FILE", "2000000b"),
                c("suffix B", "-f", "raw", "FILE", "3000000B"),
                c("suffix k", "-f", "raw", "FILE", "2048k"),
                c("suffix K", "-f", "raw", "FILE", "1536K"),
                c("suffix M", "-f", "raw", "FILE", "3M"),
                c("suffix m (lowercase)", "-f", "raw", "FILE", "2m"),
                c("suffix G (sparse)", "-f", "raw", "FILE", "1G"),
                c("suffix g relative (sparse)", "-f", "raw", "FILE", "+1g"),
                c("suffix T relative (sparse)", "-f", "raw", "FILE", "+1T"),
                c("suffix t relative (sparse)", "-f", "raw", "FILE", "+1t"),
                c("suffix P relative: file too large", "-f", "raw", "FILE", "+1P"),
                c("suffix E 7E: file too large", "-f", "raw", "FILE", "7E"),
                c("suffix e fraction 1.5e: file too large", "-f", "raw", "FILE", "1.5e"),
                // shrinking
                c("shrink relative, -- form, without --shrink", "-f", "raw", "FILE", "--", "-512K"),
                c("shrink relative, -- form, with --shrink", "-f", "raw", "--shrink", "FILE", "--", "-512K"),
                c("shrink relative without -- and without --shrink", "-f", "raw", "FILE", "-512K"),
                c("shrink relative without -- with --shrink", "-f", "raw", "--shrink", "FILE", "-512K"),
                c("shrink -- -1M form to zero with --shrink", "-f", "raw", "--shrink", "FILE", "--", "-1M"),
                c("shrink below zero with --shrink", "-f", "raw", "--shrink", "FILE", "--", "-2M"),
                c("shrink absolute without --shrink", "-f", "raw", "FILE", "512K"),
                c("shrink absolute with --shrink", "-f", "raw", "--shrink", "FILE", "512K"),
                c("shrink to 1000 bytes with --shrink", "-f", "raw", "--shrink", "FILE", "1000"),
                // zero and same size
                c("zero", "-f", "raw", "FILE", "0"),
                c("zero with --shrink", "-f", "raw", "--shrink", "FILE", "0"),
                c("same size", "-f", "raw", "FILE", "1M"),
                c("same size in K", "-f", "raw", "FILE", "1024K"),
                c("same size with --shrink", "-f", "raw", "--shrink", "FILE", "1M"),
                c("relative +0", "-f", "raw", "FILE", "+0"),
                c("relative -0", "-f", "raw", "FILE", "--", "-0"),
                // bad numbers
                c("bad number 1.1 (fraction without suffix)", "-f", "raw", "FILE", "1.1"),
                c("bad number abc", "-f", "raw", "FILE", "abc"),
                c("bad number 1e3k", "-f", "raw", "FILE", "1e3k"),
                c("bad number 1e3", "-f", "raw", "FILE", "1e3"),
                c("bad number .5G", "-f", "raw", "FILE", ".5G"),
                c("bad number 1,5G", "-f", "raw", "FILE", "1,5G"),
                c("bad number 1.5b (fraction of bytes)", "-f", "raw", "FILE", "1.5b"),
                c("bad number 2MB (two suffixes)", "-f", "raw", "FILE", "2MB"),
                c("bad number inf", "-f", "raw", "FILE", "inf"),
                c("bad number +-1M", "-f", "raw", "FILE", "+-1M"),
                c("bad number: empty", "-f", "raw", "FILE", ""),
                c("bad number: + alone", "-f", "raw", "FILE", "+"),
                c("bad number: - alone after --", "-f", "raw", "FILE", "--", "-"),
                c("out of range 18446744073709551616 (2^64)", "-f", "raw", "FILE", "18446744073709551616"),
                c("out of range 16E", "-f", "raw", "FILE", "16E"),
                c("relative +8E overflows", "-f", "raw", "FILE", "+8E"),
                c("hex 0x100000 (same size)", "-f", "raw", "FILE", "0x100000"),
                c("hex with suffix 0x10M (deprecated)", "-f", "raw", "FILE", "0x10M"),
                c("leading space ' 5M'", "-f", "raw", "FILE", " 5M"),
                c("trailing dot 5.M", "-f", "raw", "FILE", "5.M"),
                c("trailing dot 1.", "-f", "raw", "FILE", "1."),
                c("9223372036854775807 exceeds maximum", "-f", "raw", "FILE", "9223372036854775807"),
                // preallocation
                c("preallocation=off grow", "-f", "raw", "--preallocation=off", "FILE", "2M"),
                c("preallocation=falloc grow", "-f", "raw", "--preallocation=falloc", "FILE", "2M"),
                c("preallocation=full grow", "-f", "raw", "--preallocation=full", "FILE", "2M"),
                c("preallocation=full grow to non-multiple of 512", "-f", "raw", "--preallocation=full", "FILE", "1500000"),
                c("preallocation=falloc relative +1M", "-f", "raw", "--preallocation=falloc", "FILE", "+1M"),
                c("preallocation falloc as a separate argument", "-f", "raw", "--preallocation", "falloc", "FILE", "2M"),
                c("preallocation=metadata (unsupported for raw)", "-f", "raw", "--preallocation=metadata", "FILE", "2M"),
                c("preallocation=bogus", "-f", "raw", "--preallocation=bogus", "FILE", "2M"),
                c("preallocation=full with --shrink", "-f", "raw", "--preallocation=full", "--shrink", "FILE", "512K"),
                c("preallocation=falloc with --shrink", "-f", "raw", "--preallocation=falloc", "--shrink", "FILE", "512K"),
                c("preallocation=off with --shrink", "-f", "raw", "--preallocation=off", "--shrink", "FILE", "512K"),
                c("preallocation=full same size", "-f", "raw", "--preallocation=full", "FILE", "1M"),
                c("preallocation=falloc same size", "-f", "raw", "--preallocation=falloc", "FILE", "1M"),
                c("preallocation=off same size", "-f", "raw", "--preallocation=off", "FILE", "1M"),
                // quiet
                c("-q grow", "-q", "-f", "raw", "FILE", "2M"),
                c("-q same size", "-q", "-f", "raw", "FILE", "1M"),
                c("-q still reports errors", "-q", "-f", "raw", "FILE", "512K"),
                // missing file, probing
                c("missing file", Start.MISSING, "-f", "raw", "FILE", "1M"),
                c("missing file without -f", Start.MISSING, "FILE", "1M"),
                c("no -f: raw probe warning, grow", "FILE", "2M"),
                c("no -f: raw probe warning, error", "FILE", "512K"),
                c("no -f with -q", "-q", "FILE", "2M"),
                // an empty file
                c("empty file grow to 1M", e, "-f", "raw", "FILE", "1M"),
                c("empty file grow to 100 bytes", e, "-f", "raw", "FILE", "100"),
                c("empty file grow to 1000 bytes", e, "-f", "raw", "FILE", "1000"),
                c("empty file grow to 5000 bytes", e, "-f", "raw", "FILE", "5000"),
                c("empty file grow relative +1k", e, "-f", "raw", "FILE", "+1k"),
                c("empty file +0", e, "-f", "raw", "FILE", "+0"),
                c("empty file falloc to 100 bytes", e, "-f", "raw", "--preallocation=falloc", "FILE", "100"),
                c("empty file full to 100 bytes", e, "-f", "raw", "--preallocation=full", "FILE", "100"),
                c("empty file falloc to 1M", e, "-f", "raw", "--preallocation=falloc", "FILE", "1M"),
                c("empty file full to 1M", e, "-f", "raw", "--preallocation=full", "FILE", "1M"),
                c("empty file without -f", e, "FILE", "1M"),
                // a 1000-byte file (virtual size rounds up to 1024)
                c("1000-byte file grow to 1M", k, "-f", "raw", "FILE", "1M"),
                c("1000-byte file to 1000 (below the rounded size)", k, "-f", "raw", "FILE", "1000"),
                c("1000-byte file to 1024 (its rounded size)", k, "-f", "raw", "FILE", "1024"),
                c("1000-byte file grow to 1500", k, "-f", "raw", "FILE", "1500"),
                c("1000-byte file +1", k, "-f", "raw", "FILE", "+1"),
                c("1000-byte file +0", k, "-f", "raw", "FILE", "+0"),
                c("1000-byte file shrink to 512", k, "-f", "raw", "--shrink", "FILE", "512"),
                c("1000-byte file shrink to 100", k, "-f", "raw", "--shrink", "FILE", "100"),
                c("1000-byte file full to 2000", k, "-f", "raw", "--preallocation=full", "FILE", "2000"),
                c("1000-byte file falloc to 2000", k, "-f", "raw", "--preallocation=falloc", "FILE", "2000"),
                c("1000-byte file falloc to 1M", k, "-f", "raw", "--preallocation=falloc", "FILE", "1M"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void sameAsQemuImg(Case c, @TempDir Path tmp) throws IOException {
        Path qDir = Files.createDirectory(tmp.resolve("qemu"));
        Path dDir = Files.createDirectory(tmp.resolve("diskplan"));
        String name = c.start() == Start.MISSING ? MISSING : FILE;
        Path qFile = qDir.resolve(name);
        Path dFile = dDir.resolve(name);
        c.start().createAt(qFile);
        c.start().createAt(dFile);
        if (c.start() != Start.MISSING) {
            assertThat(Images.difference(qFile, dFile)).as("test setup: identical inputs").isNull();
            assertThat(Images.allocationDifference(qFile, dFile)).as("test setup: identical allocation").isNull();
        }

        ProcessRunner.Result q = Qemu.img(qDir, c.argv());
        ProcessRunner.Result d = Diskplan.run(dDir, c.argv());

        String both = "\ncase: " + c + "\nqemu-img:\n" + q.describe() + "\ndiskplan:\n" + d.describe();
        SoftAssertions soft = new SoftAssertions();
        soft.assertThat(d.exitCode()).as("exit status" + both).isEqualTo(q.exitCode());
        soft.assertThat(d.stdout()).as("stdout" + both).isEqualTo(q.stdout());
        soft.assertThat(d.stderr()).as("stderr (qemu-img: read as diskplan: )" + both)
                .isEqualTo(Qemu.asDiskplan(q.stderr()));
        soft.assertThat(Files.exists(dFile)).as("file exists afterwards" + both).isEqualTo(Files.exists(qFile));
        if (Files.exists(qFile) && Files.exists(dFile)) {
            soft.assertThat(Images.length(dFile)).as("file length" + both).isEqualTo(Images.length(qFile));
            soft.assertThat(Images.difference(qFile, dFile)).as("file content" + both).isNull();
            soft.assertThat(Images.allocationDifference(qFile, dFile)).as("allocated blocks" + both).isNull();
        }
        soft.assertThat(Files.exists(Diskplan.journalOf(dFile))).as("journal left behind" + both).isFalse();
        soft.assertAll();
    }

    /** Usage errors: qemu-img exits 1 with "Try 'qemu-img --help'"; DiskPlan exits 2, file untouched. */
    static Stream<Case> usageErrors() {
        return Stream.of(
                c("no arguments after resize"),
                c("file but no size", "-f", "raw", "FILE"),
                c("an extra argument", "-f", "raw", "FILE", "2M", "extra"),
                c("an unknown option", "-f", "raw", "--bogus", "FILE", "2M"),
                c("an option after the size", "-f", "raw", "FILE", "2M", "-q"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("usageErrors")
    void usageErrorsExitTwo(Case c, @TempDir Path tmp) throws IOException {
        Path qDir = Files.createDirectory(tmp.resolve("qemu"));
        Path dDir = Files.createDirectory(tmp.resolve("diskplan"));
        c.start().createAt(qDir.resolve(FILE));
        c.start().createAt(dDir.resolve(FILE));
        Images.Snapshot before = Images.Snapshot.of(dDir.resolve(FILE));

        ProcessRunner.Result q = Qemu.img(qDir, c.argv());
        assertThat(q.stderr()).as("test premise: qemu-img calls this a usage error\n" + q.describe())
                .contains("Try 'qemu-img --help'");

        ProcessRunner.Result d = Diskplan.run(dDir, c.argv());
        assertThat(d.exitCode()).as("usage error exits 2\n" + d.describe()).isEqualTo(2);
        assertThat(before.difference()).as("file unchanged\n" + d.describe()).isNull();
    }
}
