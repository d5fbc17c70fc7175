package org.diskplan.planner.qcow2;

import static org.assertj.core.api.Assertions.assertThat;

import org.diskplan.probe.qcow2.Qcow2Header;
import org.junit.jupiter.api.Test;

/**
 * The planner's geometry record against hand-computed values: L1/refcount geometry and compressed-entry
 * decoding (refcount packing is tested with Qcow2Layout in format-probe).
 */
class Qcow2ArithmeticTest {

    @Test
    void l1AndRefcountGeometry() {
        Qcow2Geometry g512 = new Qcow2Geometry(9, 4, false);
        assertThat(g512.l2Entries()).isEqualTo(64);
        assertThat(g512.l2Span()).isEqualTo(32 * 1024);
        assertThat(g512.l1EntriesFor(64L << 30)).isEqualTo(2L << 20); // 64 GiB: 2 Mi entries, 16 MiB of L1
        assertThat(g512.l1EntriesFor(128L << 30) * 8).isEqualTo(Qcow2Geometry.MAX_L1_BYTES); // the L1 limit
        assertThat(g512.l1EntriesFor((128L << 30) + 512) * 8).isGreaterThan(Qcow2Geometry.MAX_L1_BYTES);
        assertThat(g512.refblockEntries()).isEqualTo(256);
        assertThat(g512.refblocksFor(257)).isEqualTo(2);

        Qcow2Geometry g64k = new Qcow2Geometry(16, 4, false);
        assertThat(g64k.l1EntriesFor(1L << 30)).isEqualTo(2);
        assertThat(g64k.l1EntriesFor((1L << 30) + 512)).isEqualTo(3);
        assertThat(g64k.l1EntriesFor(64L << 40)).isEqualTo(131072); // 64 TiB: 1 MiB of L1
        assertThat(new Qcow2Geometry(16, 0, false).refblockEntries()).isEqualTo(524288);
        assertThat(new Qcow2Geometry(16, 6, false).refblockEntries()).isEqualTo(8192);

        Qcow2Geometry ext = new Qcow2Geometry(16, 4, true);
        assertThat(ext.l2EntrySize()).isEqualTo(16);
        assertThat(ext.l2Entries()).isEqualTo(4096);
        assertThat(ext.l1EntriesFor(1L << 30)).isEqualTo(4);
    }

    @Test
    void compressedEntriesSpanEveryHostClusterTheyTouch() {
        Qcow2Geometry g = new Qcow2Geometry(16, 4, false);
        assertThat(g.csizeShift()).isEqualTo(54);
        // data at 0x1fe10 (inside cluster 1), 3 sectors (2 additional): runs to 0x1fe00 + 1536 = 0x20400
        long entry = Qcow2Header.OFLAG_COMPRESSED | (2L << 54) | 0x1fe10L;
        assertThat(g.compressedOffset(entry)).isEqualTo(0x1fe10L);
        assertThat(g.compressedSectors(entry)).isEqualTo(3);
        assertThat(g.compressedFirstCluster(entry)).isEqualTo(1);
        assertThat(g.compressedLastCluster(entry)).isEqualTo(2);
        // one sector that ends exactly at a cluster boundary stays in its cluster
        long exact = Qcow2Header.OFLAG_COMPRESSED | 0x1fe00L;
        assertThat(g.compressedLastCluster(exact)).isEqualTo(1);

        Qcow2Geometry g512 = new Qcow2Geometry(9, 4, false);
        assertThat(g512.csizeShift()).isEqualTo(61);
        long small = Qcow2Header.OFLAG_COMPRESSED | (1L << 61) | 0x400L; // 2 sectors at 0x400
        assertThat(g512.compressedSectors(small)).isEqualTo(2);
        assertThat(g512.compressedFirstCluster(small)).isEqualTo(2);
        assertThat(g512.compressedLastCluster(small)).isEqualTo(3);
    }
}
