package org.diskplan.app.cli;

import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;
import org.diskplan.abi.ErrorCode;
import org.diskplan.abi.Preallocation;
import org.diskplan.planner.ResizeError;
import org.diskplan.planner.ResizeSession;
import org.diskplan.planner.SizeArgument;
import org.diskplan.planner.SizeSyntaxException;
import org.diskplan.probe.ImageReader;
import org.diskplan.probe.ProbeException;
import org.diskplan.probe.PartialImage;
import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.ImageProber;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** The options and the file argument shared by info, plan and resize, and their parsing. */
final class ImageOptions {
    /** qemu driver names DiskPlan knows, and the alias vhd. */
    private static final Set<String> DRIVERS = Set.of("raw", "qcow2", "qcow", "vmdk", "vpc", "vhdx", "vdi", "qed",
            "luks", "parallels", "bochs", "cloop", "dmg");
    static final String RAW_PROBE_WARNING = "WARNING: Image format was not specified for '%s' and probing guessed raw.\n"
            + "         Automatically detecting the format is dangerous for raw images, write operations on block 0"
            + " will be restricted.\n"
            + "         Specify the 'raw' format explicitly to remove the restrictions.";

    @Option(names = "-f", paramLabel = "FMT", description = "image format: raw, qcow2, vmdk, vpc (vhd), vhdx, vdi")
    String format;

    @Parameters(index = "0", paramLabel = "FILE", description = "the image file")
    Path file;

    String name() {
        return file.toString();
    }

    /** The driver named with -f (vhd is qemu's vpc), checked as qemu does when it opens the file. */
    Optional<String> driver() throws CliFailure {
        if (format == null) {
            return Optional.empty();
        }
        String d = format.equals("vhd") ? "vpc" : format;
        if (!DRIVERS.contains(d)) {
            throw new CliFailure("Could not open '" + name() + "': Unknown driver '" + format + "'");
        }
        return Optional.of(d);
    }

    /** A damaged image's fields, not shown. */
    private static final java.util.function.Consumer<PartialImage> IGNORE_DAMAGED =
            new java.util.function.Consumer<PartialImage>() {
                @Override
                public void accept(PartialImage damaged) {
                }
            };

    /** Probes through {@code reader}; prints qemu's warning when raw was guessed. */
    ProbedImage probe(ImageReader reader, Console console) throws CliFailure {
        return probe(reader, console, IGNORE_DAMAGED);
    }

    /** As {@link #probe(ImageReader, Console)}; a damaged image's parsed fields go to {@code damaged} first. */
    ProbedImage probe(ImageReader reader, Console console, java.util.function.Consumer<PartialImage> damaged)
            throws CliFailure {
        Optional<String> driver = driver();
        try {
            return warnIfGuessedRaw(ImageProber.probe(file, reader, driver), driver, console);
        } catch (ProbeException e) {
            e.partial().ifPresent(damaged);
            throw probeFailure(e);
        }
    }

    /** As {@link #probe(ImageReader, Console)} for plan and resize, through the session's recording reader. */
    ProbedImage probeForResize(ResizeSession session, Optional<String> driver, Console console) throws CliFailure {
        try {
            return warnIfGuessedRaw(session.probe(driver), driver, console);
        } catch (ProbeException e) {
            throw probeFailure(e);
        }
    }

    private ProbedImage warnIfGuessedRaw(ProbedImage image, Optional<String> driver, Console console) {
        if (driver.isEmpty() && image.format() == org.diskplan.abi.ImageFormat.RAW) {
            console.err().println(String.format(RAW_PROBE_WARNING, name()));
        }
        return image;
    }

    CliFailure probeFailure(ProbeException e) {
        if (e.code() == ErrorCode.READ_FAILED && e.field().isEmpty()) {
            return new CliFailure("Could not open '" + name() + "': Could not open '" + name() + "': "
                    + e.getMessage());
        }
        if (e.code() == ErrorCode.UNSUPPORTED_FORMAT) {
            return new CliFailure(e.getMessage());
        }
        return new CliFailure("Could not open '" + name() + "': " + e.getMessage());
    }

    static Preallocation preallocation(String mode) throws CliFailure {
        if (mode == null) {
            return Preallocation.OFF;
        }
        java.util.Optional<Preallocation> p = Preallocation.fromQemuName(mode);
        if (p.isEmpty()) {
            throw new CliFailure("Invalid preallocation mode '" + mode + "'");
        }
        return p.get();
    }

    static SizeArgument size(String argument, Console console) throws CliFailure {
        try {
            SizeArgument size = SizeArgument.parse(argument);
            for (String w : size.warnings()) {
                console.warning(w);
            }
            return size;
        } catch (SizeSyntaxException e) {
            throw new CliFailure(1, e.getMessage(), e.hint());
        }
    }

    static CliFailure failure(ResizeError e, Console console) {
        return new CliFailure(1, e.getMessage(), String.join("\n", e.warnings().stream()
                .map(w -> Console.PREFIX + "warning: " + w).toList()));
    }
}
