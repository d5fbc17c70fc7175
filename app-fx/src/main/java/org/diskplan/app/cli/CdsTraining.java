package org.diskplan.app.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * The training run of the packaged image's class-data archive: every command path in ONE
 * JVM, so that {@code -XX:ArchiveClassesAtExit} records all the classes any command loads
 * (packaging/finish-image.sh at build time, the .deb's postinst at install time).
 *
 * <p>Reads commands from stdin, one a line, words separated by blanks, {@code @DIR@}
 * replaced by the first argument (a scratch folder); blank lines and {@code #} comments
 * are skipped. Output is discarded; failures are part of the training (error paths load
 * classes too). Not a user command.
 */
public final class CdsTraining {
    private CdsTraining() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: CdsTraining SCRATCH_DIR < commands");
            System.exit(2);
        }
        PrintStream sink = new PrintStream(OutputStream.nullOutputStream(), true, StandardCharsets.UTF_8);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        int commands = 0;
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            String l = line.strip();
            if (l.isEmpty() || l.startsWith("#")) {
                continue;
            }
            DiskPlanCli.run(l.replace("@DIR@", args[0]).split("\\s+"), sink, sink);
            commands++;
        }
        System.out.println("trained on " + commands + " commands");
    }
}
