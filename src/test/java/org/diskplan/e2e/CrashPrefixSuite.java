package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.stream.Stream;
import org.diskplan.abi.Preallocation;
import org.diskplan.planner.ResizeError;
import org.diskplan.planner.ResizePlan;
import org.diskplan.planner.ResizeRequest;
import org.diskplan.planner.ResizeSession;
import org.diskplan.planner.apply.ApplyOptions;
import org.diskplan.planner.apply.PlanApplier;
import org.diskplan.planner.apply.UndoJournal;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;

/**
 * The crash-prefix suite every format reuses. For a case (an image and a request) the plan
 * is applied in-process to a copy and stopped right after step k (the applier's afterStep
 * hook, as the CLI's crash variable does), the undo journal is thrown away (as if nobody
 * recovered), and the format's {@link Oracle} — tools DiskPlan did not write — must accept
 * what is left: no corruption (leaks are allowed), the old size before the commit and the
 * new size from it on, and exactly the original guest data (old size) or exactly the
 * finished resize's (new size). Plans with many steps are sampled: every barrier boundary,
 * the commit and its neighbours, and an even spread of {@code -Ddiskplan.crash.samples}
 * (24 by default; 100000 tries every prefix). A plan over several files gets the whole
 * folder copied per prefix (see {@link #folderCase}). Every copy is sparse (see {@link #copy}
 * for why no outcome here depends on allocation).
 */
final class CrashPrefixSuite {
    static final int SAMPLES = Integer.getInteger("diskplan.crash.samples", 24);
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private CrashPrefixSuite() {
    }

    /** What a format's reference tools say of a file in {@code dir}. */
    interface Oracle {
        /** Asserts the tools accept {@code file} as an image (leaks allowed); returns its virtual size. */
        long accept(Path dir, String file, String ctx);

        /** Asserts {@code candidate} holds exactly the guest data of {@code reference}. */
        void sameGuestData(Path dir, String reference, String candidate, String ctx);
    }

    /** Writes a case's image as {@code original} into the case's empty folder. */
    @FunctionalInterface
    interface Maker<C> {
        void make(C c, Path dir) throws Exception;
    }

    /**
     * The tests of every case, each in a folder of its own under {@code tmp}: its image made
     * by {@code maker} as {@code original}, resized as {@code request} asks, checked by
     * {@code oracle}. Every case must be planned: DiskPlan refusing one fails the factory.
     */
    static <C> Stream<DynamicNode> everyCase(Path tmp, List<C> cases, Function<C, String> name, String original,
                                             Function<C, ResizeSession.RequestFor<?>> request, Oracle oracle,
                                             Maker<C> maker) throws Exception {
        List<DynamicNode> out = new ArrayList<>();
        for (C c : cases) {
            Path dir = Files.createTempDirectory(tmp, "case");
            maker.make(c, dir);
            of(name.apply(c), dir, original, request.apply(c), oracle).ifPresent(out::add);
        }
        assertThat(out).as("every case is planned (none refused)").hasSize(cases.size());
        return out.stream();
    }

    /** A request for {@code newSize}: a shrink when it is below the image's size, preallocation off. */
    static ResizeSession.RequestFor<RuntimeException> resizeTo(long newSize) {
        return probed -> new ResizeRequest(newSize, newSize < probed.virtualSize(), Preallocation.OFF);
    }

    /** Stops the applier where a crash would. */
    static final class Halt extends RuntimeException {
        private static final long serialVersionUID = 1L;
    }

    /**
     * The tests of one case: {@code original} in {@code dir} (which holds whatever else it
     * refers to, a backing file say). Empty when DiskPlan refuses the request (nothing is
     * written then; the oracle matrices check the words).
     */
    static Optional<DynamicNode> of(String name, Path dir, String original, ResizeSession.RequestFor<?> request,
                                    Oracle oracle) throws Exception {
        ResizePlan plan;
        try {
            plan = ResizeSession.planFile(dir.resolve(original), Optional.empty(), request);
        } catch (ResizeError refused) {
            return Optional.empty();
        }
        if (plan.files().size() > 1) {
            return Optional.of(folderCase(name, dir, original, request, plan, oracle));
        }
        String finished = "finished-" + original;
        PlanApplier.apply(copy(dir, original, finished), plan, ApplyOptions.DEFAULT);
        int n = plan.patches().size();
        List<DynamicTest> tests = new ArrayList<>();
        for (int k : sample(plan)) {
            tests.add(DynamicTest.dynamicTest("stop after step " + k + (k == plan.commitIndex() ? " (commit)" : "")
                    + (k == n ? " (final length)" : ""), () -> crashAt(name, dir, original, finished, plan, k, oracle)));
        }
        return Optional.of(DynamicContainer.dynamicContainer(name + " (" + n + " patches, commit "
                + plan.commitIndex() + ")", tests));
    }

