package org.diskplan.probe.qcow2;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** qcow2 layout arithmetic against values worked out from docs/interop/qcow2.txt and block/qcow2.h. */
class Qcow2LayoutTest {

    @Test
    void headerOffsetsAreTheSpecs() {
        assertThat(Qcow2Layout.OFF_SIZE).isEqualTo(24);
        assertThat(Qcow2Layout.OFF_L1_SIZE).isEqualTo(36);
        assertThat(Qcow2Layout.OFF_L1_TABLE_OFFSET).isEqualTo(40);
        assertThat(Qcow2Layout.OFF_REFCOUNT_TABLE_OFFSET).isEqualTo(48);
        assertThat(Qcow2Layout.OFF_REFCOUNT_TABLE_CLUSTERS).isEqualTo(56);
        assertThat(Qcow2Layout.OFF_REFCOUNT_ORDER).isEqualTo(96);
        assertThat(Qcow2Layout.OFF_HEADER_LENGTH).isEqualTo(100);
        assertThat(Qcow2Layout.MAGIC).isEqualTo(('Q' << 24) | ('F' << 16) | ('I' << 8) | 0xfb);
        assertThat(Qcow2Header.OFF_SIZE).isEqualTo(Qcow2Layout.OFF_SIZE);
    }

    @Test
    void l1EntriesAsQemuSizeToL1() {
        // 512-byte clusters: 64 entries per L2 table, 32 KiB per table
        assertThat(Qcow2Layout.l2Entries(9, false)).isEqualTo(64);
        assertThat(Qcow2Layout.l2Span(9, false)).isEqualTo(32 * 1024);
        assertThat(Qcow2Layout.l1EntriesFor(64L << 30, 9, false)).isEqualTo(2L << 20);
        assertThat(Qcow2Layout.l1EntriesFor(128L << 30, 9, false) * 8).isEqualTo(Qcow2Layout.MAX_L1_BYTES);
        assertThat(Qcow2Layout.l1EntriesFor((128L << 30) + 512, 9, false) * 8).isGreaterThan(Qcow2Layout.MAX_L1_BYTES);
        // 64 KiB clusters: 512 MiB per L2 table
        assertThat(Qcow2Layout.l1EntriesFor(0, 16, false)).isZero();
        assertThat(Qcow2Layout.l1EntriesFor(1L << 30, 16, false)).isEqualTo(2);
        assertThat(Qcow2Layout.l1EntriesFor((1L << 30) + 512, 16, false)).isEqualTo(3);
        assertThat(Qcow2Layout.l1EntriesFor(64L << 40, 16, false)).isEqualTo(131072);
        // extended L2: 16-byte entries, half the span
        assertThat(Qcow2Layout.l2EntrySize(true)).isEqualTo(16);
        assertThat(Qcow2Layout.l2Entries(16, true)).isEqualTo(4096);
        assertThat(Qcow2Layout.l1EntriesFor(1L << 30, 16, true)).isEqualTo(4);
        // the largest image qemu makes with 2 MiB clusters fits in far less than the L1 limit
        assertThat(Qcow2Layout.l1EntriesFor(Long.MAX_VALUE, 21, false)).isEqualTo((1L << 24));
    }

    @Test
    void refcountBlocksAndTables() {
        assertThat(Qcow2Layout.refblockEntries(16, 4)).isEqualTo(32768); // 64 KiB of 16-bit entries
        assertThat(Qcow2Layout.refblockEntries(16, 0)).isEqualTo(524288);
        assertThat(Qcow2Layout.refblockEntries(16, 6)).isEqualTo(8192);
        assertThat(Qcow2Layout.refblockEntries(9, 4)).isEqualTo(256);
        assertThat(Qcow2Layout.refblockBits(16, 4)).isEqualTo(15);
        assertThat(Qcow2Layout.refblocksFor(1, 16, 4)).isEqualTo(1);
        assertThat(Qcow2Layout.refblocksFor(32768, 16, 4)).isEqualTo(1);
        assertThat(Qcow2Layout.refblocksFor(32769, 16, 4)).isEqualTo(2);
        assertThat(Qcow2Layout.tableClusters(8192, 16)).isEqualTo(1); // 8192 entries × 8 = 64 KiB
        assertThat(Qcow2Layout.tableClusters(8193, 16)).isEqualTo(2);
        assertThat(Qcow2Layout.clustersFor(0, 9)).isZero();
        assertThat(Qcow2Layout.clustersFor(513, 9)).isEqualTo(2);
    }

