package org.diskplan.app.cli;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.Arrays;
import org.diskplan.probe.ReadWatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code diskplan}: info, plan, resize, recover. Messages and exit statuses follow
 * qemu-img 7.2 with the prefix {@code diskplan: }; usage errors exit 2.
 */
@Command(name = "diskplan", mixinStandardHelpOptions = true, versionProvider = DiskPlanCli.VersionLine.class,
        description = "Inspect virtual disk images and resize them with a visible, crash-safe plan.",
        footer = {"", "Without a command, or with just a FILE, diskplan opens its window."})
public final class DiskPlanCli implements Runnable {
    public static final int USAGE = 2;

    private DiskPlanCli() {
    }

    /** --version: the one version (see {@link org.diskplan.app.Version}). */
    static final class VersionLine implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {org.diskplan.app.Version.line()};
        }
    }

    @Override
    public void run() {
        // `diskplan` alone opens the window (see Main); reaching here means no subcommand.
    }

    /** Environment variable: the read limit in seconds (see {@link ReadWatch#ENV}). */
    public static final String READ_TIMEOUT_ENV = ReadWatch.ENV;

    /**
     * Runs the command line; returns the exit status. The command runs watched: a read that
     * gets no answer for {@value #READ_TIMEOUT_ENV} seconds fails it with the file and the
     * offset (exit 1) instead of hanging.
     */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        Console console = new Console(out, err);
        Duration limit;
        try {
            limit = readTimeout(System.getenv(READ_TIMEOUT_ENV));
        } catch (IllegalArgumentException e) {
            console.error(e.getMessage());
            return USAGE;
        }
        try {
            return ReadWatch.call(limit, new java.util.concurrent.Callable<Integer>() {
                @Override
                public Integer call() throws Exception {
                    return runWatched(args, out, err, console);
                }
            });
        } catch (ReadWatch.Timeout t) {
            out.flush();
            console.error(t.words() + "; its storage does not respond "
                    + "(a hung network or FUSE mount?), so the command gave up (" + READ_TIMEOUT_ENV
                    + "=SECONDS waits longer, 0 for ever)");
            t.journal().ifPresentOrElse(
                    j -> err.println("The resize had begun writing: its undo journal '" + j + "' is kept; once the "
                            + "storage answers, run `diskplan recover` on the image"),
                    () -> err.println("Nothing was written."));
            err.flush();
            return 1;
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** {@value #READ_TIMEOUT_ENV}'s value as a limit (see {@link ReadWatch#limit}). */
    static Duration readTimeout(String value) {
        return ReadWatch.limit(value);
    }

    private static int runWatched(String[] args, PrintStream out, PrintStream err, Console console) {
        if (args.length == 1 && (args[0].equals("--version") || args[0].equals("-V"))) {
            out.println(org.diskplan.app.Version.line());
            out.flush();
            return 0;
        }
        if (EachCommand.wanted(args)) {
            int status = EachCommand.run(args, console);
            out.flush();
            err.flush();
            return status;
        }
        String[] parsed = args;
        String size = null;
        if (args.length > 0 && (args[0].equals("resize") || args[0].equals("plan"))
                && !asksHelp(args)) {
            // Like qemu-img, take the size off the end before parsing options, so that
            // a negative size is never mistaken for an option.
            if (args.length < 3) {
                console.error("Expecting image file name and size");
                err.println("Try 'diskplan --help' for more information");
                return USAGE;
            }
            size = args[args.length - 1];
            parsed = Arrays.copyOf(args, args.length - 1);
        }
        Integer quick = quick(parsed, size, console);
        if (quick != null) {
            out.flush();
            err.flush();
            return quick;
        }
        CommandLine cl = new CommandLine(new DiskPlanCli())
                .addSubcommand("info", new InfoCommand(console))
                .addSubcommand("plan", new PlanCommand(console, size))
                .addSubcommand("resize", new ResizeCommand(console, size))
                .addSubcommand("recover", new RecoverCommand(console))
                .addSubcommand("sample", new SampleCommand(console));
        // every command answers -h/--help with its own usage (and -V with the version)
        cl.getSubcommands().values().forEach(c -> c.getCommandSpec().mixinStandardHelpOptions(true));
        // what each format's planner can do, from its capabilities; built only when help is shown
        for (String name : new String[] {"plan", "resize"}) {
            cl.getSubcommands().get(name).getHelpSectionMap().put(CommandLine.Model.UsageMessageSpec.SECTION_KEY_FOOTER,
                    help -> String.format("%nFormats DiskPlan resizes:%n")
                            + org.diskplan.planner.Planners.summary().stream().map(l -> "  " + l + "%n")
                            .map(String::format).collect(java.util.stream.Collectors.joining()));
        }
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        cl.setParameterExceptionHandler((ex, a) -> {
            console.error(ex.getMessage());
            err.println("Try 'diskplan --help' for more information");
            return USAGE;
        });
        int status = cl.execute(parsed);
        out.flush();
        err.flush();
        return status;
    }

    /**
     * info, plan or resize of one file spelt plainly, run without building the picocli
     * model (see {@link QuickArgs}); {@code null} where picocli must read the arguments.
     */
    private static Integer quick(String[] parsed, String size, Console console) {
        QuickArgs q = QuickArgs.parse(parsed, java.util.Set.of());
        if (q == null || q.files.size() != 1) {
            return null;
        }
        try {
            return q.command(parsed[0], q.files.get(0), size, console).call();
        } catch (Exception e) { // the commands report their own failures; call() declares Exception
            throw new IllegalStateException(e);
        }
    }

    private static boolean asksHelp(String[] args) {
        for (String a : args) {
            if (a.equals("--help") || a.equals("-h")) {
                return true;
            }
        }
        return false;
    }
}
