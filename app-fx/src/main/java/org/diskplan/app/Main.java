package org.diskplan.app;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;
import org.diskplan.app.cli.CdsTraining;
import org.diskplan.app.cli.DiskPlanCli;
import org.diskplan.planner.apply.UndoJournal;

/**
 * The one launcher. With no arguments, {@code gui}, or a single existing file it opens
 * the window; with a subcommand it runs the command line and never touches JavaFX. A
 * single word that is neither a command nor an existing file is a usage error, and
 * without a display the window is refused in one line (never a stack trace).
 */
public final class Main {
    private static final Set<String> COMMANDS = Set.of("info", "plan", "resize", "recover", "sample",
            "help", "--help", "-h", "--version", "-V");

    /** Where the arguments lead. */
    enum Route { WINDOW, COMMAND_LINE, UNKNOWN_WORD }

    private Main() {
    }

    public static void main(String[] args) {
        String training = System.getProperty(CdsTraining.PROPERTY);
        if (training != null) {
            System.exit(CdsTraining.run(training, Main::commandLine));
            return;
        }
        Route route = route(args);
        if (route != Route.WINDOW) {
            System.exit(commandLine(route, args, System.out, System.err));
            return;
        }
        Optional<String> noDisplay = noDisplay(System.getenv(), System.getProperty("os.name", ""),
                System.getProperty("glass.platform", ""));
        if (noDisplay.isPresent()) {
            System.err.println(noDisplay.get());
            System.exit(1);
            return;
        }
        String[] rest = args.length > 0 && args[0].equals("gui") ? Arrays.copyOfRange(args, 1, args.length) : args;
        if (rest.length > 0) {
            rest = new String[] {imageFor(rest[0])};
        }
        try {
            // Loaded only here, so the command line never loads a JavaFX class.
            org.diskplan.app.fx.GuiLauncher.launch(rest);
        } catch (RuntimeException | LinkageError e) {
            // e.g. "Unable to open DISPLAY" when DISPLAY names a server that is not there
            System.err.println("diskplan: the window could not start (" + oneLine(e) + "); "
                    + NO_WINDOW_ADVICE);
            System.exit(1);
        }
    }

    /**
     * The command line's part of {@link #main} (every route but the window): runs
     * {@code args} and returns the exit status. The class-data training runs each of its
     * commands through here, so the archive holds what a real start loads.
     */
    static int commandLine(String[] args, PrintStream out, PrintStream err) {
        Route route = route(args);
        return route == Route.WINDOW ? CdsTraining.SKIPPED : commandLine(route, args, out, err);
    }

    private static int commandLine(Route route, String[] args, PrintStream out, PrintStream err) {
        return route == Route.UNKNOWN_WORD ? unknownWord(args[0], err) : DiskPlanCli.run(args, out, err);
    }

    static final String NO_WINDOW_ADVICE = "use diskplan info/plan/resize FILE on the command line "
            + "(diskplan --help)";

    /** One call site for {@link #main} and the training, so that the archive holds its lambda. */
    private static Route route(String[] args) {
        return route(args, new Predicate<Path>() {
            @Override
            public boolean test(Path p) {
                return Files.isRegularFile(p);
            }
        });
    }

    static Route route(String[] args, Predicate<Path> existingFile) {
        if (args.length == 0 || args[0].equals("gui")) {
            return Route.WINDOW;
        }
        if (args.length > 1 || COMMANDS.contains(args[0]) || args[0].startsWith("-")) {
            return Route.COMMAND_LINE;
        }
        return existingFile.test(Path.of(args[0])) ? Route.WINDOW : Route.UNKNOWN_WORD;
    }

    /** A lone word that is no command and no file: say so, as a usage error (exit 2). */
    static int unknownWord(String word, PrintStream err) {
        err.println("diskplan: '" + word + "' is neither a command nor an existing file");
        err.println("Commands: info, plan, resize, recover, sample; or give an image file to open it in the window.");
        err.println("Try 'diskplan --help' for more information");
        return DiskPlanCli.USAGE;
    }

    /**
     * An undo journal opens the image it belongs to (the window then offers to recover it):
     * the file beside it, or the block device a journal in the device journal folder names.
     */
    static String imageFor(String arg) {
        try {
            return UndoJournal.imageOf(Path.of(arg)).map(Path::toString).orElse(arg);
        } catch (java.nio.file.InvalidPathException e) {
            return arg;
        }
    }

    /** The one-line refusal when there is no display to open the window on (Linux/BSD without X11 or Wayland). */
    static Optional<String> noDisplay(Map<String, String> env, String osName, String glassPlatform) {
        String os = osName.toLowerCase(java.util.Locale.ROOT);
        if (os.startsWith("windows") || os.startsWith("mac") || !glassPlatform.isEmpty()) {
            return Optional.empty();
        }
        if (!env.getOrDefault("DISPLAY", "").isEmpty() || !env.getOrDefault("WAYLAND_DISPLAY", "").isEmpty()) {
            return Optional.empty();
        }
        return Optional.of("diskplan: the window needs a display and there is none (DISPLAY is not set); "
                + NO_WINDOW_ADVICE);
    }

    private static String oneLine(Throwable e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return m.lines().findFirst().orElse(m).strip();
    }
}