    /** Entry 1 set to 1, for every width: where qemu's get_refcount_ro0..6 read it. */
    @Test
    void refcountEntryOneForEveryWidth() {
        int[][] expected = {
            {0, 0x02}, // 1 bit: bit 1 of byte 0
            {0, 0x04}, // 2 bits: bits 2-3
            {0, 0x10}, // 4 bits: bits 4-7
            {1, 0x01}, // 8 bits: byte 1
            {3, 0x01}, // 16 bits: bytes 2-3, big-endian
            {7, 0x01}, // 32 bits: bytes 4-7
            {15, 0x01}, // 64 bits: bytes 8-15
        };
        for (int order = 0; order <= 6; order++) {
            byte[] b = new byte[16];
            Qcow2Layout.setRefcount(b, 1, order, 1);
            byte[] want = new byte[16];
            want[expected[order][0]] = (byte) expected[order][1];
            assertThat(b).as("order %d", order).containsExactly(want);
            assertThat(Qcow2Layout.refcount(b, 1, order)).isEqualTo(1);
            assertThat(Qcow2Layout.refcount(b, 0, order)).isZero();
            assertThat(Qcow2Layout.refcountByte(1, order)).isEqualTo(order < 3 ? 0 : 1 << (order - 3));
        }
    }

    @Test
    void subByteRefcountsArePackedLeastSignificantBitsFirst() {
        byte[] b = new byte[4];
        Qcow2Layout.setRefcount(b, 0, 0, 1);
        Qcow2Layout.setRefcount(b, 7, 0, 1);
        assertThat(b[0]).isEqualTo((byte) 0x81);
        Qcow2Layout.setRefcount(b, 0, 0, 0);
        assertThat(b[0]).isEqualTo((byte) 0x80);

        byte[] two = new byte[2];
        Qcow2Layout.setRefcount(two, 1, 1, 3);
        Qcow2Layout.setRefcount(two, 2, 1, 1);
        assertThat(two[0]).isEqualTo((byte) 0x1c); // entry 1 = bits 2-3, entry 2 = bits 4-5

        byte[] four = new byte[2];
        Qcow2Layout.setRefcount(four, 0, 2, 0x3);
        Qcow2Layout.setRefcount(four, 1, 2, 0xa);
        Qcow2Layout.setRefcount(four, 3, 2, 0xf);
        assertThat(four).containsExactly((byte) 0xa3, (byte) 0xf0);
        assertThat(Qcow2Layout.refcount(four, 1, 2)).isEqualTo(0xa);
        assertThat(Qcow2Layout.refcount(four, 2, 2)).isZero();
        assertThat(Qcow2Layout.subByteMask(1, 2)).isEqualTo(0xf0);
        assertThat(Qcow2Layout.subByteMask(5, 1)).isEqualTo(0x0c);
        assertThat(Qcow2Layout.subByteMask(5, 3)).isEqualTo(0xff);
    }

