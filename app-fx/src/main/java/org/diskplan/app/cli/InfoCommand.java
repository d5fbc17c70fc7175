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
                probed = image.probe(reader, console, this::printDamaged);
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
        out.printf("file size: %s (%d bytes)%n", Sizes.human(p.fileSize()), p.fileSize());
        out.println("damaged: DiskPlan cannot resize it; the fields parsed before the error follow"
                + p.bad().map(f -> " (the bad field is marked <-- bad)").orElse(""));
        printFields(p.fields(), p.bad().orElse(null));
    }

    private void printFields(java.util.List<HeaderField> fields, HeaderField bad) {
        if (fields.isEmpty()) {
            return;
        }
        var out = console.out();
        out.printf("%nfields:%n  %-10s %6s  %-28s %s%n", "offset", "size", "name", "value");
        String group = "";
        for (HeaderField f : fields) {
            if (!f.group().equals(group)) {
                group = f.group();
                out.println("  [" + group + "]");
            }
            out.printf("  0x%08x %6d  %-28s %s  (%s)%s%n", f.offset(), f.length(), f.name(), f.value(),
                    f.meaning(), f == bad ? "  <-- bad" : "");
        }
    }

    private void printHuman(ProbedImage p, long actual) {
        var out = console.out();
        out.println("image: " + image.name());
        out.println("file format: " + p.format().qemuName()
                + (p.subformat().isEmpty() ? "" : " (" + p.subformat() + ")"));
        out.printf("virtual size: %s (%d bytes)%n", Sizes.human(p.virtualSize()), p.virtualSize());
        out.printf("file size: %s (%d bytes)%n", Sizes.human(p.fileSize()), p.fileSize());
        if (actual >= 0) {
            out.println("disk size: " + Sizes.human(actual));
        }
        if (p.allocationUnit() > 0) {
            out.printf("cluster/block size: %d%n", p.allocationUnit());
        }
        p.flags().forEach(f -> out.println("flag: " + f));
        printFields(p.fields(), null);
        out.printf("%nlayout:%n");
        for (LayoutRegion r : p.regions()) {
            out.printf("  %-9s 0x%012x +%-14d %s%n", r.kind().jsonName(), r.offset(), r.length(), r.label());
        }
    }
}
