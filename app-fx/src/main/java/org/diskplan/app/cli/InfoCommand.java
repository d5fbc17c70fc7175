package org.diskplan.app.cli;

import java.io.IOException;
import java.util.concurrent.Callable;
import org.diskplan.planner.ResizeError;
import org.diskplan.planner.apply.UndoJournal;
import org.diskplan.probe.FileImageReader;
import org.diskplan.probe.HeaderField;
import org.diskplan.probe.ImageProber;
import org.diskplan.probe.LayoutRegion;
import org.diskplan.probe.PartialImage;
import org.diskplan.probe.ProbeException;
import org.diskplan.probe.ProbedImage;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code diskplan info}: the summary and every parsed header field. */
@Command(name = "info", description = "Show what an image is, field by field with byte offsets.",
        customSynopsis = "diskplan info [-f FMT] [--output=human|json] FILE")
final class InfoCommand implements Callable<Integer> {
    private final Console console;

    @Mixin
    ImageOptions image;

    @Option(names = "--output", paramLabel = "FMT", description = "human (default) or json")
    OutputFormat output = OutputFormat.human;

    InfoCommand(Console console) {
        this.console = console;
    }

    @Override
    public Integer call() {
        // "disk size" (st_blocks) asked now, beside the probe (see DiskUsage)
        DiskUsage usage = DiskUsage.start(java.util.List.of(image.file));
        try {
            image.driver();
            UndoJournal.refuseIfPresent(image.file);
            ProbedImage probed;
            try (FileImageReader reader = ImageProber.openReader(image.file)) {
                probed = image.probe(reader, console, new java.util.function.Consumer<PartialImage>() {
                    @Override
                    public void accept(PartialImage damaged) {
                        printDamaged(damaged);
                    }
                });
            } catch (ProbeException e) {
                throw image.probeFailure(e);
            } catch (IOException e) {
                throw new CliFailure("Could not read '" + image.name() + "': " + ImageProber.describe(e));
            }
            long actual = allocated(probed, usage);
            if (output == OutputFormat.json) {
                console.out().println(Json.info(image.name(), probed, actual));
            } else {
                printHuman(probed, actual);
            }
            return 0;
        } catch (CliFailure f) {
            console.fail(f);
            return f.exitCode;
        } catch (ResizeError e) {
            console.fail(ImageOptions.failure(e, console));
            return 1;
        }
    }

    /** Allocated bytes of the image and of its extent files, as qemu-img's actual-size; -1 if unknown. */
    private static long allocated(ProbedImage probed, DiskUsage image) {
        long own = image.total();
        java.util.List<java.nio.file.Path> extents = probed.header().extentFiles();
        long more = extents.isEmpty() ? 0 : DiskUsage.start(extents).total();
        return own < 0 || more < 0 ? -1 : own + more;
    }

    /**
     * A damaged image (human output only): what the probe parsed before it failed, the bad field
     * marked; the error itself follows on stderr and the exit status stays 1. JSON output prints
     * nothing on stdout for a failure, as qemu-img does.
     */
    private void printDamaged(PartialImage p) {
        if (output == OutputFormat.json) {
            return;
        }
        var out = console.out();
        out.println("image: " + image.name());
        out.println("file format: " + p.format().qemuName());
        out.println("file size: " + Sizes.human(p.fileSize()) + " (" + Text.dec(p.fileSize()) + " bytes)");
        out.println("damaged: DiskPlan cannot resize it; the fields parsed before the error follow"
                + (p.bad().isPresent() ? " (the bad field is marked <-- bad)" : ""));
        printFields(p.fields(), p.bad().orElse(null));
    }

    private void printFields(java.util.List<HeaderField> fields, HeaderField bad) {
        if (fields.isEmpty()) {
            return;
        }
        var out = console.out();
        out.println();
        out.println("fields:");
        out.println("  " + Text.left("offset", 10) + " " + Text.right("size", 6) + "  " + Text.left("name", 28) + " value");
        String group = "";
        for (HeaderField f : fields) {
            if (!f.group().equals(group)) {
                group = f.group();
                out.println("  [" + group + "]");
            }
            out.println("  0x" + Text.hex(f.offset(), 8) + " " + Text.right(f.length(), 6) + "  "
                    + Text.left(f.name(), 28) + " " + f.value() + "  (" + f.meaning() + ")"
                    + (f == bad ? "  <-- bad" : ""));
        }
    }

    private void printHuman(ProbedImage p, long actual) {
        var out = console.out();
        out.println("image: " + image.name());
        out.println("file format: " + p.format().qemuName()
                + (p.subformat().isEmpty() ? "" : " (" + p.subformat() + ")"));
        out.println("virtual size: " + Sizes.human(p.virtualSize()) + " (" + Text.dec(p.virtualSize()) + " bytes)");
        out.println("file size: " + Sizes.human(p.fileSize()) + " (" + Text.dec(p.fileSize()) + " bytes)");
        if (actual >= 0) {
            out.println("disk size: " + Sizes.human(actual));
        }
        if (p.allocationUnit() > 0) {
            out.println("cluster/block size: " + Text.dec(p.allocationUnit()));
        }
        for (var f : p.flags()) {
            out.println("flag: " + f);
        }
        printFields(p.fields(), null);
        out.println();
        out.println("layout:");
        for (LayoutRegion r : p.regions()) {
            out.println("  " + Text.left(r.kind().jsonName(), 9) + " 0x" + Text.hex(r.offset(), 12) + " +"
                    + Text.left(r.length(), 14) + " " + r.label());
        }
    }
}
