package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * kill -9 of a real {@code diskplan resize} at random moments while it writes (issue 18),
 * for every format that can be resized: raw, qcow2 (a grow with preallocation and a
 * shrink), QED, VHD (fixed, and dynamic with the BAT relocated past moved blocks), VHDX
 * (a grow through its log), VMDK (monolithicSparse with both directories moved, a
 * twoGbMaxExtentFlat grow that creates extent files and a shrink that deletes them), VDI
 * (a grow that moves blocks) and LUKS.
 *
 * <p>Per case an uninterrupted run on a copy of the folder gives the finished files and two
 * times: when the journal appears and when the process ends. A trial copies the original
 * folder again, starts the resize and kills it (SIGKILL) a random moment after its journal
 * appears, within the measured writing time (one trial in five: a random moment from the
 * start instead, so some land before the journal). Every outcome must be the old folder,
 * byte for byte (every file, none added or missing); the finished folder, byte for byte; or
 * a journal that {@code info} refuses the image for and {@code recover} turns into one of
 * those two. The image must also pass {@code qemu-img check} where the driver has one and
 * hold the original's guest data ({@code qemu-img compare} against the original; shrinks
 * write data below the new end only).
 *
 * <p>{@code -Ddiskplan.kill.trials=N} runs N trials a case (default 2);
 * {@code -Ddiskplan.kill.seed} repeats a run. The outcome counts are printed per case.
 */
@RequiresOracle({"qemu-img", "qemu-io"})
class KillDuringResizeTest {
    enum Outcome { OLD_FILES, NEW_FILES, RECOVERED_OLD, RECOVERED_NEW }

    static final int TRIALS = Integer.getInteger("diskplan.kill.trials", 2);
    static final long SEED = Long.getLong("diskplan.kill.seed", System.nanoTime());
    private static final Map<String, Map<Outcome, Integer>> TABLE = new ConcurrentSkipListMap<>();

    /** How the guest data of an image is read: qemu's driver options, or LUKS's secret. */
    interface Guest {
        /** Asserts the tools accept {@code image} in {@code dir} and it holds the guest data of {@code original}. */
        void verify(Path dir, String image, Path original, String ctx);
    }

    /** qemu-img check (where the driver has one) and qemu-img compare against the original. */
    record Driver(String driver, boolean hasCheck) implements Guest {
        @Override
        public void verify(Path dir, String image, Path original, String ctx) {
            if (hasCheck) {
                ProcessRunner.Result check = Qemu.img(dir, "check", "-f", driver, image);
                assertThat(check.exitCode()).as("qemu-img check " + ctx + "\n" + check.describe()).isZero();
            }
            ProcessRunner.Result cmp = Qemu.img(dir, "compare", "-U", "-f", driver, "-F", driver,
                    original.toString(), image);
            assertThat(cmp.exitCode()).as("guest data as in the original " + ctx + "\n" + cmp.describe()).isZero();
        }
    }

    /** A LUKS container: qemu-io reads the guest data through the passphrase. */
    record Luks() implements Guest {
        @Override
        public void verify(Path dir, String image, Path original, String ctx) {
            ProcessRunner.Result r = Qcow2Images.tryRun(dir, List.of("qemu-io", "--object",
                    LuksResizeOracleTest.SECRET, "--image-opts", "-c", "read -P 0x11 0 1M", "-c",
                    "read -P 0x22 5M 64k", "driver=luks,key-secret=sec0,file.filename=" + image));
            assertThat(r.exitCode()).as("qemu-io " + ctx + "\n" + r.describe()).isZero();
            assertThat(r.stdout()).as("guest data " + ctx + "\n" + r.describe())
                    .doesNotContain("Pattern verification failed").doesNotContain("error");
        }
    }

    /**
     * One resize: {@code create} makes the image {@code image} in an empty folder (with any
     * extent files); {@code resize} is the command line after {@code diskplan resize}.
     * {@code fresh}: the format writes new identifiers on every resize, as qemu does (VHDX's
     * log and data-write GUIDs, VMDK's CID), so two uninterrupted
     * runs differ in a few bytes and a finished trial may differ from the reference there only.
     */
    record Case(String name, String image, List<List<String>> create, List<String> resize, Guest guest,
                boolean fresh) {
        @Override
        public String toString() {
            return name;
        }
    }

