package org.diskplan.e2e;

import java.io.IOException;
import java.lang.ProcessBuilder.Redirect;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

import org.diskplan.planner.Planners;
import org.diskplan.planner.ResizeError;
import org.diskplan.planner.ResizePlan;
import org.diskplan.planner.ResizeSession;
import org.diskplan.planner.ResizeRequest;
import org.diskplan.planner.apply.ApplyOptions;
import org.diskplan.planner.apply.LockedImage;
import org.diskplan.planner.apply.PlanApplier;
import org.diskplan.probe.ImageProber;
import org.diskplan.probe.ProbedImage;

/**
 * Speed of every case of the qcow2 oracle matrix ({@link Qcow2ResizeOracleTest#cases()}),
 * DiskPlan next to qemu-img in the same run: not a test (it asserts nothing and is not run
 * by {@code mvn verify}); {@code bench/qcow2-matrix.sh} runs it.
 *
 * <p>For each case, on identical copies of one image: the wall time of
 * {@code qemu-img resize}; of {@code java -jar diskplan.jar resize} (JVM start-up
 * included, run as a user runs it, no JVM options); and of DiskPlan's own work in this
 * process (lock, probe, plan, apply with its journal and syncs, i.e. what the CLI does
 * after start-up), the median of ten runs after a warm-up of at least twenty runs and two
 * seconds (JIT compilation is start-up cost, paid once per process like the JVM's own; the
 * first warm-up run is reported as "cold": this case's first run in this JVM), each run on
 * a fresh copy and after a {@code sync}. Then
 * the bytes each wrote to the image and its journal, counted with strace on two more
 * copies, and the file length each left (the script then times the CLI's fixed start-up). A line is marked SLOWER where the in-process
 * work took longer than qemu-img's whole run.
 */
public final class Qcow2MatrixBench {
    /** Warm-up: at least this many runs, and on until this much time has passed. */
    private static final int WARM_UPS = 20;
    private static final long WARM_UP_NANOS = 2_000_000_000L;
    private static final int RUNS = 10;

    private Qcow2MatrixBench() {
    }

    record Row(String name, long qemuMs, long cliMs, double inProcessMs, double coldMs, long qemuBytes,
               long ourBytes, long qemuLength, long ourLength, int qemuExit, int ourExit) {
    }

    public static void main(String[] args) throws Exception {
        Path root = Files.createTempDirectory("diskplan-matrix-bench");
        String filter = args.length > 0 ? args[0] : "";
        Path jar = Diskplan.jar();
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<Row> rows = new ArrayList<>();
        System.out.printf("%-100s %9s %9s %11s %9s %12s %12s %11s %11s%n", "case", "qemu-img", "CLI", "in-process",
                "(cold)", "qemu bytes", "our bytes", "qemu len", "our len");
        List<Qcow2ResizeOracleTest.Case> cases = Qcow2ResizeOracleTest.cases()
                .filter(c -> c.name().contains(filter)).toList();
        int n = 0;
        try {
            for (Qcow2ResizeOracleTest.Case c : cases) {
                Path dir = Files.createDirectory(root.resolve("case" + n++));
                Row row = measure(c, dir, jar, java);
                rows.add(row);
                System.out.printf("%-100s %6d ms %6d ms %8.1f ms %6.1f ms %12d %12d %11d %11d%s%s%n", row.name(),
                        row.qemuMs(), row.cliMs(), row.inProcessMs(), row.coldMs(), row.qemuBytes(), row.ourBytes(),
                        row.qemuLength(), row.ourLength(), row.inProcessMs() > row.qemuMs() ? "  SLOWER" : "",
                        row.qemuExit() != row.ourExit() ? "  EXIT " + row.qemuExit() + "/" + row.ourExit() : "");
                deleteTree(dir);
            }
        } finally {
            deleteTree(root);
        }
        long slower = rows.stream().filter(r -> r.inProcessMs() > r.qemuMs()).count();
        double worst = rows.stream().mapToDouble(r -> r.inProcessMs() / Math.max(1, r.qemuMs())).max().orElse(0);
        long[] cli = rows.stream().mapToLong(Row::cliMs).sorted().toArray();
        System.out.printf("%d cases; in-process slower than qemu-img's whole run: %d; worst in-process/qemu-img "
                        + "ratio %.2f; CLI wall median %d ms, max %d ms%n", rows.size(), slower, worst,
                cli.length == 0 ? 0 : cli[cli.length / 2], cli.length == 0 ? 0 : cli[cli.length - 1]);
    }