    /**
     * A plan over several files (a VMDK descriptor and its extents, files it creates): the
     * whole folder is copied (sparse) per prefix and the plan made again in the copy (its
     * paths are the copy's); the re-made plan must have the same steps and commit.
     */
    private static DynamicNode folderCase(String name, Path dir, String original, ResizeSession.RequestFor<?> request,
                                          ResizePlan plan, Oracle oracle) throws Exception {
        Path finished = copyFolder(dir, "finished");
        ResizePlan again = ResizeSession.planFile(finished.resolve(original), Optional.empty(), request);
        PlanApplier.apply(finished.resolve(original), again, ApplyOptions.DEFAULT);
        int n = plan.patches().size();
        List<DynamicTest> tests = new ArrayList<>();
        for (int k : sample(plan)) {
            tests.add(DynamicTest.dynamicTest("stop after step " + k + (k == plan.commitIndex() ? " (commit)" : "")
                    + (k == n ? " (final length)" : ""), () -> {
                        Path copy = copyFolder(dir, "crash" + k);
                        ResizePlan p = ResizeSession.planFile(copy.resolve(original), Optional.empty(), request);
                        assertThat(p.patches().size()).as("the plan made again in the copy").isEqualTo(n);
                        assertThat(p.commitIndex()).isEqualTo(plan.commitIndex());
                        assertThat(p.files().size()).isEqualTo(plan.files().size());
                        Path image = copy.resolve(original);
                        crashAfter(image, p, k);
                        String ctx = "\ncase " + name + " (files " + p.files().stream().map(f -> f.path().getFileName()
                                .toString()).toList() + "), stopped after step " + k + " of " + n + " (commit "
                                + p.commitIndex() + ")";
                        String file = "crash" + k + "/" + original;
                        long size = oracle.accept(dir, file, ctx);
                        if (k < p.commitIndex()) {
                            assertThat(size).as("old size before the commit" + ctx).isEqualTo(p.oldVirtualSize());
                        } else {
                            assertThat(size).as("new size from the commit on" + ctx).isEqualTo(p.newVirtualSize());
                        }
                        oracle.sameGuestData(dir, size == p.oldVirtualSize() ? original : "finished/" + original, file,
                                ctx);
                        ProcessRunner.of("rm", "-rf", copy.getFileName().toString()).in(dir).run();
                    }));
        }
        return DynamicContainer.dynamicContainer(name + " (" + plan.files().size() + " files, " + n
                + " patches, commit " + plan.commitIndex() + ")", tests);
    }

    /** The regular files of {@code dir} copied (holes kept) into the new folder {@code dir/to}. */
    static Path copyFolder(Path dir, String to) throws IOException {
        Path target = dir.resolve(to);
        Files.createDirectory(target);
        List<String> cmd = new ArrayList<>(List.of("cp", "--sparse=always"));
        try (var files = Files.list(dir)) {
            files.filter(f -> Files.isRegularFile(f, java.nio.file.LinkOption.NOFOLLOW_LINKS))
                    .forEach(f -> cmd.add(f.getFileName().toString()));
        }
        cmd.add(to + "/");
        ProcessRunner.Result r = ProcessRunner.of(cmd).in(dir).run();
        assertThat(r.exitCode()).as(r.describe()).isZero();
        return target;
    }

    /** Steps to stop after: every barrier and the step after it, the commit and its neighbours, and an even spread. */
    static TreeSet<Integer> sample(ResizePlan plan) {
        int n = plan.patches().size();
        TreeSet<Integer> ks = new TreeSet<>(List.of(-1, 0, n - 1, n));
        for (int b : plan.barriersAfter()) {
            ks.add(b);
            ks.add(b + 1);
        }
        for (int d = -1; d <= 1; d++) {
            ks.add(plan.commitIndex() + d);
        }
        for (int i = 1; i < SAMPLES; i++) {
            ks.add((int) ((long) n * i / SAMPLES));
        }
        ks.removeIf(k -> k < -1 || k > n);
        return ks;
    }

