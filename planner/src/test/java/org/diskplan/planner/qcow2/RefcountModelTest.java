package org.diskplan.planner.qcow2;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import org.diskplan.planner.ResizeError;
import org.diskplan.planner.PlanReader;
import org.diskplan.probe.ByteArrayImageReader;
import org.junit.jupiter.api.Test;

/** Allocation, self-counting refcount blocks and table growth on a tiny hand-made image. */
class RefcountModelTest {
    static final int CS = 512;

    /** 512-byte clusters, 16-bit refcounts: header (0), refcount table (1), refcount block (2), L1 (3). */
    static ByteArrayImageReader image() {
        ByteBuffer b = ByteBuffer.allocate(4 * CS);
        b.putLong(CS, 2L * CS); // table entry 0 -> block at cluster 2
        for (int c = 0; c < 4; c++) {
            b.putShort(2 * CS + 2 * c, (short) 1);
        }
        return new ByteArrayImageReader(b.array());
    }

    @Test
    void allocationCountsNewClustersAndPlacesSelfCountingBlocks() throws ResizeError {
        Qcow2Geometry g = new Qcow2Geometry(9, 4, false);
        RefcountModel m = RefcountModel.load(g, new PlanReader(image()), CS, 1);
        assertThat(m.get(3)).isEqualTo(1);
        assertThat(m.get(4)).isZero();
        long at = m.allocate(300, false);
        assertThat(at).isEqualTo(4L * CS);
        // clusters 4..303 counted; block 1 (clusters 256..511) is new, placed at 304 and counts itself
        assertThat(m.get(303)).isEqualTo(1);
        assertThat(m.get(304)).isEqualTo(1);
        assertThat(m.newBlockLinks()).hasSize(1);
        assertThat(m.newBlockLinks().get(0)).isEqualTo(new RefcountModel.BlockLink(1, 304L * CS));
        assertThat(m.tableTooSmall()).isFalse();
        // the existing block changed only in its entries 4..255
        assertThat(m.dirtyWrites("x")).singleElement().satisfies(w -> {
            assertThat(w.offset()).isEqualTo(2L * CS + 8);
            assertThat(w.length()).isEqualTo(2 * 252);
        });
        assertThat(m.dirtyWrites("again")).isEmpty();
        assertThat(m.lastUsedCluster()).isEqualTo(304);
    }

    /**
     * qemu's alloc_clusters_noref: the scan goes on from where the last allocation ended (a hole
     * a bigger allocation skipped stays behind it) and drops back to a cluster freed; new
     * refcount blocks are placed after the allocation that needs them, in range order.
     */
    @Test
    void qemuModeScansFromFreeClusterIndex() throws ResizeError {
        Qcow2Geometry g = new Qcow2Geometry(9, 4, false);
        RefcountModel m = RefcountModel.load(g, new PlanReader(image()), CS, 1);
        m.qemuMode(true);
        assertThat(m.allocate(1, false)).isEqualTo(4L * CS);
        m.allocate(1, false); // 5
        m.add(4, -1); // a hole of one at 4: the index drops to it
        assertThat(m.allocate(2, false)).isEqualTo(6L * CS); // skips the hole, moves past 7
        assertThat(m.allocate(1, false)).isEqualTo(8L * CS); // not back to 4
        m.add(5, -1);
        assertThat(m.allocate(1, false)).isEqualTo(5L * CS); // a free drops the index to it (4 stays behind)
        // 300 clusters from 9 reach block 1 (256..511): qemu puts it right after them
        assertThat(m.allocate(300, false)).isEqualTo(9L * CS);
        assertThat(m.newBlockLinks()).containsExactly(new RefcountModel.BlockLink(1, 309L * CS));
    }