    private static List<List<String>> qemu(String driver, String options, String file, String size,
                                           String... writes) {
        List<List<String>> steps = new ArrayList<>();
        List<String> create = new ArrayList<>(List.of("qemu-img", "create", "-q", "-f", driver));
        if (!options.isEmpty()) {
            create.addAll(List.of("-o", options));
        }
        create.addAll(List.of(file, size));
        steps.add(create);
        for (String w : writes) {
            steps.add(List.of("qemu-io", "-f", driver, "-c", w, file));
        }
        return steps;
    }

    private static Case c(String name, String driver, boolean hasCheck, String options, String size, String writes,
                          String... resize) {
        String image = "disk." + driver;
        List<String> args = new ArrayList<>(List.of(resize));
        args.add(args.size() - 1, image);
        return new Case(name, image, qemu(driver, options, image, size, writes.split(";")), args,
                new Driver(driver, hasCheck), List.of("vhdx", "vmdk").contains(driver));
    }

    static Stream<Case> cases() {
        String data = "write -P 0x5a 0 4M;write -P 0x44 6M 512k;write -P 0x33 12M 2M";
        String luks = "disk.luks";
        return Stream.of(
                c("raw grow, preallocation=full", "raw", false, "", "16M", data, "--preallocation=full", "144M"),
                c("raw shrink", "raw", false, "", "64M", data, "--shrink", "16M"),
                c("qcow2 grow, preallocation=full", "qcow2", true, "", "64M", data, "--preallocation=full", "+64M"),
                c("qcow2 shrink (4 KiB clusters)", "qcow2", true, "cluster_size=4096", "64M", data, "--shrink",
                        "20M"),
                c("qed grow", "qed", true, "", "64M", data, "10G"),
                c("vhd fixed grow", "vpc", false, "subformat=fixed", "64M", data, "256M"),
                c("vhd dynamic grow, BAT relocated past moved blocks", "vpc", false, "subformat=dynamic", "64M",
                        data + ";write -P 0x21 16M 8M", "1G"),
                c("vhdx grow through the log, BAT relocated", "vhdx", true, "block_size=1M", "1G", data, "130G"),
                c("vmdk monolithicSparse grow, directories moved", "vmdk", true, "", "1G", data, "100G"),
                c("vmdk twoGbMaxExtentFlat grow creating extent files", "vmdk", true,
                        "subformat=twoGbMaxExtentFlat", "1G", data, "5G"),
                c("vmdk twoGbMaxExtentFlat shrink deleting extent files", "vmdk", true,
                        "subformat=twoGbMaxExtentFlat", "5G", data, "--shrink", "1G"),
                c("vdi grow moving blocks", "vdi", true, "", "1G", data + ";write -P 0x21 16M 8M", "2T"),
                new Case("luks grow, preallocation=full", luks,
                        List.of(List.of("qemu-img", "create", "-q", "-f", "luks", "--object",
                                        LuksResizeOracleTest.SECRET, "-o", "key-secret=sec0,iter-time=10", luks, "16M"),
                                List.of("qemu-io", "--object", LuksResizeOracleTest.SECRET, "--image-opts",
                                        "-c", "write -P 0x11 0 1M", "-c", "write -P 0x22 5M 64k",
                                        "driver=luks,key-secret=sec0,file.filename=" + luks)),
                        List.of("-f", "luks", "--preallocation=full", luks, "80M"), new Luks(), false));
    }

