package org.diskplan.app.cli;

import java.util.concurrent.Callable;
import java.util.Optional;
import org.diskplan.planner.ResizeSession;
import java.util.function.IntConsumer;
import org.diskplan.abi.Preallocation;
import org.diskplan.abi.ResizeResult;
import org.diskplan.planner.ResizeError;
import org.diskplan.planner.ResizePlan;
import org.diskplan.planner.ResizeRequest;
import org.diskplan.planner.SizeArgument;
import org.diskplan.planner.apply.ApplyOptions;
import org.diskplan.planner.apply.ResizeCancelled;
import org.diskplan.probe.ProbedImage;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code diskplan resize}: qemu-img resize, word for word, through a journalled plan. */
@Command(name = "resize", description = "Resize an image (as qemu-img resize), writing its plan crash-safely.",
        customSynopsis = {"diskplan resize [-f FMT] [--shrink] [--preallocation=MODE] [-q] [--output=human|json] "
                + "FILE [+|-]SIZE",
                "diskplan resize [-f FMT] [--shrink] [--preallocation=MODE] [-q] --each SIZE FILE..."})
final class ResizeCommand implements Callable<Integer> {
    /** Test hook: halt abruptly after this step (see ApplyOptions#afterStep). */
    static final String CRASH_ENV = "DISKPLAN_TEST_CRASH_AFTER_PATCH";

    private final Console console;
    private final String sizeArgument;

    @Mixin
    ImageOptions image;

    /** Shown in --help only: the several-file form is run by {@link EachCommand} before picocli. */
    @Option(names = "--each", paramLabel = "SIZE", description = "the same size for every FILE named after it: "
            + "one process, each image with its own lock and journal; a summary, exit 1 if any failed "
            + "(human output only)")
    String each;

    @Option(names = "--shrink", description = "allow a smaller size (deletes data past the new end)")
    boolean shrink;

    @Option(names = "--preallocation", paramLabel = "MODE", description = "off, metadata, falloc or full: which a format offers is listed below")
    String preallocation;

    @Option(names = {"-q", "--quiet"}, description = "print nothing on success")
    boolean quiet;

    @Option(names = "--output", paramLabel = "FMT", description = "human (default) or json")
    OutputFormat output = OutputFormat.human;

    ResizeCommand(Console console, String sizeArgument) {
        this.console = console;
        this.sizeArgument = sizeArgument;
    }

    @Override
    public Integer call() {
        try {
            Preallocation mode = ImageOptions.preallocation(preallocation);
            SizeArgument size = ImageOptions.size(sizeArgument, console);
            Optional<String> driver = image.driver();
            try (ResizeSession session = ResizeSession.forResize(image.file)) {
                ProbedImage probed = image.probeForResize(session, driver, console);
                ResizeRequest request = new ResizeRequest(size.resolve(probed.virtualSize()), shrink, mode);
                ResizePlan plan = session.plan(request);
                ResizeResult result = session.apply(plan, ApplyOptions.DEFAULT.withAfterStep(crashHook()));
                if (output == OutputFormat.json) {
                    console.out().println(Json.resize(image.name(), plan, result));
                } else if (!quiet) {
                    console.out().println("Image resized.");
                }
                return 0;
            }
        } catch (CliFailure f) {
            console.fail(f);
            return f.exitCode;
        } catch (ResizeError e) {
            console.fail(ImageOptions.failure(e, console));
            return 1;
        } catch (ResizeCancelled e) {
            console.error(e.getMessage());
            return 1;
        }
    }

    /** Halts the JVM after the step named in {@value #CRASH_ENV}, as a kill would. */
    private static IntConsumer crashHook() {
        String value = System.getenv(CRASH_ENV);
        if (value == null || value.isBlank()) {
            return new IntConsumer() {
                @Override
                public void accept(int step) {
                }
            };
        }
        int crashAfter = Integer.parseInt(value.trim());
        return new IntConsumer() {
            @Override
            public void accept(int step) {
                if (step == crashAfter) {
                    Runtime.getRuntime().halt(137);
                }
            }
        };
    }
}
