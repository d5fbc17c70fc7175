package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * VirtualBox's standalone disk tool {@code vbox-img} (Debian sid's {@code virtualbox}
 * package), which {@code src/test/fetch-vbox.sh} unpacks with its libraries into the
 * git-ignored {@code vbox/} folder of the samples directory ({@link Samples#DIR_PROPERTY})
 * and runs through a wrapper script there. Without it a suite is skipped, visibly; where
 * the oracles are required (CI) it fails.
 */
final class VirtualBox {

    private VirtualBox() {
    }

    /** The wrapper {@code vbox-img}; skips (developer machine) or fails (CI) when missing. */
    static Path require() {
        String dir = System.getProperty(Samples.DIR_PROPERTY);
        Path tool = (dir == null || dir.isBlank() ? Path.of("samples") : Path.of(dir)).resolve("vbox")
                .resolve("vbox-img").toAbsolutePath();
        String why = null;
        if (!Files.isExecutable(tool)) {
            why = "VirtualBox's vbox-img not found at " + tool + ": run bash src/test/fetch-vbox.sh";
        } else {
            ProcessRunner.Result r = ProcessRunner.of(tool.toString(), "--version").run();
            if (r.exitCode() != 0) {
                why = "VirtualBox's vbox-img at " + tool + " does not run (" + r.describe()
                        + "): run bash src/test/fetch-vbox.sh again";
            }
        }
        if (why != null) {
            if (Oracles.required()) {
                fail(why);
            }
            assumeTrue(false, why);
        }
        return tool;
    }

    /** {@code vbox-img ARGS} in {@code dir}. */
    static ProcessRunner.Result run(Path dir, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(require().toString());
        cmd.addAll(List.of(args));
        return ProcessRunner.of(cmd).in(dir).timeout(Duration.ofMinutes(2)).run();
    }

    /** {@code vbox-img ARGS}, which must succeed. */
    static ProcessRunner.Result ok(Path dir, String... args) {
        ProcessRunner.Result r = run(dir, args);
        assertThat(r.exitCode()).as(r.describe()).isZero();
        return r;
    }

    private static final Pattern CONVERTING = Pattern.compile("Converting image \".*\" with size (\\d+) bytes");

    /**
     * VirtualBox reads {@code src} (format autodetected) and writes what it read into the
     * dynamic VDI {@code dst} (blocks it found unallocated stay unallocated, so a 600 GiB
     * disk converts in milliseconds); returns the disk size VirtualBox opened.
     */
    static long convertToVdi(Path dir, String src, String dst) {
        ProcessRunner.Result r = ok(dir, "convert", "--srcfilename", src, "--dstfilename", dst, "--dstformat", "VDI");
        Matcher m = CONVERTING.matcher(r.stdout() + r.stderr());
        assertThat(m.find()).as("vbox-img convert names the size it opened\n" + r.describe()).isTrue();
        return Long.parseLong(m.group(1));
    }
}