    @TempDir
    Path tmp;

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void everyKillLeavesTheOldFilesTheNewFilesOrARecoverableJournal(Case c) throws Exception {
        Random random = new Random(SEED ^ c.name().hashCode());
        Path old = Files.createDirectory(tmp.resolve("old"));
        for (List<String> step : c.create()) {
            Qcow2Images.run(old, step);
        }
        List<String> resize = new ArrayList<>(List.of("resize"));
        resize.addAll(c.resize());

        // the uninterrupted run: the finished files and how long the writing takes
        long[] times = uninterrupted(c, old, resize, tmp.resolve("new"));
        long journalAt = times[0];
        long endAt = times[1];
        Path finished = tmp.resolve("new");
        Map<String, Set<Long>> fresh = new TreeMap<>();
        if (c.fresh()) {
            uninterrupted(c, old, resize, tmp.resolve("new2"));
            fresh = differingBytes(finished, tmp.resolve("new2"));
        }
        long writing = Math.max(TimeUnit.MILLISECONDS.toNanos(5), endAt - journalAt);
        Path work = tmp.resolve("work");
        Path journal = Diskplan.journalOf(work.resolve(c.image()));

        Map<Outcome, Integer> outcomes = new EnumMap<>(Outcome.class);
        boolean infoChecked = false;
        for (int t = 0; t < TRIALS; t++) {
            copyFolder(old, work);
            boolean fromStart = random.nextInt(5) == 0;
            long delay = (long) (random.nextDouble() * (fromStart ? endAt : writing));
            String what = c + ", trial " + t + " (seed " + SEED + ", killed " + TimeUnit.NANOSECONDS.toMicros(delay)
                    + " us after the " + (fromStart ? "start" : "journal appeared") + ")";
            Process p = Diskplan.runner(work, resize).startInBackground(tmp.resolve("out"), tmp.resolve("err"));
            long from = fromStart ? System.nanoTime() : waitForJournal(p, journal);
            while (System.nanoTime() - from < delay && p.isAlive()) {
                Thread.onSpinWait();
            }
            p.destroyForcibly(); // SIGKILL
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();

            Outcome o;
            if (Files.exists(journal)) {
                if (!infoChecked) {
                    ProcessRunner.Result info = Diskplan.run(work, "info", c.image());
                    assertThat(info.stderr()).as(what + " refused until recovered\n" + info.describe())
                            .contains("diskplan recover");
                    infoChecked = true;
                }
                ProcessRunner.Result rec = Diskplan.run(work, "recover", c.image());
                assertThat(rec.exitCode()).as(what + "\n" + rec.describe()).isZero();
                assertThat(journal).as(what + ": journal removed by recover").doesNotExist();
                o = rec.stdout().contains("Rolled back") ? Outcome.RECOVERED_OLD : Outcome.RECOVERED_NEW;
            } else {
                Path partial = journal.resolveSibling(journal.getFileName() + ".tmp");
                if (Files.exists(partial)) {
                    // killed while the journal was being written, before it was renamed into place:
                    // nothing of the image was touched, and a half-written journal is no journal (the
                    // next resize replaces it), so info must not refuse the image
                    ProcessRunner.Result info = Diskplan.run(work, "info", c.image());
                    assertThat(info.exitCode()).as(what + ": a partial journal is ignored\n" + info.describe())
                            .isZero();
                    Files.delete(partial);
                }
                o = sameFiles(work, old, Map.of()) == null ? Outcome.OLD_FILES : Outcome.NEW_FILES;
            }
            boolean isNew = o == Outcome.NEW_FILES || o == Outcome.RECOVERED_NEW;
            String difference = isNew ? sameFiles(work, finished, fresh) : sameFiles(work, old, Map.of());
            assertThat(difference).as(what + ": " + o).isNull();
            c.guest().verify(work, c.image(), old.resolve(c.image()), what + ": " + o);
            outcomes.merge(o, 1, Integer::sum);
            ProcessRunner.of("rm", "-rf", work.toString()).run();
        }
        TABLE.put(c.name(), outcomes);
        System.out.println("KillDuringResizeTest: " + c + ": " + TRIALS + " kill -9 trials (seed " + SEED
                + ", journal after " + TimeUnit.NANOSECONDS.toMillis(journalAt) + " ms, writing "
                + TimeUnit.NANOSECONDS.toMillis(writing) + " ms): " + outcomes);
    }

    @AfterAll
    static void printTable() {
        StringBuilder s = new StringBuilder("KillDuringResizeTest outcomes (" + TRIALS + " trials a case, seed " + SEED
                + ")\n");
        s.append(String.format("%-56s %9s %9s %13s %13s%n", "case", "old", "new", "recovered old",
                "recovered new"));
        TABLE.forEach((name, o) -> s.append(String.format("%-56s %9d %9d %13d %13d%n", name,
                o.getOrDefault(Outcome.OLD_FILES, 0), o.getOrDefault(Outcome.NEW_FILES, 0),
                o.getOrDefault(Outcome.RECOVERED_OLD, 0), o.getOrDefault(Outcome.RECOVERED_NEW, 0))));
        System.out.println(s);
    }

