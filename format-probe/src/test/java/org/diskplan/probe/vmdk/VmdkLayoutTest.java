package org.diskplan.probe.vmdk;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** VMDK4 sparse extent arithmetic against what qemu-img 7.2 create -f vmdk writes. */
class VmdkLayoutTest {

    @Test
    void grainDirectoryEntries() {
        // 100 MiB = 204800 sectors; one grain table maps 512 grains of 128 sectors (32 MiB): 4 tables
        assertThat(VmdkLayout.gdEntries(204800, 128, 512)).isEqualTo(4);
        assertThat(VmdkLayout.gdEntries(10L << 21, 128, 512)).isEqualTo(320); // 10 GiB
        assertThat(VmdkLayout.gdEntries(65536, 128, 512)).isEqualTo(1);
        assertThat(VmdkLayout.gdEntries(65537, 128, 512)).isEqualTo(2);
        assertThat(VmdkLayout.gdEntries(0, 128, 512)).isZero();
        // the header's capacity is unsigned: 2^64 - 1 sectors need 2^48 tables
        assertThat(VmdkLayout.gdEntries(-1L, 128, 512)).isEqualTo(1L << 48);
        assertThat(VmdkLayout.grainTableBytes(512)).isEqualTo(2048);
    }

    /** qemu-img create -f vmdk 10G: rgdOffset 21, gdOffset 1304 (21 + 3 directory sectors + 320 × 4 table sectors). */
    @Test
    void directoriesAndTablesInSectors() {
        long tables = VmdkLayout.gdEntries(10L << 21, 128, 512);
        long gdSectors = VmdkLayout.sectorsFor(tables * VmdkLayout.ENTRY_SIZE);
        assertThat(gdSectors).isEqualTo(3);
        assertThat(21 + gdSectors + tables * VmdkLayout.sectorsFor(VmdkLayout.grainTableBytes(512))).isEqualTo(1304);
        assertThat(VmdkLayout.sectorsFor(512)).isEqualTo(1);
        assertThat(VmdkLayout.roundUpToSector(513)).isEqualTo(1024);
    }

    @Test
    void streamOptimizedFooterIsTheLastThreeSectorsOfTheRoundedFile() {
        assertThat(VmdkLayout.footerOffset(10240)).isEqualTo(10240 - 1536);
        assertThat(VmdkLayout.footerOffset(10000)).isEqualTo(10240 - 1536);
    }

    /** ddb.geometry.* of qemu-img create -f vmdk 10G with adapter_type ide (the default) and lsilogic. */
    @Test
    void ddbGeometry() {
        assertThat(VmdkLayout.ddbHeads("ide")).isEqualTo(16);
        assertThat(VmdkLayout.ddbHeads("lsilogic")).isEqualTo(255);
        assertThat(VmdkLayout.ddbCylinders(10L << 30, 16)).isEqualTo(20805);
        assertThat(VmdkLayout.ddbCylinders(10L << 30, 255)).isEqualTo(1305);
        assertThat(VmdkLayout.ddbCylinders(100L << 20, 16)).isEqualTo(203);
    }

    @Test
    void headerOffsetsAndFlagsAreTheSpecs() {
        assertThat(VmdkLayout.OFF_CAPACITY).isEqualTo(12);
        assertThat(VmdkLayout.OFF_GRAIN_SIZE).isEqualTo(20);
        assertThat(VmdkLayout.OFF_NUM_GTES_PER_GT).isEqualTo(44);
        assertThat(VmdkLayout.OFF_GD_OFFSET).isEqualTo(56);
        assertThat(VmdkLayout.OFF_COMPRESS_ALGORITHM).isEqualTo(77);
        assertThat(VmdkLayout.FLAG_COMPRESSED | VmdkLayout.FLAG_MARKERS).isEqualTo(0x30000);
    }
}
