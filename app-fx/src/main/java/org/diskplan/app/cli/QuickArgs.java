package org.diskplan.app.cli;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The plain forms of info, plan and resize read without picocli, so that a command that
 * is spelt out in full starts without loading and reflecting over the whole command line
 * (picocli costs more start-up time than the work of a small {@code info}).
 *
 * <p>It accepts only what picocli would read the same way: each known option at most
 * once, written {@code --name=value}, {@code --name value} or {@code -f value}, values and
 * files that do not begin with {@code -} or {@code @}, and enum values spelt exactly.
 * Anything else (help, a repeated or unknown option, an argument file, a clustered short
 * option, a missing value) makes {@link #parse} answer {@code null}, and the caller hands
 * the arguments to picocli, which prints the usual message.
 */
final class QuickArgs {
    /** Options that take a value, per command (their names as written). */
    private static final Map<String, Set<String>> VALUED = Map.of(
            "info", Set.of("-f", "--output"),
            "plan", Set.of("-f", "--output", "--preallocation"),
            "resize", Set.of("-f", "--output", "--preallocation"));
    /** Flags, per command, each with the one name it is stored under. */
    private static final Map<String, Map<String, String>> FLAGS = Map.of(
            "info", Map.of(),
            "plan", Map.of("--shrink", "--shrink", "--with-data", "--with-data"),
            "resize", Map.of("--shrink", "--shrink", "-q", "-q", "--quiet", "-q"));

    final Map<String, String> values = new HashMap<>();
    final Set<String> flags = new java.util.HashSet<>();
    final List<Path> files = new ArrayList<>();

    private QuickArgs() {
    }

    /**
     * Reads {@code args} (the command name first, the size already taken off) or answers
     * {@code null} where picocli must read them. {@code extraValued} names further options
     * with a value that this caller accepts (such as {@code --each}).
     */
    static QuickArgs parse(String[] args, Set<String> extraValued) {
        if (args.length < 2) {
            return null;
        }
        Set<String> valued = VALUED.get(args[0]);
        Map<String, String> flagNames = FLAGS.get(args[0]);
        if (valued == null) {
            return null;
        }
        QuickArgs q = new QuickArgs();
        for (int i = 1; i < args.length; i++) {
            String a = args[i];
            if (a.isEmpty() || a.startsWith("@")) {
                return null;
            }
            if (!a.startsWith("-")) {
                try {
                    q.files.add(Path.of(a));
                } catch (InvalidPathException e) {
                    return null;
                }
                continue;
            }
            String name = a;
            String value = null;
            int eq = a.indexOf('=');
            if (a.startsWith("--") && eq > 2) {
                name = a.substring(0, eq);
                value = a.substring(eq + 1);
            }
            if (valued.contains(name) || extraValued.contains(name)) {
                if (value == null) {
                    if (i + 1 >= args.length) {
                        return null;
                    }
                    value = args[++i];
                    // a size such as -1G may follow --each; other values never begin with '-'
                    boolean sizeLike = extraValued.contains(name) && value.matches("-[0-9].*");
                    if ((value.startsWith("-") && !sizeLike) || value.startsWith("@")) {
                        return null;
                    }
                }
                if (q.values.putIfAbsent(name, value) != null) {
                    return null;
                }
            } else if (value == null && flagNames.containsKey(name)) {
                if (!q.flags.add(flagNames.get(name))) {
                    return null;
                }
            } else {
                return null;
            }
        }
        String output = q.values.get("--output");
        if (output != null && !output.equals("human") && !output.equals("json")) {
            return null;
        }
        return q;
    }

    OutputFormat output() {
        return OutputFormat.valueOf(values.getOrDefault("--output", "human"));
    }

    ImageOptions image(Path file) {
        ImageOptions image = new ImageOptions();
        image.format = values.get("-f");
        image.file = file;
        return image;
    }

    /** The command, its fields set as picocli would have set them, for one file. */
    java.util.concurrent.Callable<Integer> command(String name, Path file, String size, Console console) {
        switch (name) {
            case "info" -> {
                InfoCommand c = new InfoCommand(console);
                c.image = image(file);
                c.output = output();
                return c;
            }
            case "plan" -> {
                PlanCommand c = new PlanCommand(console, size);
                c.image = image(file);
                c.output = output();
                c.shrink = flags.contains("--shrink");
                c.preallocation = values.get("--preallocation");
                c.withData = flags.contains("--with-data");
                return c;
            }
            case "resize" -> {
                ResizeCommand c = new ResizeCommand(console, size);
                c.image = image(file);
                c.output = output();
                c.shrink = flags.contains("--shrink");
                c.preallocation = values.get("--preallocation");
                c.quiet = flags.contains("-q");
                return c;
            }
            default -> throw new IllegalArgumentException(name);
        }
    }
}