    /**
     * Runs the resize uninterrupted on a copy of {@code old} that becomes {@code into};
     * returns when its journal appeared and when it ended (ns from its start).
     */
    private long[] uninterrupted(Case c, Path old, List<String> resize, Path into) throws Exception {
        Path work = tmp.resolve("work");
        copyFolder(old, work);
        Path journal = Diskplan.journalOf(work.resolve(c.image()));
        long start = System.nanoTime();
        Process p = Diskplan.runner(work, resize).startInBackground(tmp.resolve("out"), tmp.resolve("err"));
        long journalAt = waitForJournal(p, journal) - start;
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        long endAt = System.nanoTime() - start;
        assertThat(p.exitValue()).as(c + ": " + Files.readString(tmp.resolve("err"))).isZero();
        c.guest().verify(work, c.image(), old.resolve(c.image()), c + ", uninterrupted");
        Files.move(work, into);
        return new long[] {journalAt, endAt};
    }

    /**
     * Per file name, the offsets where two runs' files differ, widened by 8 bytes each side
     * (files of up to 64 MiB; larger ones must not differ).
     */
    private static Map<String, Set<Long>> differingBytes(Path a, Path b) throws IOException {
        Map<String, Set<Long>> out = new TreeMap<>();
        assertThat(names(a)).isEqualTo(names(b));
        for (String n : names(a)) {
            if (Files.size(a.resolve(n)) > 64L << 20) {
                assertThat(Images.difference(a.resolve(n), b.resolve(n))).as(n + " of two runs").isNull();
                continue;
            }
            byte[] x = Files.readAllBytes(a.resolve(n));
            byte[] y = Files.readAllBytes(b.resolve(n));
            assertThat(x.length).as(n + " of two runs").isEqualTo(y.length);
            Set<Long> d = new TreeSet<>();
            for (int i = 0; i < x.length; i++) {
                if (x[i] != y[i]) {
                    // and its neighbours: a byte of a random GUID or checksum may agree by chance
                    for (long j = Math.max(0, i - 8); j <= i + 8; j++) {
                        d.add(j);
                    }
                }
            }
            assertThat(d.size()).as(n + ": bytes two runs write differently").isLessThan(4096);
            out.put(n, d);
        }
        return out;
    }

    /** Waits until {@code journal} exists or the process ends; returns System.nanoTime() then. */
    private static long waitForJournal(Process p, Path journal) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (p.isAlive() && !Files.exists(journal) && System.nanoTime() < deadline) {
            Thread.sleep(0, 200_000);
        }
        return System.nanoTime();
    }

    /** The regular files of {@code from} copied, holes kept, into the new folder {@code to}. */
    private static void copyFolder(Path from, Path to) throws IOException {
        ProcessRunner.of("rm", "-rf", to.toString()).run();
        Qcow2Images.run(from.getParent(), List.of("cp", "-r", "--sparse=always", from.toString(), to.toString()));
    }

    /**
     * Null when both folders hold the same file names with the same bytes (but at the
     * offsets {@code fresh} names for a file), else what differs.
     */
    private static String sameFiles(Path a, Path b, Map<String, Set<Long>> fresh) throws IOException {
        TreeSet<String> na = names(a);
        TreeSet<String> nb = names(b);
        if (!na.equals(nb)) {
            return "files " + na + " where " + b.getFileName() + " has " + nb;
        }
        Map<String, String> diffs = new TreeMap<>();
        for (String n : na) {
            String d = fresh.containsKey(n) ? differenceBesides(a.resolve(n), b.resolve(n), fresh.get(n))
                    : Images.difference(a.resolve(n), b.resolve(n));
            if (d != null) {
                diffs.put(n, d);
            }
        }
        return diffs.isEmpty() ? null : diffs.toString();
    }

    private static String differenceBesides(Path a, Path b, Set<Long> fresh) throws IOException {
        byte[] x = Files.readAllBytes(a);
        byte[] y = Files.readAllBytes(b);
        if (x.length != y.length) {
            return "lengths differ: " + x.length + " vs " + y.length;
        }
        for (int i = 0; i < x.length; i++) {
            if (x[i] != y[i] && !fresh.contains((long) i)) {
                return "bytes differ first at offset " + i + " (not one a new identifier takes)";
            }
        }
        return null;
    }

    private static TreeSet<String> names(Path dir) throws IOException {
        TreeSet<String> out = new TreeSet<>();
        try (Stream<Path> files = Files.list(dir)) {
            files.filter(f -> Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS))
                    .forEach(f -> out.add(f.getFileName().toString()));
        }
        return out;
    }
}
