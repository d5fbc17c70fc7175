package org.diskplan.app.fx.model;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.diskplan.abi.ImageFormat;
import org.diskplan.planner.Planners;
import org.diskplan.probe.SampleWriter;

/**
 * The Samples menu: every {@link SampleWriter} on the class path (found through
 * {@link ServiceLoader}, so a new format's writer appears without a change here),
 * each subformat a sample.
 *
 * @param format    the qemu driver name
 * @param subformat the writer's subformat, empty for the default of a format with none
 */
public record Samples(String format, String subformat) {
    /** Virtual size of a sample. */
    public static final long SIZE = 64L << 20;

    /** Every sample the writers can make, sorted by format; the default subformat first. */
    public static List<Samples> available() {
        Map<String, SampleWriter> writers = writers();
        List<Samples> out = new ArrayList<>();
        writers.forEach((name, w) -> w.subformats().forEach(s -> out.add(new Samples(name, s))));
        return out;
    }

    static Map<String, SampleWriter> writers() {
        Map<String, SampleWriter> map = new TreeMap<>();
        for (SampleWriter w : ServiceLoader.load(SampleWriter.class, Samples.class.getClassLoader())) {
            map.put(w.format(), w);
        }
        return map;
    }

    /** The menu text: "qcow2", "vpc (fixed)". */
    public String label() {
        return subformat.isEmpty() ? format : format + " (" + subformat + ")";
    }

    @Override
    public String toString() {
        return label();
    }

    /** The file name of the sample: "sample.qcow2", "sample-fixed.vpc". */
    public String fileName() {
        return "sample" + (subformat.isEmpty() ? "" : "-" + subformat) + "." + format;
    }

    /**
     * Writes this sample into a fresh folder inside this session's temporary samples
     * folder and returns its path (blocking I/O). The samples folder is removed when the
     * JVM exits.
     */
    public Path write() throws IOException {
        SampleWriter writer = writers().get(format);
        if (writer == null) {
            throw new IOException("no sample writer for " + format);
        }
        Path dir = Files.createTempDirectory(sessionFolder(), format + "-");
        Path file = dir.resolve(fileName());
        Map<String, String> options = subformat.isEmpty() || writer.subformats().size() <= 1
                ? Map.of() : Map.of("subformat", subformat);
        writer.write(file, SIZE, options);
        return file;
    }

    /** True for a file this session wrote as a sample (kept out of the recent files: it goes at exit). */
    public static boolean isSample(Path file) {
        Path folder = session;
        return folder != null && file.toAbsolutePath().normalize().startsWith(folder);
    }

    /** This session's samples folder, made on the first sample written. */
    private static volatile Path session;

    private static synchronized Path sessionFolder() throws IOException {
        if (session == null) {
            Path folder = Files.createTempDirectory("diskplan-samples").toAbsolutePath().normalize();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(folder), "diskplan-samples-cleanup"));
            session = folder;
        }
        return session;
    }

    private static void deleteTree(Path folder) {
        try (Stream<Path> walk = Files.walk(folder)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException | UncheckedIOException e) {
            // best effort at exit: the system cleans its temporary folder in time
        }
    }

    /** The sample opened when the window starts with no file: qcow2 once DiskPlan resizes it, else raw. */
    public static Samples builtIn() {
        List<Samples> all = available();
        return all.stream().filter(s -> s.format.equals("qcow2") && Planners.canResize(ImageFormat.QCOW2)).findFirst()
                .or(() -> all.stream().filter(s -> s.format.equals("raw")).findFirst())
                .orElse(all.isEmpty() ? new Samples("raw", "") : all.get(0));
    }
}
