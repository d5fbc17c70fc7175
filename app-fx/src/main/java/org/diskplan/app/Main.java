package org.diskplan.app;

import java.util.Arrays;
import java.util.Set;
import org.diskplan.app.cli.DiskPlanCli;

/**
 * The one launcher. With no arguments, {@code gui}, or a single file it opens the
 * window; with a subcommand it runs the command line and never touches JavaFX.
 */
public final class Main {
    private static final Set<String> COMMANDS = Set.of("info", "plan", "resize", "recover", "sample",
            "help", "--help", "-h", "--version", "-V");

    private Main() {
    }

    public static void main(String[] args) {
        if (wantsWindow(args)) {
            String[] rest = args.length > 0 && args[0].equals("gui") ? Arrays.copyOfRange(args, 1, args.length) : args;
            // Loaded only here, so the command line never loads a JavaFX class.
            org.diskplan.app.fx.GuiLauncher.launch(rest);
            return;
        }
        System.exit(DiskPlanCli.run(args, System.out, System.err));
    }

    static boolean wantsWindow(String[] args) {
        if (args.length == 0 || args[0].equals("gui")) {
            return true;
        }
        return args.length == 1 && !COMMANDS.contains(args[0]) && !args[0].startsWith("-");
    }
}
