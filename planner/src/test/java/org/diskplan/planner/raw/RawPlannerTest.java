package org.diskplan.planner.raw;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.diskplan.abi.ErrorCode;
import org.diskplan.abi.Preallocation;
import org.diskplan.abi.ResizeAction;
import org.diskplan.planner.ResizeError;
import org.diskplan.planner.ResizePatch.ZeroFill;
import org.diskplan.planner.PatchKind;
import org.diskplan.planner.ResizePatch;
import org.diskplan.planner.ResizePlan;
import org.diskplan.planner.ResizeRequest;
import org.diskplan.planner.TestImages;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RawPlannerTest {
    @TempDir
    Path dir;

    private ResizePlan plan(long length, long size, boolean shrink, Preallocation mode) throws Exception {
        return TestImages.plan(TestImages.raw(dir, "a.raw", length), new ResizeRequest(size, shrink, mode));
    }

    @Test
    void sparseGrowIsOnlyTheFinalLength() throws Exception {
        ResizePlan p = plan(1 << 20, 3 << 20, false, Preallocation.OFF);
        assertThat(p.patches()).isEmpty();
        assertThat(p.action()).isEqualTo(ResizeAction.GROW);
        assertThat(p.newFileSize()).isEqualTo(3 << 20);
        assertThat(p.commitIndex()).isEqualTo(p.finalStep());
    }

    @Test
    void fullWritesZerosOverTheNewRangeAndCommitsThere() throws Exception {
        ResizePlan p = plan(1 << 20, 3 << 20, false, Preallocation.FULL);
        assertThat(p.patches()).singleElement().isInstanceOfSatisfying(ZeroFill.class, z -> {
            assertThat(z.offset()).isEqualTo(1 << 20);
            assertThat(z.length()).isEqualTo(2 << 20);
            assertThat(z.kind()).isEqualTo(PatchKind.ZERO_FILL);
        });
        assertThat(p.commitIndex()).isZero();
    }

    @Test
    void fallocReservesTheNewRange() throws Exception {
        ResizePlan p = plan(1 << 20, 3 << 20, false, Preallocation.FALLOC);
        assertThat(p.patches()).singleElement().isInstanceOfSatisfying(ZeroFill.class,
                z -> assertThat(z.kind()).isEqualTo(PatchKind.RESERVE));
    }

    @Test
    void metadataIsNotARawMode() {
        assertThatThrownBy(() -> plan(1 << 20, 3 << 20, false, Preallocation.METADATA))
                .isInstanceOf(ResizeError.class).hasMessage("Unsupported preallocation mode: metadata")
                .satisfies(e -> assertThat(((ResizeError) e).code()).isEqualTo(ErrorCode.PREALLOCATION_UNSUPPORTED));
    }

    @Test
    void sizesAreSectorRoundedForTheCurrentSizeButExactForTheNewOne() throws Exception {
        ResizePlan same = plan(1000, 1024, false, Preallocation.OFF);
        assertThat(same.action()).isEqualTo(ResizeAction.NOOP);
        assertThat(same.newFileSize()).isEqualTo(1024);
        assertThatThrownBy(() -> plan(1000, 1001, false, Preallocation.OFF))
                .hasMessage("Use the --shrink option to perform a shrink operation.");
        ResizePlan odd = plan(1000, 1001, true, Preallocation.OFF);
        assertThat(odd.newFileSize()).isEqualTo(1001);
        assertThat(odd.newVirtualSize()).isEqualTo(1024);
    }

    @Test
    void emptyFileGetsQemusFirstBlock() throws Exception {
        ResizePlan small = plan(0, 100, false, Preallocation.OFF);
        assertThat(small.newFileSize()).isEqualTo(512);
        // the new length first (the commit: a crash never leaves a size that is neither), then the block
        assertThat(small.patches()).extracting(ResizePatch::kind).containsExactly(PatchKind.EXTEND,
                PatchKind.ZERO_FILL);
        assertThat(small.commitIndex()).isZero();
        assertThat(small.patches().get(1).length()).isEqualTo(512);
        ResizePlan big = plan(0, 5000, false, Preallocation.FALLOC);
        assertThat(big.patches()).hasSize(2);
        assertThat(big.patches().get(1).length()).isEqualTo(4096);
        assertThat(big.newFileSize()).isEqualTo(5000);
        ResizePlan full = plan(0, 100, false, Preallocation.FULL);
        assertThat(full.newFileSize()).isEqualTo(100);
    }

    @Test
    void shrinkSetsTheExactLength() throws Exception {
        ResizePlan p = plan(4 << 20, 1 << 20, true, Preallocation.OFF);
        assertThat(p.action()).isEqualTo(ResizeAction.SHRINK);
        assertThat(p.patches()).isEmpty();
        assertThat(p.newFileSize()).isEqualTo(1 << 20);
    }
}
