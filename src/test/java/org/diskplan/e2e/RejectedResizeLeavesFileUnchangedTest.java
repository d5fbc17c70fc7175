package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.diskplan.e2e.Images.Start;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A resize that is refused must not touch the image: same bytes, same length, same
 * modification time, no journal left behind. (No oracle needed.)
 */
class RejectedResizeLeavesFileUnchangedTest {

    static final String FILE = "disk.raw";

    record Case(String name, Start start, List<String> args, int exit) {
        @Override
        public String toString() {
            return name + "  [" + String.join(" ", args) + "]";
        }
    }

    static Case c(String name, String... args) {
        return c(name, Start.PATTERN_1M, args);
    }

    static Case c(String name, Start start, String... args) {
        List<String> a = new ArrayList<>(List.of("resize"));
        for (String s : args) {
            a.add(s.equals("FILE") ? FILE : s);
        }
        return new Case(name, start, List.copyOf(a), 1);
    }

    static Stream<Case> cases() {
        return Stream.of(
                c("shrink without --shrink (absolute)", "-f", "raw", "FILE", "512K"),
                c("shrink without --shrink (relative)", "-f", "raw", "FILE", "--", "-512K"),
                c("shrink without --shrink (1000-byte file below its rounded size)", Start.BYTES_1000, "-f", "raw", "FILE", "1000"),
                c("bad size 1.1", "-f", "raw", "FILE", "1.1"),
                c("bad size abc", "-f", "raw", "FILE", "abc"),
                c("bad size 1e3k", "-f", "raw", "FILE", "1e3k"),
                c("bad size 16E", "-f", "raw", "FILE", "16E"),
                c("bad size +8E", "-f", "raw", "FILE", "+8E"),
                c("size 7E: file too large", "-f", "raw", "FILE", "7E"),
                c("size +1P: file too large", "-f", "raw", "FILE", "+1P"),
                c("size 1.5e: file too large", "-f", "raw", "FILE", "1.5e"),
                c("size 9223372036854775807", "-f", "raw", "FILE", "9223372036854775807"),
                c("preallocation=metadata", "-f", "raw", "--preallocation=metadata", "FILE", "2M"),
                c("preallocation=bogus", "-f", "raw", "--preallocation=bogus", "FILE", "2M"),
                c("preallocation=full with --shrink", "-f", "raw", "--preallocation=full", "--shrink", "FILE", "512K"),
                c("preallocation=falloc with --shrink", "-f", "raw", "--preallocation=falloc", "--shrink", "FILE", "512K"),
                c("preallocation=full same size", "-f", "raw", "--preallocation=full", "FILE", "1M"),
                c("zero", "-f", "raw", "FILE", "0"),
                c("zero with --shrink", "-f", "raw", "--shrink", "FILE", "0"),
                c("relative to zero with --shrink", "-f", "raw", "--shrink", "FILE", "--", "-1M"),
                c("empty file +0", Start.EMPTY, "-f", "raw", "FILE", "+0"),
                new Case("usage error: no size", Start.PATTERN_1M, List.of("resize", "-f", "raw", FILE), 2));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void refusedResizeChangesNothing(Case c, @TempDir Path dir) {
        Path image = dir.resolve(FILE);
        c.start().createAt(image);
        Images.setOldMtime(image);
        Images.Snapshot before = Images.Snapshot.of(image);
        long blocks = Images.blocks(image);

        ProcessRunner.Result r = Diskplan.run(dir, c.args());
        String ctx = "\ncase: " + c + "\n" + r.describe();

        assertThat(r.exitCode()).as("refused" + ctx).isEqualTo(c.exit());
        assertThat(r.stdout()).as("nothing on stdout" + ctx).isEmpty();
        assertThat(before.difference()).as("bytes, length and mtime unchanged" + ctx).isNull();
        assertThat(Images.blocks(image)).as("allocation unchanged" + ctx).isEqualTo(blocks);
        assertThat(Diskplan.journalOf(image)).as("no journal left" + ctx).doesNotExist();
    }
}
