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
        out.println("Plan for '" + image.name() + "' (" + plan.format().qemuName() + "): " + plan.action().jsonName());
        out.println("  virtual size  " + Text.grouped(plan.oldVirtualSize()) + " -> "
                + Text.grouped(plan.newVirtualSize()) + " bytes");
        if (plan.newVirtualSize() != plan.request().newSize()) {
            out.println("  you asked for " + Text.grouped(plan.request().newSize()) + " bytes; the image will be "
                    + Text.grouped(plan.newVirtualSize()) + " bytes");
        }
        out.println("  file length   " + Text.grouped(plan.oldFileSize()) + " -> " + Text.grouped(plan.newFileSize())
                + " bytes");
        out.println("  " + Text.dec(plan.patches().size()) + " patch" + (plan.patches().size() == 1 ? "" : "es")
                + ", " + Text.grouped(plan.bytesWritten()) + " bytes written; the image shows the new size after step "
                + Text.dec(plan.commitIndex()));
        out.println();
        out.println("  " + Text.right("step", 5) + "  " + Text.left("kind", 6) + "  " + Text.right("offset", 20) + "  "
                + Text.right("length", 20) + "  label");
        for (int i = 0; i < plan.patches().size(); i++) {
            ResizePatch p = plan.patches().get(i);
            String file = p.file() == ResizePatch.IMAGE ? "" : " [" + plan.files().get(p.file()).path() + "]";
            out.println("  " + Text.right(i, 5) + "  " + Text.left(p.kind().word(), 6) + "  " + Text.right(p.offset(), 20)
                    + "  " + Text.right(p.length(), 20) + "  " + p.label() + file + marker(plan, i));
        }
        out.println("  " + Text.right(plan.finalStep(), 5) + "  " + Text.left("length", 6) + "  "
                + Text.right(plan.newFileSize(), 20) + "  " + Text.right("", 20) + "  set the file length"
                + marker(plan, plan.finalStep()));
        for (org.diskplan.planner.PlanFile f : plan.files()) {
            if (f.removed()) {
                out.println("  " + Text.right("", 5) + "  " + Text.left("remove", 6) + "  " + Text.right("", 20) + "  "
                        + Text.right(f.oldLength(), 20) + "  "
                        + "renamed aside at the final step, deleted once the resize is complete [" + f.path() + "]");
            }
        }
        for (String n : plan.notes()) {
            out.println("  note: " + n);
        }
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
