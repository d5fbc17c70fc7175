package org.diskplan.probe.luks;

import java.util.List;
import org.diskplan.probe.FormatHeader;

/**
 * A LUKS1 partition header (big-endian, 592 bytes at offset 0).
 *
 * @param version            offset 6: 1
 * @param cipherName         offset 8, e.g. "aes"
 * @param cipherMode         offset 40, e.g. "xts-plain64"
 * @param hashSpec           offset 72, e.g. "sha256"
 * @param payloadOffset      offset 104: first sector of the encrypted data (512-byte sectors)
 * @param keyBytes           offset 108: master key length in bytes
 * @param uuid               offset 168
 * @param keySlots           the eight key slots at offset 208, 48 bytes each
 */
public record LuksHeader(int version, String cipherName, String cipherMode, String hashSpec, long payloadOffset,
                         long keyBytes, String uuid, List<KeySlot> keySlots) implements FormatHeader {
    public LuksHeader {
        keySlots = List.copyOf(keySlots);
    }

    /** Byte offset of the encrypted payload. */
    public long payloadOffsetBytes() {
        return payloadOffset * LuksProbe.SECTOR;
    }

    /**
     * One key slot.
     *
     * @param active             0x00AC71F3 enabled, 0x0000DEAD disabled
     * @param iterations         PBKDF2 iterations
     * @param keyMaterialOffset  first sector of the anti-forensic key material
     * @param stripes            anti-forensic stripes (4000)
     */
    public record KeySlot(long active, long iterations, long keyMaterialOffset, long stripes) {
        public boolean enabled() {
            return active == LuksProbe.KEY_ENABLED;
        }
    }
}
