package org.diskplan.app.cli;

import java.util.concurrent.Callable;
import java.util.Optional;
import org.diskplan.planner.ResizeSession;
import org.diskplan.abi.Preallocation;
import org.diskplan.planner.ResizeError;
import org.diskplan.planner.ResizePatch;
import org.diskplan.planner.ResizePlan;
import org.diskplan.planner.ResizeRequest;
import org.diskplan.planner.SizeArgument;
import org.diskplan.probe.ProbeException;
import org.diskplan.probe.ProbedImage;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code diskplan plan}: the dry run. The file is opened read-only; nothing is written. */
@Command(name = "plan", description = "Show the exact patches a resize would make, without writing anything.",
        customSynopsis = {"diskplan plan [-f FMT] [--shrink] [--preallocation=MODE] [--output=human|json] "
                + "[--with-data] FILE [+|-]SIZE",
                "diskplan plan [-f FMT] [--shrink] [--preallocation=MODE] --each SIZE FILE..."})
final class PlanCommand implements Callable<Integer> {
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

    @Option(names = "--output", paramLabel = "FMT", description = "human (default) or json")
    OutputFormat output = OutputFormat.human;

    @Option(names = "--with-data", description = "with --output=json: the bytes of every write/append, base64")
    boolean withData;

    PlanCommand(Console console, String sizeArgument) {
        this.console = console;
        this.sizeArgument = sizeArgument;
    }

    @Override
    public Integer call() {
        try {
            Preallocation mode = ImageOptions.preallocation(preallocation);
            SizeArgument size = ImageOptions.size(sizeArgument, console);
            Optional<String> driver = image.driver();
            try (ResizeSession session = ResizeSession.forPlanning(image.file)) {
                ProbedImage probed = image.probeForResize(session, driver, console);
                ResizeRequest request = new ResizeRequest(size.resolve(probed.virtualSize()), shrink, mode);
                ResizePlan plan = session.plan(request);
                if (output == OutputFormat.json) {
                    try {
                        Json.plan(console.out(), image.name(), plan, withData);
                    } catch (java.io.IOException e) {
                        throw new CliFailure("cannot write the plan: " + e.getMessage());
                    }
                } else {
                    printHuman(plan, probed);
                }
                return 0;
            } catch (ProbeException e) {
                throw image.probeFailure(e);
            }
        } catch (CliFailure f) {
            console.fail(f);
            return f.exitCode;
        } catch (ResizeError e) {
            console.fail(ImageOptions.failure(e, console));
            return 1;
        }
    }

    private void printHuman(ResizePlan plan, ProbedImage probed) {
        var out = console.out();
        out.printf("Plan for '%s' (%s): %s%n", image.name(), plan.format().qemuName(), plan.action().jsonName());
        out.printf("  virtual size  %,d -> %,d bytes%n", plan.oldVirtualSize(), plan.newVirtualSize());
        if (plan.newVirtualSize() != plan.request().newSize()) {
            out.printf("  you asked for %,d bytes; the image will be %,d bytes%n", plan.request().newSize(),
                    plan.newVirtualSize());
        }
        out.printf("  file length   %,d -> %,d bytes%n", plan.oldFileSize(), plan.newFileSize());
        out.printf("  %d patch%s, %,d bytes written; the image shows the new size after step %d%n",
                plan.patches().size(), plan.patches().size() == 1 ? "" : "es", plan.bytesWritten(),
                plan.commitIndex());
        out.printf("%n  %5s  %-6s  %20s  %20s  %s%n", "step", "kind", "offset", "length", "label");
        for (int i = 0; i < plan.patches().size(); i++) {
            ResizePatch p = plan.patches().get(i);
            String file = p.file() == ResizePatch.IMAGE ? "" : " [" + plan.files().get(p.file()).path() + "]";
            out.printf("  %5d  %-6s  %20d  %20d  %s%s%s%n", i, p.kind().word(), p.offset(), p.length(), p.label(),
                    file, marker(plan, i));
        }
        out.printf("  %5d  %-6s  %20d  %20s  %s%s%n", plan.finalStep(), "length", plan.newFileSize(), "",
                "set the file length", marker(plan, plan.finalStep()));
        plan.files().stream().filter(org.diskplan.planner.PlanFile::removed).forEach(f -> out.printf(
                "  %5s  %-6s  %20s  %20d  %s [%s]%n", "", "remove", "", f.oldLength(),
                "renamed aside at the final step, deleted once the resize is complete", f.path()));
        plan.notes().forEach(n -> out.println("  note: " + n));
        if (plan.newVirtualSize() < plan.oldVirtualSize()) {
            // the same fact the window's shrink warning states, read from the image's block map
            out.println("  " + LostData.sentence(org.diskplan.probe.GuestAllocations.of(probed,
                    plan.newVirtualSize(), plan.oldVirtualSize())));
        }
        out.println("Nothing was written.");
    }

    private static String marker(ResizePlan plan, int step) {
        return step == plan.commitIndex() ? "   <- commit" : "";
    }
}
