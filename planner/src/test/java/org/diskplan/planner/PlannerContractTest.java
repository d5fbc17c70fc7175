package org.diskplan.planner;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.stream.Stream;
import org.diskplan.abi.Preallocation;
import org.diskplan.planner.apply.MemoryApply;
import org.diskplan.probe.ImageProber;
import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.SampleWriter;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * The contract every registered planner keeps, checked with DiskPlan alone (no qemu):
 * for every sample-writer subformat whose format has a planner, a grow (with each
 * preallocation mode the planner offers), a grow by an odd amount, a shrink and a
 * same-size resize are planned; the plan's files and sizes agree with the request and
 * the capabilities; and every prefix of the plan, applied in memory, re-probes with
 * DiskPlan's own probe as the old size before the commit and the new size from it on.
 * A new planner is covered as soon as it is registered.
 */
class PlannerContractTest {
    private static final long SIZE = 16L << 20;

    @TempDir
    Path dir;

    @TestFactory
    Stream<DynamicNode> everyPlannerKeepsTheContract() throws Exception {
        List<DynamicNode> out = new ArrayList<>();
        int n = 0;
        for (SampleWriter w : ServiceLoader.load(SampleWriter.class)) {
            for (String sub : w.subformats()) {
                Path file = dir.resolve("s" + n++ + "." + w.format());
                w.write(file, SIZE, sub.isEmpty() || w.subformats().size() <= 1 ? Map.of() : Map.of("subformat", sub));
                ProbedImage image = ImageProber.probe(file, Optional.of(w.format()));
                if (!Planners.canResize(image.format())) {
                    continue;
                }
                Optional<ResizeError> refused = refusal(file, w, 2 * image.virtualSize());
                if (refused.isPresent()) {
                    // a subformat the planner refuses as a whole (VMDK streamOptimized): refused before anything
                    // is planned, with the field named, and nothing written
                    byte[] before = Files.readAllBytes(file);
                    out.add(DynamicTest.dynamicTest(w.format() + " " + sub + " refused: " + refused.get().getMessage(),
                            () -> {
                                assertThat(refused.get().getMessage()).contains("offset");
                                assertThat(Files.readAllBytes(file)).isEqualTo(before);
                            }));
                    continue;
                }
                Capabilities c = Planners.capabilities(image).orElseThrow();
                long old = image.virtualSize();
                long step = Math.max(512, c.sizeMultiple());
                List<DynamicTest> tests = new ArrayList<>();
                for (Preallocation mode : Preallocation.values()) {
                    if (c.offers(mode)) {
                        tests.add(test(w, file, new ResizeRequest(3 * old, false, mode)));
                    }
                }
                tests.add(test(w, file, new ResizeRequest(old + (c.roundsUp() ? 1 : step), false, Preallocation.OFF)));
                tests.add(test(w, file, new ResizeRequest(old, false, Preallocation.OFF)));
                if (c.shrink()) {
                    tests.add(test(w, file, new ResizeRequest(old / 4 / step * step, true, Preallocation.OFF)));
                }
                out.add(DynamicContainer.dynamicContainer(w.format() + (sub.isEmpty() ? "" : " " + sub), tests));
            }
        }
        assertThat(out).as("at least raw and qcow2 have planners and samples").hasSizeGreaterThanOrEqualTo(2);
        return out.stream();
    }

    /** The planner's refusal of the whole subformat (code 6), if it refuses it. */
    private static Optional<ResizeError> refusal(Path file, SampleWriter w, long size) {
        try {
            ResizeSession.planFile(file, Optional.of(w.format()), p -> new ResizeRequest(size, false,
                    Preallocation.OFF));
            return Optional.empty();
        } catch (ResizeError e) {
            if (e.code() == org.diskplan.abi.ErrorCode.UNSUPPORTED_SUBFORMAT) {
                return Optional.of(e);
            }
            return Optional.empty();
        } catch (Exception e) {
            return Optional.empty();
        }
    }

    private static DynamicTest test(SampleWriter w, Path file, ResizeRequest request) {
        return DynamicTest.dynamicTest(request.newSize() + " bytes, preallocation=" + request.preallocation()
                .qemuName() + (request.shrinkAllowed() ? ", shrink" : ""), () -> check(w, file, request));
    }

    private static void check(SampleWriter w, Path file, ResizeRequest request) throws Exception {
        byte[] before = Files.readAllBytes(file);
        ProbedImage image = ImageProber.probe(file, Optional.of(w.format()));
        ResizePlan plan;
        try {
            plan = ResizeSession.planFile(file, Optional.of(w.format()), p -> request);
        } catch (ResizeError e) {
            // a planner may decline one shrink (a twoGbMaxExtentSparse disk shrinks only to an
            // extent boundary) with code UNSUPPORTED_SHRINK, saying why; nothing is written
            assertThat(request.shrinkAllowed() && e.code() == org.diskplan.abi.ErrorCode.UNSUPPORTED_SHRINK)
                    .as("only a shrink may be declined: " + e.getMessage()).isTrue();
            assertThat(Files.readAllBytes(file)).isEqualTo(before);
            return;
        }
        assertThat(Files.readAllBytes(file)).as("planning writes nothing").isEqualTo(before);

        long old = image.virtualSize();
        assertThat(plan.oldVirtualSize()).isEqualTo(old);
        assertThat(plan.newVirtualSize()).as("the size the capabilities promise")
                .isEqualTo(Planners.effectiveSize(image, request.newSize()));
        assertThat(plan.action()).isEqualTo(Planners.actionFor(old, plan.newVirtualSize()));
        assertThat(plan.image().oldLength()).isEqualTo(Files.size(file));
        assertThat(plan.image().path()).isEqualTo(file);
        assertThat(plan.commitIndex()).isBetween(0, plan.finalStep());
        assertThat(plan.expected()).as("the plan records what it was built from").isNotEmpty();

        MemoryApply sim = MemoryApply.load(plan, file);
        assertSize(w, file, sim, plan, -1);
        for (int k = 0; k <= plan.finalStep(); k++) {
            sim.step();
            assertSize(w, file, sim, plan, k);
        }
        for (int i = 0; i < plan.files().size(); i++) {
            assertThat(sim.file(i).size()).as("file " + i + " ends at its planned length")
                    .isEqualTo(plan.files().get(i).newLength());
        }
    }

    /** After step {@code k}: the old size before the commit, the new size from it on. */
    private static void assertSize(SampleWriter w, Path file, MemoryApply sim, ResizePlan plan, int k)
            throws Exception {
        ProbedImage p = ImageProber.probeForResize(file, sim.file(0), Optional.of(w.format()));
        long expected = k < plan.commitIndex() ? plan.oldVirtualSize() : plan.newVirtualSize();
        assertThat(p.virtualSize()).as("virtual size after step " + k + " of " + plan.finalStep() + " (commit "
                + plan.commitIndex() + ")").isEqualTo(expected);
    }
}
