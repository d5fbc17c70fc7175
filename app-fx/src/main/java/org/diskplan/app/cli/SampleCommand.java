package org.diskplan.app.cli;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import org.diskplan.planner.SizeArgument;
import org.diskplan.probe.ImageProber;
import org.diskplan.probe.SampleWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code diskplan sample}: write a fresh sample image of a format. */
@Command(name = "sample", description = "Write a fresh sample image of FORMAT to FILE (default size 64M).",
        customSynopsis = "diskplan sample FORMAT FILE [SIZE] [-o key=value,...]")
final class SampleCommand implements Callable<Integer> {
    private final Console console;

    @Parameters(index = "0", paramLabel = "FORMAT", description = "raw, qcow2, vmdk, vpc (or vhd), vhdx, vdi")
    String format;

    @Parameters(index = "1", paramLabel = "FILE", description = "the image to create (must not exist)")
    Path file;

    @Parameters(index = "2", arity = "0..1", paramLabel = "SIZE", description = "virtual size, e.g. 10G")
    String size = "64M";

    @Option(names = "-o", paramLabel = "key=value,...", description = "format options, e.g. subformat=fixed")
    String options;

    SampleCommand(Console console) {
        this.console = console;
    }

    static Map<String, SampleWriter> writers() {
        Map<String, SampleWriter> map = new TreeMap<>();
        for (SampleWriter w : ServiceLoader.load(SampleWriter.class, SampleCommand.class.getClassLoader())) {
            map.put(w.format(), w);
        }
        return map;
    }

    @Override
    public Integer call() {
        try {
            Map<String, SampleWriter> writers = writers();
            SampleWriter writer = writers.get(format.equals("vhd") ? "vpc" : format);
            if (writer == null) {
                throw new CliFailure("no sample writer for '" + format + "' (available: "
                        + String.join(", ", writers.keySet()) + ")");
            }
            SizeArgument parsed = ImageOptions.size(size, console);
            if (parsed.sign() != 0 || parsed.amount() <= 0) {
                throw new CliFailure("Image size must be positive");
            }
            long written;
            try {
                written = writer.write(file, parsed.amount(), parseOptions(options));
            } catch (FileAlreadyExistsException e) {
                throw new CliFailure("Could not create '" + file + "': File exists");
            } catch (IOException e) {
                throw new CliFailure("Could not create '" + file + "': " + ImageProber.describe(e));
            } catch (IllegalArgumentException e) {
                throw new CliFailure(e.getMessage());
            }
            console.out().printf("Wrote a %s sample image '%s' of %d bytes.%n", writer.format(), file, written);
            return 0;
        } catch (CliFailure f) {
            console.fail(f);
            return f.exitCode;
        }
    }

    private static Map<String, String> parseOptions(String text) throws CliFailure {
        Map<String, String> map = new LinkedHashMap<>();
        if (text == null || text.isBlank()) {
            return map;
        }
        for (String pair : text.split(",")) {
            int eq = pair.indexOf('=');
            if (eq <= 0) {
                throw new CliFailure("Invalid option '" + pair + "': expected key=value");
            }
            map.put(pair.substring(0, eq), pair.substring(eq + 1));
        }
        return map;
    }
}