    static Row measure(Qcow2ResizeOracleTest.Case c, Path dir, Path jar, String java) throws Exception {
        Qcow2Images.make(dir, "src.qcow2", c.recipe());
        for (String copy : List.of("q", "qs", "cli", "ds")) {
            copy(dir, copy);
        }
        List<String> qemu = new ArrayList<>(List.of(Oracles.require("qemu-img").toString(), "resize"));
        qemu.addAll(c.options());
        List<String> ours = new ArrayList<>(List.of(java, "-jar", jar.toString(), "resize"));
        ours.addAll(c.options());

        settle(dir);
        long t0 = System.nanoTime();
        int qemuExit = exec(dir, with(qemu, c.recipe().imageArgs("q.qcow2"), c.size()));
        long qemuMs = (System.nanoTime() - t0) / 1_000_000;
        long qemuLength = done(dir, "q.qcow2");
        settle(dir);
        t0 = System.nanoTime();
        int ourExit = exec(dir, with(ours, List.of("cli.qcow2"), c.size()));
        long cliMs = (System.nanoTime() - t0) / 1_000_000;
        long ourLength = done(dir, "cli.qcow2");

        // the CLI options as a request, read as the crash suite reads them
        Qcow2CrashPrefixTest.Scenario resize = new Qcow2CrashPrefixTest.Scenario(c.name(), c.recipe(), c.options(),
                c.size());
        double cold = inProcessCopy(dir, resize);
        long warmStart = System.nanoTime();
        for (int i = 1; i < WARM_UPS || System.nanoTime() - warmStart < WARM_UP_NANOS; i++) {
            inProcessCopy(dir, resize);
        }
        double[] times = new double[RUNS];
        for (int i = 0; i < RUNS; i++) {
            times[i] = inProcessCopy(dir, resize);
        }
        Arrays.sort(times);

        long qemuBytes = written(dir, "qs.qcow2", with(qemu, c.recipe().imageArgs("qs.qcow2"), c.size()));
        long ourBytes = written(dir, "ds.qcow2", with(ours, List.of("ds.qcow2"), c.size()));
        return new Row(c.name(), qemuMs, cliMs, times[RUNS / 2], cold, qemuBytes, ourBytes,
                qemuLength, ourLength, qemuExit, ourExit);
    }

    /**
     * Writes back every dirty page first ({@code sync}), so that no run pays for the
     * write-back of the copies and runs before it (an fsync on ext4 can wait for them).
     */
    private static void settle(Path dir) throws IOException, InterruptedException {
        exec(dir, List.of("sync"));
    }

    /**
     * Removes a copy once timed and returns its length: its page cache goes back to the
     * kernel, so that the next run does not pay for fresh memory (on this VM, writing a few
     * hundred MiB into never-used page cache pages is several times slower than into reused
     * ones, which made every later preallocation=full run look slow).
     */
    private static long done(Path dir, String copy) throws IOException {
        long length = Files.size(dir.resolve(copy));
        Files.delete(dir.resolve(copy));
        return length;
    }

    private static void copy(Path dir, String copy) throws IOException, InterruptedException {
        exec(dir, List.of("cp", "--sparse=always", "src.qcow2", copy + ".qcow2"));
    }

    /** {@link #inProcess} on a fresh copy, after a {@code sync}; the copy is removed after. */
    private static double inProcessCopy(Path dir, Qcow2CrashPrefixTest.Scenario resize) throws Exception {
        copy(dir, "run");
        settle(dir);
        double ms = inProcess(dir.resolve("run.qcow2"), resize);
        done(dir, "run.qcow2");
        return ms;
    }

    /** What the CLI does after start-up: lock, probe, plan, apply. Returns milliseconds. */
    static double inProcess(Path file, Qcow2CrashPrefixTest.Scenario resize) throws Exception {
        long t0 = System.nanoTime();
        try {
            ResizeSession.resizeFile(file, Optional.empty(), probed -> resize.request(probed.virtualSize()),
                    ApplyOptions.DEFAULT);
        } catch (ResizeError refused) {
            // timed all the same: a refusal is the whole of the work in that case
        }
        return (System.nanoTime() - t0) / 1e6;
    }

    private static List<String> with(List<String> command, List<String> image, String size) {
        List<String> all = new ArrayList<>(command);
        all.addAll(image);
        all.add("--");
        all.add(size);
        return all;
    }

    private static int exec(Path dir, List<String> command) throws IOException, InterruptedException {
        return new ProcessBuilder(command).directory(dir.toFile()).redirectOutput(Redirect.DISCARD)
                .redirectError(Redirect.DISCARD).start().waitFor();
    }

    /** Bytes {@code command} wrote (write, pwrite, writev) to files whose path contains {@code name}. */
    private static long written(Path dir, String name, List<String> command) throws Exception {
        Path log = dir.resolve("strace.log");
        List<String> traced = new ArrayList<>(List.of(Oracles.require("strace").toString(), "-f", "-qq", "-y", "-e",
                "trace=write,pwrite64,pwritev,pwritev2,writev", "-o", log.toString()));
        traced.addAll(command);
        exec(dir, traced);
        long sum = 0;
        try (Stream<String> lines = Files.lines(log)) {
            for (String line : (Iterable<String>) lines::iterator) {
                int eq = line.lastIndexOf("= ");
                if (line.contains(name) && eq > 0 && line.substring(eq + 2).matches("\\d+")) {
                    sum += Long.parseLong(line.substring(eq + 2));
                }
            }
        }
        return sum;
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
