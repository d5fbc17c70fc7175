package org.diskplan.probe.crypto;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.diskplan.probe.FormatHeader;
import org.diskplan.probe.QemuNames;

/**
 * A LUKS1 partition header (big-endian, 592 bytes; {@link LuksLayout}): a LUKS image's, at
 * offset 0, or the one a LUKS-encrypted qcow2 image keeps in its clusters.
 *
 * @param version            offset 6: 1
 * @param cipherName         offset 8, e.g. "aes"
 * @param cipherMode         offset 40, e.g. "xts-plain64"
 * @param hashSpec           offset 72, e.g. "sha256"
 * @param payloadOffset      offset 104: first sector of the encrypted data (512-byte sectors)
 * @param keyBytes           offset 108: master key length in bytes
 * @param mkDigestIterations offset 164: PBKDF2 iterations of the master key digest
 * @param uuid               offset 168
 * @param keySlots           the eight key slots at offset 208, 48 bytes each
 */
public record LuksHeader(int version, String cipherName, String cipherMode, String hashSpec, long payloadOffset,
                         long keyBytes, long mkDigestIterations, String uuid, List<KeySlot> keySlots)
        implements FormatHeader {
    public LuksHeader {
        keySlots = List.copyOf(keySlots);
    }

    /**
     * What qemu-img info says of this header (its {@code QCryptoBlockInfoLUKS}): cipher
     * algorithm with key length, mode, IV generator, hash, UUID, slots, payload offset.
     */
    public Map<String, Object> qemuCryptoInfo() {
        Map<String, Object> m = new LinkedHashMap<>();
        String[] mode = cipherMode.split("-", 2);
        boolean xts = mode[0].equalsIgnoreCase("xts");
        m.put("cipher-alg", cipherName.toLowerCase(Locale.ROOT) + "-" + keyBytes * 8 / (xts ? 2 : 1));
        m.put("cipher-mode", mode[0].toLowerCase(Locale.ROOT));
        if (mode.length > 1) {
            String[] ivgen = mode[1].split(":", 2);
            m.put("ivgen-alg", ivgen[0].toLowerCase(Locale.ROOT));
            if (ivgen.length > 1) {
                m.put("ivgen-hash-alg", ivgen[1].toLowerCase(Locale.ROOT));
            }
        }
        m.put("hash-alg", hashSpec.toLowerCase(Locale.ROOT));
        m.put("uuid", uuid);
        List<Map<String, Object>> slots = new ArrayList<>();
        for (KeySlot k : keySlots) {
            Map<String, Object> slot = new LinkedHashMap<>();
            slot.put("active", k.enabled());
            if (k.enabled()) {
                slot.put("iters", k.iterations());
                slot.put("stripes", k.stripes());
            }
            slot.put("key-offset", k.keyMaterialOffset() * LuksLayout.SECTOR);
            slots.add(slot);
        }
        m.put("slots", slots);
        m.put("payload-offset", payloadOffsetBytes());
        m.put("master-key-iters", mkDigestIterations);
        return m;
    }

    @Override
    public Map<String, Object> qemuInfo(String filename) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("format-specific", QemuNames.formatSpecific("luks", qemuCryptoInfo()));
        m.put("encrypted", true);
        return m;
    }

    /** Byte offset of the encrypted payload. */
    public long payloadOffsetBytes() {
        return payloadOffset * LuksLayout.SECTOR;
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
            return active == LuksLayout.KEY_ENABLED;
        }
    }
}
