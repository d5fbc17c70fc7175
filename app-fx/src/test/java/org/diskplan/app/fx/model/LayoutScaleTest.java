package org.diskplan.app.fx.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import org.diskplan.probe.LayoutRegion;
import org.diskplan.probe.RegionKind;
import org.junit.jupiter.api.Test;

class LayoutScaleTest {
    private static final long GIB = 1L << 30;

    @Test
    void aTinyTableNextToGigabytesIsStillSixPixelsWide() {
        List<LayoutRegion> regions = List.of(
                new LayoutRegion(RegionKind.HEADER, 0, 104, "header"),
                new LayoutRegion(RegionKind.TABLE, 65536, 8, "L1 table"),
                new LayoutRegion(RegionKind.DATA, 131072, 4 * GIB, "data"));
        LayoutScale s = LayoutScale.of(regions, 131072 + 4 * GIB, 800);
        // header, gap, L1, gap, data
        assertThat(s.segments()).extracting(LayoutScale.Segment::kind)
                .containsExactly(RegionKind.HEADER, null, RegionKind.TABLE, null, RegionKind.DATA);
        for (LayoutScale.Segment seg : s.segments()) {
            assertThat(seg.width()).as(seg.label()).isGreaterThanOrEqualTo(LayoutScale.MIN - 1e-9);
        }
        assertThat(s.segments().stream().mapToDouble(LayoutScale.Segment::width).sum()).isCloseTo(800, within(1e-6));
        // contiguous, in file order
        double x = 0;
        for (LayoutScale.Segment seg : s.segments()) {
            assertThat(seg.x()).isCloseTo(x, within(1e-9));
            x += seg.width();
        }
        // data takes what is left; offsets map into their segment and back
        LayoutScale.Segment l1 = s.segments().get(2);
        assertThat(s.x(65536)).isCloseTo(l1.x(), within(1e-9));
        assertThat(s.at(l1.x() + 1).orElseThrow().label()).isEqualTo("L1 table");
        assertThat(s.offsetAt(l1.x() + 0.1)).isBetween(65536L, 65544L);
    }

    @Test
    void widthsFollowBytesWhenEveryRegionIsLargeEnough() {
        List<LayoutRegion> regions = List.of(new LayoutRegion(RegionKind.HEADER, 0, 100, "a"),
                new LayoutRegion(RegionKind.DATA, 100, 300, "b"));
        LayoutScale s = LayoutScale.of(regions, 400, 400);
        assertThat(s.segments()).extracting(LayoutScale.Segment::width).containsExactly(100.0, 300.0);
    }

    @Test
    void moreRegionsThanPixelsShrinkTheMinimumAndAdjacentRegionsOfOneKindMerge() {
        List<LayoutRegion> regions = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            regions.add(new LayoutRegion(i % 2 == 0 ? RegionKind.TABLE : RegionKind.DATA, i * 10L, 10, "r" + i));
        }
        regions.add(new LayoutRegion(RegionKind.DATA, 10_000, 10, "x"));
        regions.add(new LayoutRegion(RegionKind.DATA, 10_010, 10, "y"));
        LayoutScale s = LayoutScale.of(regions, 10_020, 300);
        assertThat(s.segments()).hasSize(1000); // the last three data regions are one
        assertThat(s.segments().stream().mapToDouble(LayoutScale.Segment::width).sum()).isCloseTo(300, within(1e-6));
        assertThat(s.segments().get(999).length()).isEqualTo(30);
    }

    @Test
    void theLayoutAfterAPlanIsCutAtTheNewEndAndShowsWhatTheStepsWrite() throws Exception {
        java.nio.file.Path f = java.nio.file.Files.createTempFile("layout", ".raw");
        try (java.io.RandomAccessFile raf = new java.io.RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(4L << 20);
        }
        var plan = org.diskplan.planner.ResizeSession.planFile(f, java.util.Optional.empty(), p ->
                new org.diskplan.planner.ResizeRequest(2L << 20, true, org.diskplan.abi.Preallocation.OFF));
        List<LayoutRegion> now = List.of(new LayoutRegion(RegionKind.DATA, 0, 4L << 20, "data"));
        List<LayoutRegion> after = LayoutScale.after(now, plan);
        assertThat(after).allSatisfy(r -> assertThat(r.end()).isLessThanOrEqualTo(2L << 20));
        assertThat(after.stream().mapToLong(LayoutRegion::length).sum()).isEqualTo(2L << 20);
        java.nio.file.Files.delete(f);
    }
}
