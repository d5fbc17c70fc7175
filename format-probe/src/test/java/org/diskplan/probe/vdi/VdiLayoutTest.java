package org.diskplan.probe.vdi;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** VDI 1.1 arithmetic against VDICore.h and what qemu-img 7.2 create -f vdi writes. */
class VdiLayoutTest {

    @Test
    void headerOffsetsAreVirtualBoxs() {
        assertThat(VdiLayout.OFF_SIGNATURE).isEqualTo(64);
        assertThat(VdiLayout.OFF_BLOCKS).isEqualTo(340);
        assertThat(VdiLayout.OFF_DATA).isEqualTo(344);
        assertThat(VdiLayout.OFF_DISK_SIZE).isEqualTo(368);
        assertThat(VdiLayout.OFF_BLOCK_SIZE).isEqualTo(376);
        assertThat(VdiLayout.OFF_BLOCK_COUNT).isEqualTo(384);
        assertThat(VdiLayout.OFF_UUID_CREATE).isEqualTo(392);
        // the header after the 72-byte pre-header: 384 bytes as qemu writes it, 400 with LCHS geometry
        assertThat(VdiLayout.PRE_HEADER_SIZE + VdiLayout.HEADER_SIZE_QEMU).isEqualTo(VdiLayout.OFF_LCHS_CYLINDERS);
        assertThat(VdiLayout.PRE_HEADER_SIZE + VdiLayout.HEADER_SIZE_1PLUS).isEqualTo(VdiLayout.OFF_HEADER_END_1PLUS);
    }

    /** qemu-img create -f vdi: the map at 512, offData after it in whole sectors (1M: 1024, 3000M: 12800). */
    @Test
    void blockMapAndDataOffsets() {
        long mib = VdiLayout.QEMU_BLOCK_SIZE;
        assertThat(VdiLayout.blocksFor(1L << 20, mib)).isEqualTo(1);
        assertThat(VdiLayout.blocksFor((1L << 20) + 512, mib)).isEqualTo(2);
        assertThat(VdiLayout.blocksFor(3000L << 20, mib)).isEqualTo(3000);
        assertThat(VdiLayout.mapBytes(3000)).isEqualTo(12000);
        assertThat(VdiLayout.dataOffsetAfterMap(VdiLayout.QEMU_MAP_OFFSET, 1)).isEqualTo(1024);
        assertThat(VdiLayout.dataOffsetAfterMap(VdiLayout.QEMU_MAP_OFFSET, 3000)).isEqualTo(12800);
        // a static 100 MiB image ends after its last block: 1024 + 100 MiB
        assertThat(VdiLayout.blockOffset(1024, 100, mib)).isEqualTo(104858624L);
        assertThat(VdiLayout.blockOffset(12800, 0, mib + 512)).isEqualTo(12800);
        assertThat(VdiLayout.blockOffset(12800, 2, mib + 512)).isEqualTo(12800 + 2 * (mib + 512));
    }

    @Test
    void diskSizesRoundUpToSectorsUnsigned() {
        assertThat(VdiLayout.roundUpToSector(0)).isZero();
        assertThat(VdiLayout.roundUpToSector(1)).isEqualTo(512);
        assertThat(VdiLayout.roundUpToSector(1024)).isEqualTo(1024);
        assertThat(VdiLayout.roundUpToSector(Long.MAX_VALUE)).isEqualTo(Long.MIN_VALUE); // 2^63, unsigned
        assertThat(VdiLayout.MAX_BLOCKS).isEqualTo(0x3fffffffL);
    }
}