    @Test
    void wideRefcountsAreBigEndian() {
        byte[] b = new byte[16];
        Qcow2Layout.setRefcount(b, 1, 4, 0x1234);
        assertThat(b[2]).isEqualTo((byte) 0x12);
        assertThat(b[3]).isEqualTo((byte) 0x34);
        Qcow2Layout.setRefcount(b, 1, 5, 0x89abcdefL);
        assertThat(Qcow2Layout.refcount(b, 1, 5)).isEqualTo(0x89abcdefL);
        assertThat(b[4]).isEqualTo((byte) 0x89);
        Qcow2Layout.setRefcount(b, 1, 6, 0x0102030405060708L);
        assertThat(b[8]).isEqualTo((byte) 1);
        assertThat(b[15]).isEqualTo((byte) 8);
        assertThat(Qcow2Layout.maxRefcount(0)).isEqualTo(1);
        assertThat(Qcow2Layout.maxRefcount(4)).isEqualTo(0xffff);
        assertThat(Qcow2Layout.maxRefcount(6)).isEqualTo(-1L);
        assertThat(Qcow2Layout.refcountByteSpan(2)).isEqualTo(1);
        assertThat(Qcow2Layout.refcountByteSpan(6)).isEqualTo(8);
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 2, 3, 4, 5, 6})
    void everyWidthRoundTripsWithoutDisturbingNeighbours(int order) {
        int entries = 64;
        byte[] b = new byte[entries * 8];
        long max = Qcow2Layout.maxRefcount(order);
        for (int i = 0; i < entries; i++) {
            Qcow2Layout.setRefcount(b, i, order, (i * 7L + 1) & max);
        }
        for (int i = 0; i < entries; i++) {
            assertThat(Qcow2Layout.refcount(b, i, order)).as("entry %d at order %d", i, order)
                    .isEqualTo((i * 7L + 1) & max);
        }
    }

    @Test
    void compressedEntriesSpanEveryHostClusterTheyTouch() {
        assertThat(Qcow2Layout.csizeShift(16)).isEqualTo(54);
        // data at 0x1fe10 (inside cluster 1), 3 sectors (2 additional): runs to 0x1fe00 + 1536 = 0x20400
        long entry = Qcow2Layout.OFLAG_COMPRESSED | (2L << 54) | 0x1fe10L;
        assertThat(Qcow2Layout.compressedOffset(entry, 16)).isEqualTo(0x1fe10L);
        assertThat(Qcow2Layout.compressedSectors(entry, 16)).isEqualTo(3);
        assertThat(Qcow2Layout.compressedEnd(entry, 16)).isEqualTo(0x20400L);
        assertThat(Qcow2Layout.compressedFirstCluster(entry, 16)).isEqualTo(1);
        assertThat(Qcow2Layout.compressedLastCluster(entry, 16)).isEqualTo(2);
        // the COPIED bit never leaks into the size field
        assertThat(Qcow2Layout.compressedSectors(entry | Qcow2Layout.OFLAG_COPIED, 16)).isEqualTo(3);
        // one sector that ends exactly at a cluster boundary stays in its cluster
        assertThat(Qcow2Layout.compressedLastCluster(Qcow2Layout.OFLAG_COMPRESSED | 0x1fe00L, 16)).isEqualTo(1);

        assertThat(Qcow2Layout.csizeShift(9)).isEqualTo(61);
        long small = Qcow2Layout.OFLAG_COMPRESSED | (1L << 61) | 0x400L; // 2 sectors at 0x400
        assertThat(Qcow2Layout.compressedSectors(small, 9)).isEqualTo(2);
        assertThat(Qcow2Layout.compressedFirstCluster(small, 9)).isEqualTo(2);
        assertThat(Qcow2Layout.compressedLastCluster(small, 9)).isEqualTo(3);
    }

    @Test
    void featureNamesAreQemus() {
        assertThat(Qcow2Layout.FEATURES).hasSize(8);
        assertThat(Qcow2Layout.FEATURES.get(4)).isEqualTo(new Qcow2Layout.Feature(0, 4, "extended L2 entries"));
        assertThat(Qcow2Layout.FEATURES).allMatch(f -> f.name().length() <= Qcow2Layout.FEATURE_NAME_SIZE);
        assertThat(Qcow2Layout.KNOWN_INCOMPATIBLE).isEqualTo(0x1f);
    }
}
