package org.diskplan.planner;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import org.diskplan.abi.ErrorCode;
import org.diskplan.abi.ImageFormat;
import org.diskplan.abi.Preallocation;
import org.diskplan.abi.ResizeAction;
import org.diskplan.planner.ResizePatch.Copy;
import org.diskplan.planner.ResizePatch.Extend;
import org.diskplan.planner.ResizePatch.Write;
import org.diskplan.probe.RegionKind;
import org.junit.jupiter.api.Test;

class PlanBuilderTest {
    private static final long LENGTH = 4096;

    private static PlanBuilder builder() {
        return new PlanBuilder(ImageFormat.RAW, new FormatOptions.Raw(),
                new ResizeRequest(8192, false, Preallocation.OFF), Path.of("a.img"), LENGTH);
    }

    private static Write write(long offset, int n) {
        return new Write(offset, new byte[n], "w" + offset, RegionKind.DATA);
    }

    private static ResizePlan build(PlanBuilder b) throws ResizeError {
        return b.build(ResizeAction.GROW, LENGTH, 8192);
    }

    @Test
    void phasesEndInBarriersAndTheCommitIsAPhaseOfItsOwn() throws ResizeError {
        PlanBuilder b = builder();
        b.phase(List.of(write(0, 8), write(100, 8)));
        b.commit(write(200, 8));
        b.phase(List.of(write(0, 8)));
        ResizePlan p = build(b);
        assertThat(p.barriersAfter()).containsExactly(1, 2, 3);
        assertThat(p.commitIndex()).isEqualTo(2);
        assertThat(p.newFileSize()).isEqualTo(LENGTH);
    }

    @Test
    void freshStructuresAreSortedAndGapsBecomeSparseExtensions() throws ResizeError {
        PlanBuilder b = builder();
        b.freshPhase(List.of(write(LENGTH + 8192, 512), write(LENGTH, 512)));
        b.commit(write(0, 8));
        ResizePlan p = build(b);
        assertThat(p.patches()).extracting(ResizePatch::kind).containsExactly(PatchKind.WRITE, PatchKind.EXTEND,
                PatchKind.WRITE, PatchKind.WRITE);
        assertThat(p.patches().get(1)).isEqualTo(new Extend(LENGTH + 512, 8192 - 512,
                "extend the file to the next new structure", RegionKind.FREE));
        assertThat(p.newFileSize()).isEqualTo(LENGTH + 8192 + 512);
    }

    @Test
    void aPlanWithoutACommitIsRefused() {
        PlanBuilder b = builder();
        b.phase(List.of(write(0, 8)));
        assertThatThrownBy(() -> build(b)).hasMessageContaining("no commit step")
                .satisfies(e -> assertThat(((ResizeError) e).code()).isEqualTo(ErrorCode.INVALID_OPTION));
    }

    @Test
    void anAppendMustStartAtTheEnd() {
        PlanBuilder b = builder();
        b.phase(List.of(Write.append(LENGTH + 512, new byte[8], "gap", RegionKind.TABLE)));
        b.commitAtFinalStep();
        assertThatThrownBy(() -> build(b)).hasMessageContaining("starts at " + (LENGTH + 512));
    }

    @Test
    void anOverwriteMayStartPastTheEndButAnExtensionMayNot() throws ResizeError {
        PlanBuilder b = builder();
        b.phase(List.of(write(LENGTH + 1, 8)));
        b.commitAtFinalStep();
        assertThat(build(b).image().newLength()).as("the gap is a hole").isEqualTo(LENGTH + 9);

        PlanBuilder bad = builder();
        bad.phase(List.of(new Extend(LENGTH + 1, 8, "gap", RegionKind.FREE)));
        bad.commitAtFinalStep();
        assertThatThrownBy(() -> build(bad)).hasMessageContaining("will end at " + LENGTH);
    }

    @Test
    void twoStepsOfOnePhaseMayNotTouchTheSameBytes() {
        PlanBuilder b = builder();
        b.phase(List.of(write(0, 16), write(100, 8), write(8, 8)));
        b.commitAtFinalStep();
        assertThatThrownBy(() -> build(b)).hasMessageContaining("steps 0 and 2 of one phase");
    }

    @Test
    void theSameBytesInTwoPhasesAreFine() throws ResizeError {
        PlanBuilder b = builder();
        b.phase(List.of(write(0, 16)));
        b.phase(List.of(write(8, 8)));
        b.commitAtFinalStep();
        assertThat(build(b).patches()).hasSize(2);
    }

    @Test
    void aCopyMovesTheFilesOwnBytesOnly() {
        PlanBuilder b = builder();
        b.phase(List.of(write(0, 512)));
        b.phase(List.of(new Copy(0, LENGTH, 0, 256, 512, "move", RegionKind.DATA)));
        b.commitAtFinalStep();
        assertThatThrownBy(() -> build(b)).hasMessageContaining("copies bytes step 0 wrote");

        PlanBuilder outside = builder();
        outside.phase(List.of(new Copy(0, LENGTH, 0, LENGTH - 100, 512, "move", RegionKind.DATA)));
        outside.commitAtFinalStep();
        assertThatThrownBy(() -> build(outside)).hasMessageContaining("outside its source");
    }

    @Test
    void aCreatedFileStartsEmpty() throws ResizeError {
        PlanBuilder b = builder();
        int f = b.createFile(Path.of("a-s002.img"), PlanFile.Role.EXTENT);
        b.phase(List.of(new Write(f, 0, new byte[512], true, "extent header", RegionKind.HEADER)));
        b.commit(write(0, 8));
        ResizePlan p = build(b);
        assertThat(p.files().get(f)).isEqualTo(new PlanFile(Path.of("a-s002.img"), PlanFile.Role.EXTENT, 0, 512,
                true));

        PlanBuilder bad = builder();
        int g = bad.createFile(Path.of("a-s002.img"), PlanFile.Role.EXTENT);
        bad.phase(List.of(new Write(g, 512, new byte[512], true, "append after a hole", RegionKind.HEADER)));
        bad.commitAtFinalStep();
        assertThatThrownBy(() -> build(bad)).hasMessageContaining("will end at 0");
    }
}
