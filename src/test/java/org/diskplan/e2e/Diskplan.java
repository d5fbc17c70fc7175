package org.diskplan.e2e;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The product under test: {@code app-fx/target/diskplan.jar}, run as
 * {@code java -jar diskplan.jar ARGS} with the test JVM's own {@code java}.
 *
 * <p>The jar comes from the system property {@code diskplan.jar} (set by this module's
 * pom); without it (e.g. in an IDE) it is looked for relative to the working directory.
 */
public final class Diskplan {

    /** Environment variable that makes the applier halt right after a given step. */
    public static final String CRASH_ENV = "DISKPLAN_TEST_CRASH_AFTER_PATCH";

    /** Suffix of the undo journal written beside the image during a resize. */
    public static final String JOURNAL_SUFFIX = ".diskplan-journal";

    /** Exit status of a process that halted through the crash hook. */
    public static final int CRASH_EXIT = 137;

    /**
     * JVM options for the subprocess: only start-up speed (the product runs many times
     * per test); override with {@code -Ddiskplan.jvm.args="..."} (empty for none).
     */
    private static final String DEFAULT_JVM_ARGS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto";

    private static volatile Path jar;

    private Diskplan() {
    }

    /** The jar under test; fails with a clear message if it has not been built. */
    public static Path jar() {
        Path j = jar;
        if (j == null) {
            String prop = System.getProperty("diskplan.jar");
            List<Path> candidates = new ArrayList<>();
            if (prop != null && !prop.isBlank()) {
                candidates.add(Path.of(prop));
            } else {
                candidates.add(Path.of("app-fx/target/diskplan.jar"));
                candidates.add(Path.of("../../app-fx/target/diskplan.jar"));
                candidates.add(Path.of("../app-fx/target/diskplan.jar"));
            }
            j = candidates.stream().filter(Files::isRegularFile).findFirst()
                    .map(p -> p.toAbsolutePath().normalize())
                    .orElseThrow(() -> new AssertionError("diskplan.jar not found (looked at "
                            + candidates.stream().map(p -> p.toAbsolutePath().normalize().toString()).toList()
                            + "): build it first, e.g. `mvn -pl app-fx -am package`, or set -Ddiskplan.jar=PATH"));
            jar = j;
        }
        return j;
    }

    /** Path of the journal that belongs to {@code image}. */
    public static Path journalOf(Path image) {
        return image.resolveSibling(image.getFileName() + JOURNAL_SUFFIX);
    }

    /** A runner for {@code diskplan ARGS} in {@code dir}, with the crash hook off. */
    public static ProcessRunner runner(Path dir, List<String> args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        String jvmArgs = System.getProperty("diskplan.jvm.args", DEFAULT_JVM_ARGS).trim();
        if (!jvmArgs.isEmpty()) {
            cmd.addAll(Arrays.asList(jvmArgs.split("\\s+")));
        }
        cmd.add("-jar");
        cmd.add(jar().toString());
        cmd.addAll(args);
        return ProcessRunner.of(cmd).in(dir).withoutEnv(CRASH_ENV);
    }

    public static ProcessRunner.Result run(Path dir, List<String> args) {
        return runner(dir, args).run();
    }

    public static ProcessRunner.Result run(Path dir, String... args) {
        return run(dir, List.of(args));
    }

    /** Runs with extra environment variables. */
    public static ProcessRunner.Result run(Path dir, Map<String, String> env, List<String> args) {
        ProcessRunner r = runner(dir, args);
        env.forEach(r::env);
        return r.run();
    }
}
