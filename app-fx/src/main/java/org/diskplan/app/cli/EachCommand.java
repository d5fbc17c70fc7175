package org.diskplan.app.cli;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * {@code diskplan resize|plan [OPTIONS] --each [+|-]SIZE FILE...}: the same command on
 * several images in one process. The size comes with {@code --each}, so the single-file
 * form keeps qemu-img's grammar ({@code resize FILE SIZE}) and the two cannot be
 * confused: without {@code --each} the last argument is always the size.
 *
 * <p>Every file is its own command: its own session, lock and journal, its own
 * messages, exactly as if it had been named alone. A failure stops nothing; the failed
 * image is left as it was (as a single refused resize leaves it) and the others go on.
 * At the end a summary names each failure on stderr and the exit status is 1 if any
 * failed; with every file done, resize prints one line on stdout (nothing with -q).
 */
final class EachCommand {
    static final String OPTION = "--each";

    private EachCommand() {
    }

    /** Whether {@code args} ask for the several-file form (and not for help). */
    static boolean wanted(String[] args) {
        if (args.length == 0 || !(args[0].equals("resize") || args[0].equals("plan"))) {
            return false;
        }
        boolean each = false;
        for (String a : args) {
            if (a.equals("--help") || a.equals("-h")) {
                return false;
            }
            each |= a.equals(OPTION) || a.startsWith(OPTION + "=");
        }
        return each;
    }

    static int run(String[] args, Console console) {
        String command = args[0];
        QuickArgs q = QuickArgs.parse(args, Set.of(OPTION));
        if (q == null || !q.values.containsKey(OPTION) || q.files.isEmpty()) {
            return usage(console, "Expecting " + OPTION + " SIZE and one or more image files: diskplan " + command
                    + " [-f FMT] [--shrink] [--preallocation=MODE]" + (command.equals("resize") ? " [-q]" : "")
                    + " " + OPTION + " [+|-]SIZE FILE...");
        }
        if (q.output() == OutputFormat.json) {
            return usage(console, OPTION + " prints human output only; name one file for --output=json");
        }
        Set<Path> seen = new HashSet<>();
        for (Path f : q.files) {
            if (!seen.add(f.toAbsolutePath().normalize())) {
                return usage(console, "'" + f + "' is named twice; each image may be named once");
            }
        }
        String size = q.values.get(OPTION);
        List<String> failures = new ArrayList<>();
        boolean plan = command.equals("plan");
        for (int i = 0; i < q.files.size(); i++) {
            Path file = q.files.get(i);
            if (plan && i > 0) {
                console.out().println();
            }
            ByteArrayOutputStream said = new ByteArrayOutputStream();
            PrintStream err = new PrintStream(new Tee(console.err(), said), true, StandardCharsets.UTF_8);
            PrintStream out = plan ? console.out() : new PrintStream(OutputStream.nullOutputStream());
            int status;
            try {
                status = q.command(command, file, size, new Console(out, err)).call();
            } catch (Exception e) { // call() reports its own failures; anything else is one file's failure
                status = 1;
                err.println(Console.PREFIX + e);
            }
            err.flush();
            if (status != 0) {
                String first = said.toString(StandardCharsets.UTF_8).lines()
                        .filter(l -> !l.contains("warning:") && !l.startsWith("WARNING") && !l.isBlank())
                        .findFirst().orElse("exit status " + status).replaceFirst("^" + Console.PREFIX, "");
                failures.add(file + ": " + first);
            }
        }
        int done = q.files.size() - failures.size();
        String verb = plan ? "planned" : "resized";
        if (!failures.isEmpty()) {
            console.error(done + " of " + q.files.size() + " images " + verb + "; " + failures.size()
                    + " failed and " + (failures.size() == 1 ? "was" : "were") + " left as "
                    + (failures.size() == 1 ? "it was" : "they were") + ":");
            failures.forEach(f -> console.err().println("  " + f));
            return 1;
        }
        if (!plan && !q.flags.contains("-q")) {
            console.out().println(done + (done == 1 ? " image" : " images") + " resized.");
        }
        return 0;
    }

    private static int usage(Console console, String message) {
        console.error(message);
        console.err().println("Try 'diskplan --help' for more information");
        return DiskPlanCli.USAGE;
    }

    /** Writes to the real stream and keeps a copy, for the summary. */
    private static final class Tee extends OutputStream {
        private final OutputStream a;
        private final OutputStream b;

        Tee(OutputStream a, OutputStream b) {
            this.a = a;
            this.b = b;
        }

        @Override
        public void write(int c) throws java.io.IOException {
            a.write(c);
            b.write(c);
        }

        @Override
        public void write(byte[] buf, int off, int len) throws java.io.IOException {
            a.write(buf, off, len);
            b.write(buf, off, len);
        }

        @Override
        public void flush() throws java.io.IOException {
            a.flush();
            b.flush();
        }
    }
}