    /**
     * {@code dir/from} copied as {@code dir/to}, every byte where it was (qemu-img convert
     * would rewrite the layout) and zero blocks as holes ({@link SparseCopy}). No oracle
     * here looks at host allocation (qemu-img check's corruptions and check errors, info's
     * virtual size, compare's guest data, vhdiinfo/vmdkinfo opening it), the plans are made
     * from the original, and the applier writes the same whether a block of the copy is a
     * hole or allocated zeros, so the preallocation cases' outcome does not change either.
     */
    static Path copy(Path dir, String from, String to) throws IOException {
        return SparseCopy.copy(dir.resolve(from), dir.resolve(to));
    }

    private static void crashAt(String name, Path dir, String original, String finished, ResizePlan plan, int k,
                                Oracle oracle) throws Exception {
        String file = "crash" + k + "-" + original;
        Path image = copy(dir, original, file);
        crashAfter(image, plan, k);
        String ctx = "\ncase " + name + ", stopped after step " + k + " of " + plan.patches().size() + " (commit "
                + plan.commitIndex() + ")";
        long size = oracle.accept(dir, file, ctx);
        if (k < plan.commitIndex()) {
            assertThat(size).as("old size before the commit" + ctx).isEqualTo(plan.oldVirtualSize());
        } else {
            assertThat(size).as("new size from the commit on" + ctx).isEqualTo(plan.newVirtualSize());
        }
        oracle.sameGuestData(dir, size == plan.oldVirtualSize() ? original : finished, file, ctx);
        Files.delete(image);
    }

    /** Applies {@code plan} to {@code image}, stops right after step k and throws the journal away. */
    private static void crashAfter(Path image, ResizePlan plan, int k) throws Exception {
        try {
            PlanApplier.apply(image, plan, ApplyOptions.DEFAULT.withAfterStep(step -> {
                if (step == k) {
                    throw new Halt();
                }
            }));
            throw new AssertionError("the applier did not reach step " + k);
        } catch (Halt expected) {
            // stopped where a crash would have stopped it
        }
        Files.deleteIfExists(UndoJournal.pathFor(image));
    }

    /**
     * qemu's own tools for a driver: {@code qemu-img check} where the driver has one
     * (no corruption, no check errors), the virtual size from {@code qemu-img info}, a
     * libyal info tool where one reads the format, and {@code qemu-img compare}.
     */
    record Qemu(String driver, boolean hasCheck, Optional<String> libyalTool) implements Oracle {
        @Override
        public long accept(Path dir, String file, String ctx) {
            if (hasCheck) {
                ProcessRunner.Result r = Qcow2Images.tryRun(dir, List.of("qemu-img", "check", "--output=json", "-f",
                        driver, file));
                JsonNode check = json(r);
                assertThat(check.has("exit")).as("qemu-img check ran: " + check + ctx).isFalse();
                assertThat(check.path("corruptions").asInt(0)).as("no corruption: " + check + ctx).isZero();
                assertThat(check.path("check-errors").asInt(0)).as("no check errors: " + check + ctx).isZero();
            }
            libyalTool.ifPresent(tool -> {
                ProcessRunner.Result r = Qcow2Images.tryRun(dir, List.of(tool, file));
                assertThat(r.exitCode()).as(tool + " reads it\n" + r.describe() + ctx).isZero();
            });
            ProcessRunner.Result info = Qcow2Images.tryRun(dir, List.of("qemu-img", "info", "--output=json", "-U",
                    "-f", driver, file));
            assertThat(info.exitCode()).as("qemu-img info opens it\n" + info.describe() + ctx).isZero();
            return json(info).get("virtual-size").asLong();
        }

        @Override
        public void sameGuestData(Path dir, String reference, String candidate, String ctx) {
            ProcessRunner.Result r = Qcow2Images.tryRun(dir, List.of("qemu-img", "compare", "-U", "-f", driver, "-F",
                    driver, reference, candidate));
            assertThat(r.exitCode()).as("guest data as in " + reference + "\n" + r.describe() + ctx).isZero();
        }

        private static JsonNode json(ProcessRunner.Result r) {
            try {
                return MAPPER.readTree(r.stdout().isBlank() ? "{\"exit\": " + r.exitCode() + "}" : r.stdout());
            } catch (IOException e) {
                throw new AssertionError(r.describe(), e);
            }
        }
    }
}
