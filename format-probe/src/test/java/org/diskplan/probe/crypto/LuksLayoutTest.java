package org.diskplan.probe.crypto;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** LUKS1 header arithmetic against the LUKS1 on-disk format specification and what qemu-img 7.2 writes. */
class LuksLayoutTest {

    @Test
    void offsetsAreTheSpecs() {
        assertThat(LuksLayout.OFF_PAYLOAD_OFFSET).isEqualTo(104);
        assertThat(LuksLayout.OFF_UUID).isEqualTo(168);
        assertThat(LuksLayout.keySlotOffset(0)).isEqualTo(208);
        assertThat(LuksLayout.keySlotOffset(7) + LuksLayout.KEY_SLOT_SIZE).isEqualTo(LuksLayout.PHDR_SIZE);
        assertThat(LuksLayout.OFF_UUID + LuksLayout.UUID_SIZE).isEqualTo(LuksLayout.OFF_KEY_SLOTS);
    }

    /**
     * qemu-img create -f luks (aes-256-xts: 64 key bytes, 4000 stripes) puts the key material of
     * slots 0, 1, 2 at sectors 8, 512, 1016 and the payload at sector 4040: 504 sectors a slot.
     */
    @Test
    void keyMaterialAsQemuLaysItOut() {
        long bytes = LuksLayout.keyMaterialBytes(64, LuksLayout.STRIPES);
        assertThat(bytes).isEqualTo(256000); // 500 sectors
        long reserved = LuksLayout.reservedKeyMaterialSectors(bytes);
        assertThat(reserved).isEqualTo(504); // whole 4 KiB units
        assertThat(LuksLayout.HEADER_SECTORS + reserved).isEqualTo(512);
        assertThat(LuksLayout.HEADER_SECTORS + LuksLayout.KEY_SLOTS * reserved).isEqualTo(4040);
        assertThat(LuksLayout.keyMaterialBytes(32, LuksLayout.STRIPES)).isEqualTo(128000);
        assertThat(LuksLayout.reservedKeyMaterialSectors(128000)).isEqualTo(256); // 250 sectors → 256
        assertThat(LuksLayout.keyMaterialBytes(1, 1)).isEqualTo(512);
    }
}