    @Test
    void allocateFromPlacesPastTheFloorAndLeavesTheScanAlone() throws ResizeError {
        Qcow2Geometry g = new Qcow2Geometry(9, 4, false);
        RefcountModel m = RefcountModel.load(g, new PlanReader(image()), CS, 1);
        m.qemuMode(true);
        assertThat(m.allocateFrom(100, 3)).isEqualTo(100L * CS);
        assertThat(m.allocate(1, false)).isEqualTo(4L * CS);
        // a temporary structure in block 1's range gets block 1 past the floor too
        assertThat(m.allocateFrom(256, 2)).isEqualTo(256L * CS);
        assertThat(m.blockOffset(1)).isEqualTo(258L * CS);
        // one whose new block's range starts below the floor is one qemu's store might need
        RefcountModel fresh = RefcountModel.load(g, new PlanReader(image()), CS, 1);
        assertThatThrownBy(() -> fresh.allocateFrom(300, 1)).isInstanceOf(RefcountModel.NotExact.class);
    }

    @Test
    void aRefcountAreaPlacesItsBlocksAndCountsItsDataWithoutMovingTheScan() throws ResizeError {
        Qcow2Geometry g = new Qcow2Geometry(9, 4, false);
        RefcountModel m = RefcountModel.load(g, new PlanReader(image()), CS, 1);
        m.qemuMode(true);
        m.placeBlockAt(1, 4L * CS); // as qcow2_refcount_area: the new block at the start of the area
        assertThatThrownBy(() -> m.placeBlockAt(1, 5L * CS)).isInstanceOf(RefcountModel.NotExact.class);
        m.add(4, 1);
        m.allocateAt(300, 10); // block 1's range, counted there
        assertThat(m.get(300)).isEqualTo(1);
        assertThat(m.get(309)).isEqualTo(1);
        assertThat(m.blockOffset(1)).isEqualTo(4L * CS);
        assertThat(m.allocate(1, false)).isEqualTo(5L * CS); // qemu's scan where it was
        assertThatThrownBy(() -> m.allocateAt(305, 1)).isInstanceOf(RefcountModel.NotExact.class); // in use
        assertThatThrownBy(() -> m.allocateAt(600, 1)).isInstanceOf(RefcountModel.NotExact.class); // no block
    }

    @Test
    void tableGrowsWhenBlocksPassItsEnd() throws ResizeError {
        Qcow2Geometry g = new Qcow2Geometry(9, 4, false);
        RefcountModel m = RefcountModel.load(g, new PlanReader(image()), CS, 1);
        m.allocate(64L * 256, true); // past the 64 blocks one table cluster indexes
        assertThat(m.tableTooSmall()).isTrue();
        assertThat(m.highestBlock()).isGreaterThanOrEqualTo(64);
        byte[] table = m.tableBytes(2);
        assertThat(ByteBuffer.wrap(table).getLong(0)).isEqualTo(2L * CS);
        assertThat(ByteBuffer.wrap(table).getLong(64 * 8)).isNotZero();
    }

    @Test
    void newBlocksAreLinkedAfterTheBlockThatCountsThem() throws ResizeError {
        Qcow2Geometry g = new Qcow2Geometry(9, 4, false);
        RefcountModel m = RefcountModel.load(g, new PlanReader(image()), CS, 1);
        m.allocate(20L * 256, true);
        java.util.List<RefcountModel.BlockLink> links = m.newBlockLinks();
        assertThat(links).hasSizeGreaterThan(10);
        java.util.Set<Long> linked = new java.util.HashSet<>(java.util.List.of(0L));
        for (RefcountModel.BlockLink l : links) {
            long counter = (l.offset() / CS) / 256;
            assertThat(counter == l.block() || linked.contains(counter)).as("block %d counted by %d", l.block(),
                    counter).isTrue();
            linked.add((long) l.block());
        }
    }

    @Test
    void decrementsNeverGoBelowZeroAndPhasesWriteSeparately() throws ResizeError {
        Qcow2Geometry g = new Qcow2Geometry(9, 4, false);
        RefcountModel m = RefcountModel.load(g, new PlanReader(image()), CS, 1);
        m.add(3, 1);
        assertThat(m.dirtyWrites("inc")).hasSize(1);
        m.add(3, -1);
        m.add(3, -1);
        assertThat(m.get(3)).isZero();
        assertThat(m.dirtyWrites("dec")).singleElement().satisfies(w -> assertThat(w.offset()).isEqualTo(2L * CS + 6));
        assertThatThrownBy(() -> m.add(3, -1)).isInstanceOf(ResizeError.class).hasMessageContaining("too small");
        assertThat(m.unusedBlock(0)).isFalse();
    }

