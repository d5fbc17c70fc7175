package org.diskplan.app.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * The training run of the packaged image's class-data archive: every command path in ONE
 * JVM, so that {@code -XX:ArchiveClassesAtExit} records all the classes any command loads
 * (packaging/finish-image.sh at build time, the .deb's postinst at install time).
 *
 * <p>It is started exactly as the launcher starts a command ({@code java -cp
 * diskplan-cli.jar org.diskplan.app.Main}, the same flags) with {@code -D}{@value #PROPERTY}{@code =SCRATCH_DIR}: then
 * {@code Main} reads commands from stdin, one a line, words separated by blanks,
 * {@code @DIR@} replaced by the scratch folder (blank lines and {@code #} comments
 * skipped), and runs each through its own command-line route, so the archive also holds
 * what {@code Main} loads. Output is discarded;
 * failures are part of the training (error paths load classes too). Not a user command.
 */
public final class CdsTraining {
    /** The system property that turns a start into a training run; its value is the scratch folder. */
    public static final String PROPERTY = "diskplan.cdsTraining";
    /** What a command answers that the training does not run (the window). */
    public static final int SKIPPED = -1;

    /** One command line: its words, where output goes; returns the exit status. */
    @FunctionalInterface
    public interface Route {
        int run(String[] args, PrintStream out, PrintStream err);
    }

    private CdsTraining() {
    }

    /**
     * Runs every command of stdin through {@code route}; returns 0, or 2 when no command
     * ran (the archive would hold nothing of DiskPlan) or a line leads to the window.
     */
    public static int run(String scratchDir, Route route) {
        PrintStream sink = new PrintStream(OutputStream.nullOutputStream(), true, StandardCharsets.UTF_8);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        int commands = 0;
        try {
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                String l = line.strip();
                if (l.isEmpty() || l.startsWith("#")) {
                    continue;
                }
                if (route.run(l.replace("@DIR@", scratchDir).split("\\s+"), sink, sink) == SKIPPED) {
                    System.err.println("diskplan: training: '" + l + "' opens the window, which is not trained");
                    return 2;
                }
                commands++;
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (commands == 0) {
            System.err.println("diskplan: training: no commands on stdin");
            return 2;
        }
        System.out.println("trained on " + commands + " commands");
        return 0;
    }
}
