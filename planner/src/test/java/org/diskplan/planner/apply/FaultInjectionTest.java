package org.diskplan.planner.apply;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.diskplan.abi.Preallocation;
import org.diskplan.planner.Capabilities;
import org.diskplan.planner.Planners;
import org.diskplan.planner.ResizeError;
import org.diskplan.planner.ResizePlan;
import org.diskplan.planner.ResizeRequest;
import org.diskplan.planner.ResizeSession;
import org.diskplan.probe.ImageProber;
import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.SampleWriter;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fault injection through {@link IoFaults}: for every sample subformat of every format
 * with a planner, a grow with each preallocation mode it offers and a shrink where it can
 * shrink, the Nth write, flush or length change of the apply fails with EIO or ENOSPC, or
 * the process "dies" there (an Error stops the applier dead, the journal left behind).
 * Every trial must end as the old file byte for byte (the failure rolled back, no journal
 * left), as the new file exactly as a clean apply makes it, or — after a death — with a
 * journal that {@code recover} turns into one of the two.
 *
 * <p>Sampled by default (at most {@value #SAMPLED} fault points per plan, spread over its
 * I/O, first and last included); {@code -Ddiskplan.faults.exhaustive=true} tries every one.
 */
class FaultInjectionTest {
    private static final long SIZE = 4L << 20;
    private static final int SAMPLED = 10;
    private static final boolean EXHAUSTIVE = Boolean.getBoolean("diskplan.faults.exhaustive");

    enum Fault { EIO, ENOSPC, KILL }

    enum Outcome { OLD_FILE, NEW_FILE, RECOVERED_OLD, RECOVERED_NEW }

    private static final Map<Outcome, AtomicInteger> OUTCOMES = new EnumMap<>(Outcome.class);
    private static final AtomicInteger TRIALS = new AtomicInteger();

    static {
        for (Outcome o : Outcome.values()) {
            OUTCOMES.put(o, new AtomicInteger());
        }
    }

    @TempDir
    static Path dir;

    /** The process "dies" at an I/O: nothing after it runs, not even the rollback. */
    private static final class Killed extends Error {
        private static final long serialVersionUID = 1L;
    }

    @AfterAll
    static void report() {
        System.out.println("FaultInjectionTest: " + TRIALS.get() + " trials, outcomes " + OUTCOMES
                + (EXHAUSTIVE ? " (exhaustive)" : " (sampled)"));
    }

    @TestFactory
    Stream<DynamicNode> everyFaultLeavesTheOldOrTheNewFile() throws Exception {
        List<DynamicNode> out = new ArrayList<>();
        int n = 0;
        for (SampleWriter w : ServiceLoader.load(SampleWriter.class)) {
            for (String sub : w.subformats()) {
                Path file = dir.resolve("s" + n++ + "." + w.format());
                w.write(file, SIZE, sub.isEmpty() || w.subformats().size() <= 1 ? Map.of() : Map.of("subformat", sub));
                ProbedImage image = ImageProber.probe(file, Optional.of(w.format()));
                if (!Planners.canResize(image.format())) {
                    Files.delete(file);
                    continue;
                }
                Capabilities c = Planners.capabilities(image).orElseThrow();
                long old = image.virtualSize();
                long step = Math.max(512, c.sizeMultiple());
                List<ResizeRequest> requests = new ArrayList<>();
                for (Preallocation mode : Preallocation.values()) {
                    if (c.offers(mode)) {
                        requests.add(new ResizeRequest(2 * old, false, mode));
                    }
                }
                if (c.shrink()) {
                    requests.add(new ResizeRequest(old / 2 / step * step, true, Preallocation.OFF));
                }
                List<DynamicTest> tests = new ArrayList<>();
                for (ResizeRequest r : requests) {
                    String name = r.newSize() + " bytes, preallocation=" + r.preallocation().qemuName()
                            + (r.shrinkAllowed() ? ", shrink" : "");
                    tests.add(DynamicTest.dynamicTest(name, () -> trials(w.format(), file, r)));
                }
                out.add(DynamicContainer.dynamicContainer(w.format() + (sub.isEmpty() ? "" : " " + sub), tests));
            }
        }
        assertThat(out).as("raw, qcow2 and more have planners and samples").hasSizeGreaterThanOrEqualTo(3);
        return out.stream();
    }

    private static void trials(String format, Path file, ResizeRequest request) throws Exception {
        byte[] original = Files.readAllBytes(file);
        Path work = file.resolveSibling("work-" + file.getFileName());
        ResizePlan plan;
        try {
            plan = ResizeSession.planFile(file, Optional.of(format), p -> request);
        } catch (org.diskplan.planner.ResizeError e) {
            // a subformat refused whole (VMDK streamOptimized) has no plan to fail, nor a shrink a
            // planner declines (twoGbMaxExtentSparse inside an extent)
            org.junit.jupiter.api.Assumptions.assumeTrue(e.code() != org.diskplan.abi.ErrorCode.UNSUPPORTED_SUBFORMAT
                    && !(request.shrinkAllowed() && e.code() == org.diskplan.abi.ErrorCode.UNSUPPORTED_SHRINK),
                    "refused: " + e.getMessage());
            throw e;
        }
        // A trial replays the plan on a copy of the image alone; a plan over several files
        // (a VMDK descriptor and its extents) would reach the originals. Those plans are
        // interrupted at every step, folder copied, by the e2e CrashPrefixSuite and by
        // MultiFilePlanTest instead.
        org.junit.jupiter.api.Assumptions.assumeTrue(plan.files().size() == 1,
                "a plan over " + plan.files().size() + " files: covered by VmdkCrashPrefixTest and MultiFilePlanTest");

        // A clean apply, counting the I/O operations: the new file every trial may end as.
        Files.copy(file, work, StandardCopyOption.REPLACE_EXISTING);
        AtomicInteger ops = new AtomicInteger();
        PlanApplier.apply(work, plan, ApplyOptions.DEFAULT.withFaults((op, f) -> ops.incrementAndGet()));
        byte[] resized = Files.readAllBytes(work);
        assertThat(ops.get()).as("a resize writes, flushes and sets a length").isGreaterThanOrEqualTo(3);

        for (int at : faultPoints(ops.get())) {
            for (Fault fault : Fault.values()) {
                Files.copy(file, work, StandardCopyOption.REPLACE_EXISTING);
                Outcome o = trial(work, plan, at, fault, original, resized);
                OUTCOMES.get(o).incrementAndGet();
                TRIALS.incrementAndGet();
            }
        }
        Files.deleteIfExists(work);
    }

    /** Fails the {@code at}-th I/O (1-based) with {@code fault}; returns how the file ended. */
    private static Outcome trial(Path work, ResizePlan plan, int at, Fault fault, byte[] original, byte[] resized)
            throws Exception {
        AtomicInteger count = new AtomicInteger();
        IoFaults faults = (op, f) -> {
            if (count.incrementAndGet() == at) {
                switch (fault) {
                    case EIO -> throw new IOException("Input/output error");
                    case ENOSPC -> throw new IOException("No space left on device");
                    case KILL -> throw new Killed();
                }
            }
        };
        String what = fault + " at I/O " + at;
        try {
            PlanApplier.apply(work, plan, ApplyOptions.DEFAULT.withFaults(faults));
            same(work, resized, what + ": no failure, so the new file");
            assertThat(UndoJournal.pathFor(work)).doesNotExist();
            return Outcome.NEW_FILE;
        } catch (ResizeError e) {
            assertThat(fault).as(what + ": " + e.getMessage()).isNotEqualTo(Fault.KILL);
            assertThat(e.getMessage()).as(what).doesNotContain("rolling back failed");
            assertThat(UndoJournal.pathFor(work)).as(what + ": journal removed").doesNotExist();
            if (e.getMessage().contains("finished instead of rolled back")) {
                same(work, resized, what + ": finished after the cut");
                return Outcome.NEW_FILE;
            }
            same(work, original, what + ": rolled back to the old file");
            return Outcome.OLD_FILE;
        } catch (Killed e) {
            if (!Files.exists(UndoJournal.pathFor(work))) {
                // died before the journal was in place: nothing was touched
                same(work, original, what + ": no journal, so the old file");
                return Outcome.OLD_FILE;
            }
            assertThatRefused(work, plan);
            Recovery.Result r = Recovery.recover(work);
            assertThat(UndoJournal.pathFor(work)).doesNotExist();
            if (r.outcome() == Recovery.Outcome.ROLLED_FORWARD) {
                same(work, resized, what + ": rolled forward");
                return Outcome.RECOVERED_NEW;
            }
            same(work, original, what + ": recovered");
            return Outcome.RECOVERED_OLD;
        }
    }

    /** The file holds exactly {@code expected}; says where it first differs otherwise. */
    private static void same(Path file, byte[] expected, String what) throws IOException {
        byte[] actual = Files.readAllBytes(file);
        int at = Arrays.mismatch(actual, expected);
        assertThat(at).as(what + ": " + actual.length + " bytes, expected " + expected.length
                + " bytes; first difference at offset " + at).isEqualTo(-1);
    }

    private static void assertThatRefused(Path work, ResizePlan plan) {
        try {
            PlanApplier.apply(work, plan, ApplyOptions.DEFAULT);
            throw new AssertionError("a file with a journal was resized again");
        } catch (ResizeError e) {
            assertThat(e.getMessage()).contains("diskplan recover");
        } catch (ResizeCancelled e) {
            throw new AssertionError(e);
        }
    }

    /** Every point when exhaustive (or few), else a spread: the first, the last and evenly between. */
    static List<Integer> faultPoints(int total) {
        TreeSet<Integer> points = new TreeSet<>();
        if (EXHAUSTIVE || total <= SAMPLED) {
            for (int i = 1; i <= total + 1; i++) {
                points.add(i);
            }
        } else {
            for (int k = 0; k < SAMPLED; k++) {
                points.add(1 + (int) ((long) k * (total - 1) / (SAMPLED - 1)));
            }
            points.add(total + 1); // past the last: no fault, the clean apply again
        }
        return List.copyOf(points);
    }
}