    @Test
    void oneBitRefcountsOverflowAtOne() throws ResizeError {
        ByteBuffer b = ByteBuffer.allocate(4 * CS);
        b.putLong(CS, 2L * CS);
        b.put(2 * CS, (byte) 0x0f); // clusters 0..3 in use, LSB first
        Qcow2Geometry g = new Qcow2Geometry(9, 0, false);
        RefcountModel m = RefcountModel.load(g, new PlanReader(new ByteArrayImageReader(b.array())), CS, 1);
        assertThat(m.get(3)).isEqualTo(1);
        assertThat(m.get(4)).isZero();
        assertThat(m.allocate(1, false)).isEqualTo(4L * CS);
        assertThatThrownBy(() -> m.add(4, 1)).isInstanceOf(ResizeError.class).hasMessageContaining("exceed 1");
    }

    /** Placing many new refcount blocks once overflowed the stack (one nested call per block). */
    @org.junit.jupiter.api.Test
    void aGrowNeedingThousandsOfRefcountBlocksPlansWithoutDeepRecursion(
            @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path file = dir.resolve("small-clusters.qcow2");
        new org.diskplan.probe.qcow2.Qcow2SampleWriter().write(file, 64L << 20,
                java.util.Map.of("cluster_size", "512"));
        org.diskplan.planner.ResizePlan plan = org.diskplan.planner.ResizeSession.planFile(file,
                java.util.Optional.empty(), p -> new org.diskplan.planner.ResizeRequest(4L << 30, false,
                        org.diskplan.abi.Preallocation.METADATA));
        assertThat(plan.newVirtualSize()).isEqualTo(4L << 30);
        assertThat(plan.patches()).hasSizeGreaterThan(1000);
    }

    @Test
    void metadataOfTwoKindsSharingAClusterIsRefusedNamingTheFieldThatPlacedIt() throws ResizeError {
        Qcow2Geometry g = new Qcow2Geometry(9, 4, false);
        RefcountModel m = RefcountModel.load(g, new PlanReader(image()), CS, 1);
        m.protect(0, CS, "qcow2 header");
        m.protectOwn();
        m.protect(CS, 8, "active L1 table", "L1 table", "l1_table_offset", 40); // on the refcount table
        assertThatThrownBy(() -> m.checkOverlaps("x.qcow2")).isInstanceOfSatisfying(ResizeError.class, e -> {
            assertThat(e.getMessage()).contains("active L1 table (l1_table_offset at offset 40) overlaps the "
                    + "refcount table at host offset 512");
            assertThat(e.location().orElseThrow().kind()).isEqualTo(ResizeError.Kind.CORRUPT);
            assertThat(e.location().orElseThrow().field()).isEqualTo("l1_table_offset");
            assertThat(e.location().orElseThrow().offset()).isEqualTo(40);
        });
    }

    @Test
    void disjointMetadataPassesAndDataClustersAreLookedUp() throws ResizeError {
        Qcow2Geometry g = new Qcow2Geometry(9, 4, false);
        RefcountModel m = RefcountModel.load(g, new PlanReader(image()), CS, 1);
        m.protect(0, CS, "qcow2 header");
        m.protectOwn();
        m.protect(3L * CS, 8, "active L1 table", "L1 table", "l1_table_offset", 40);
        m.protect(5L * CS, CS, "L2 table", "L2 table", "L1 entry 0", 3L * CS);
        m.protect(5L * CS, CS, "L2 table", "L2 table", "L1 entry 1", 3L * CS + 8); // same kind: not an overlap
        m.checkOverlaps("x.qcow2");
        assertThat(m.metadataIn(1, 2)).isEqualTo("refcount table");
        assertThat(m.metadataIn(2, 3)).isEqualTo("refcount block 0");
        assertThat(m.metadataIn(3, 4)).isEqualTo("active L1 table");
        assertThat(m.metadataIn(4, 5)).isNull();
        assertThat(m.metadataIn(5, 6)).isEqualTo("L2 table");
        assertThat(m.metadataIn(6, 100)).isNull();
        assertThat(m.metadataIn(4, 6)).isEqualTo("L2 table");
    }
}
