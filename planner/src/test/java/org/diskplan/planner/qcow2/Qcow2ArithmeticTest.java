package org.diskplan.planner.qcow2;

import static org.assertj.core.api.Assertions.assertThat;

import org.diskplan.probe.qcow2.Qcow2Header;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Refcount packing, L1/refcount geometry and compressed-entry decoding, against hand-computed values. */
class Qcow2ArithmeticTest {

    @Test
    void subByteRefcountsArePackedLeastSignificantBitsFirst() {
        byte[] b = new byte[4];
        RefcountCodec.set(b, 0, 0, 1);
        RefcountCodec.set(b, 7, 0, 1);
        assertThat(b[0]).isEqualTo((byte) 0x81);
        RefcountCodec.set(b, 0, 0, 0);
        assertThat(b[0]).isEqualTo((byte) 0x80);

        byte[] two = new byte[2];
        RefcountCodec.set(two, 1, 1, 3);
        RefcountCodec.set(two, 2, 1, 1);
        assertThat(two[0]).isEqualTo((byte) 0x1c); // entry 1 = bits 2-3, entry 2 = bits 4-5

        byte[] four = new byte[2];
        RefcountCodec.set(four, 0, 2, 0x3);
        RefcountCodec.set(four, 1, 2, 0xa);
        RefcountCodec.set(four, 3, 2, 0xf);
        assertThat(four).containsExactly((byte) 0xa3, (byte) 0xf0);
        assertThat(RefcountCodec.get(four, 1, 2)).isEqualTo(0xa);
        assertThat(RefcountCodec.get(four, 2, 2)).isZero();
    }

    @Test
    void wideRefcountsAreBigEndian() {
        byte[] b = new byte[16];
        RefcountCodec.set(b, 1, 4, 0x1234);
        assertThat(b[2]).isEqualTo((byte) 0x12);
        assertThat(b[3]).isEqualTo((byte) 0x34);
        RefcountCodec.set(b, 1, 5, 0x89abcdefL);
        assertThat(RefcountCodec.get(b, 1, 5)).isEqualTo(0x89abcdefL);
        assertThat(b[4]).isEqualTo((byte) 0x89);
        RefcountCodec.set(b, 1, 6, 0x0102030405060708L);
        assertThat(b[8]).isEqualTo((byte) 1);
        assertThat(b[15]).isEqualTo((byte) 8);
        assertThat(RefcountCodec.max(0)).isEqualTo(1);
        assertThat(RefcountCodec.max(4)).isEqualTo(0xffff);
        assertThat(RefcountCodec.max(6)).isEqualTo(-1L);
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 2, 3, 4, 5, 6})
    void everyWidthRoundTripsWithoutDisturbingNeighbours(int order) {
        int entries = 64;
        byte[] b = new byte[entries * 8];
        long max = RefcountCodec.max(order);
        for (int i = 0; i < entries; i++) {
            RefcountCodec.set(b, i, order, (i * 7L + 1) & max);
        }
        for (int i = 0; i < entries; i++) {
            assertThat(RefcountCodec.get(b, i, order)).as("entry %d at order %d", i, order).isEqualTo((i * 7L + 1) & max);
        }
    }

    @Test
    void l1AndRefcountGeometry() {
        Qcow2Geometry g512 = new Qcow2Geometry(9, 4, false);
        assertThat(g512.l2Entries()).isEqualTo(64);
        assertThat(g512.l2Span()).isEqualTo(32 * 1024);
        assertThat(g512.l1EntriesFor(64L << 30)).isEqualTo(2L << 20); // 64 GiB: 2 Mi entries, 16 MiB of L1
        assertThat(g512.l1EntriesFor(128L << 30) * 8).isEqualTo(Qcow2Geometry.MAX_L1_BYTES); // the L1 limit
        assertThat(g512.l1EntriesFor((128L << 30) + 512) * 8).isGreaterThan(Qcow2Geometry.MAX_L1_BYTES);
        assertThat(g512.refblockEntries()).isEqualTo(256);

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
