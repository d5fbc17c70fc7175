package org.diskplan.probe.luks;

import static org.diskplan.probe.crypto.LuksLayout.*;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.diskplan.abi.ErrorCode;
import org.diskplan.abi.ImageFormat;
import org.diskplan.probe.FieldReader;
import org.diskplan.probe.FormatProbe;
import org.diskplan.probe.HeaderField;
import org.diskplan.probe.ImageReader;
import org.diskplan.probe.LayoutRegion;
import org.diskplan.probe.ProbeException;
import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.RegionKind;
import org.diskplan.probe.crypto.LuksHeader;

/**
 * LUKS1 (the format qemu's "luks" driver reads), big-endian. The guest sees the
 * file minus the header area: virtual size = file size - payload_offset × 512, as
 * qemu reports it.
 */
public final class LuksProbe implements FormatProbe {
    static final String GROUP = "LUKS header";
    // Offsets, key slots and key material arithmetic: LuksLayout (imported statically), shared with qcow2.
    /** Bound on key length × stripes so the key material size cannot overflow (real: 64 × 4000). */
    static final long MAX_KEY_BYTES = 1024;
    static final long MAX_STRIPES = 1 << 20;

    @Override
    public ImageFormat format() {
        return ImageFormat.LUKS;
    }

    static ProbeException fail(String field, long offset, String message) {
        return new ProbeException(ErrorCode.PARSE_FAILED, field, offset,
                GROUP + " field " + field + " at offset " + offset + ": " + message);
    }

    @Override
    public ProbedImage probe(Path path, ImageReader reader) throws ProbeException {
        try {
            return parse(path, reader);
        } catch (ArithmeticException | IndexOutOfBoundsException | IllegalArgumentException e) {
            // Defensive: every range is checked before use; a missed check becomes a typed error, not a crash.
            throw new ProbeException(ErrorCode.PARSE_FAILED, "luks", 0, "LUKS image is inconsistent: " + e.getMessage());
        }
    }

    private ProbedImage parse(Path path, ImageReader reader) throws ProbeException {
        long fileSize = reader.size();
        if (fileSize < PHDR_SIZE) {
            throw fail("header", 0, "the file is " + fileSize + " bytes, shorter than the " + PHDR_SIZE
                    + "-byte LUKS header");
        }
        byte[] h = reader.read(0, PHDR_SIZE, GROUP);
        List<HeaderField> fields = new ArrayList<>();
        FieldReader f = new FieldReader(GROUP, 0, h, ORDER, fields);
        f.bytes("magic", OFF_MAGIC, MAGIC_SIZE, "'LUKS\\xba\\xbe'", "identifies a LUKS partition header");
        long version = f.u16("version", OFF_VERSION, "header version (qemu reads version 1)");
        if (version != 1) {
            throw fail("version", OFF_VERSION, "unsupported LUKS version " + version
                    + " (qemu 7.2 reads LUKS version 1 only)");
        }
        String cipher = text(f.ascii("cipher_name", OFF_CIPHER_NAME, NAME_LEN, "cipher algorithm, e.g. aes"));
        String mode = text(f.ascii("cipher_mode", OFF_CIPHER_MODE, NAME_LEN, "cipher mode, e.g. xts-plain64"));
        String hash = text(f.ascii("hash_spec", OFF_HASH_SPEC, NAME_LEN, "hash used by PBKDF2 and the AF splitter"));
        long payload = f.u32("payload_offset", OFF_PAYLOAD_OFFSET, "first 512-byte sector of the encrypted data",
                v -> v + " sectors (" + v * SECTOR + " bytes)");
        long keyBytes = f.u32("key_bytes", OFF_KEY_BYTES, "master key length in bytes", FieldReader::decimal);
        f.bytes("mk_digest", OFF_MK_DIGEST, MK_DIGEST_SIZE, hex(h, OFF_MK_DIGEST, MK_DIGEST_SIZE),
                "PBKDF2 digest of the master key");
        f.bytes("mk_digest_salt", OFF_MK_DIGEST_SALT, SALT_SIZE, hex(h, OFF_MK_DIGEST_SALT, SALT_SIZE),
                "salt of that digest");
        long mkIter = f.u32("mk_digest_iter", OFF_MK_DIGEST_ITER, "PBKDF2 iterations of the digest", FieldReader::decimal);
        String uuid = text(f.ascii("uuid", OFF_UUID, UUID_SIZE, "UUID of the volume"));

        long payloadBytes = payload * SECTOR;
        if (payload < HEADER_SECTORS) {
            throw fail("payload_offset", OFF_PAYLOAD_OFFSET, payload + " sectors: LUKS payload is overlapping with"
                    + " the header (the key slot area starts at sector " + HEADER_SECTORS + ")");
        }
        if (payloadBytes > fileSize) {
            throw fail("payload_offset", OFF_PAYLOAD_OFFSET, payloadBytes + " bytes lies beyond the end of the file ("
                    + fileSize + " bytes)");
        }
        if (keyBytes == 0 || keyBytes > MAX_KEY_BYTES) {
            throw fail("key_bytes", OFF_KEY_BYTES, keyBytes + " bytes is not a plausible key length (1.."
                    + MAX_KEY_BYTES + ")");
        }

        List<LuksHeader.KeySlot> slots = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        long[][] slotSpans = new long[KEY_SLOTS][2];
        List<LayoutRegion> material = new ArrayList<>();
        int enabled = 0;
        for (int i = 0; i < KEY_SLOTS; i++) {
            int base = keySlotOffset(i);
            byte[] s = java.util.Arrays.copyOfRange(h, base, base + KEY_SLOT_SIZE);
            FieldReader k = new FieldReader("key slot " + i, base, s, ORDER, fields);
            long active = k.u32("active", KS_ACTIVE, "0x00AC71F3 enabled, 0x0000DEAD disabled",
                    v -> v == KEY_ENABLED ? "0x00ac71f3 (enabled)" : v == KEY_DISABLED ? "0x0000dead (disabled)"
                            : FieldReader.hex(v) + " (invalid)");
            long iter = k.u32("iterations", KS_ITERATIONS, "PBKDF2 iterations for this passphrase",
                    FieldReader::decimal);
            k.bytes("salt", KS_SALT, SALT_SIZE, hex(s, KS_SALT, SALT_SIZE), "PBKDF2 salt for this passphrase");
            long km = k.u32("key_material_offset", KS_KEY_MATERIAL_OFFSET, "first sector of the anti-forensic key "
                    + "material", v -> v + " sectors (" + v * SECTOR + " bytes)");
            long stripes = k.u32("stripes", KS_STRIPES, "anti-forensic stripes (4000)", FieldReader::decimal);
            slots.add(new LuksHeader.KeySlot(active, iter, km, stripes));
            if (active == KEY_ENABLED) {
                enabled++;
            }
            if (stripes > MAX_STRIPES) {
                throw new ProbeException(ErrorCode.PARSE_FAILED, "stripes", base + KS_STRIPES, "key slot " + i
                        + " field stripes at offset " + (base + KS_STRIPES) + ": " + stripes + " exceeds " + MAX_STRIPES);
            }
            long len = keyMaterialBytes(keyBytes, stripes);
            long start = km * SECTOR;
            if (active != KEY_ENABLED && active != KEY_DISABLED) {
                problems.add("key slot " + i + " state (active/disable) is corrupted");
            }
            if (stripes != STRIPES) {
                problems.add("key slot " + i + " is corrupted (stripes " + stripes + " != " + STRIPES + ")");
            }
            // qemu reserves the key material rounded up to whole 4096-byte units (8 sectors).
            long reservedSectors = reservedKeyMaterialSectors(len);
            slotSpans[i][0] = km;
            slotSpans[i][1] = reservedSectors;
            if (km < HEADER_SECTORS) {
                problems.add("key slot " + i + " is overlapping with the LUKS header");
            } else if (km + reservedSectors > payload) {
                problems.add("key slot " + i + " is overlapping with the encrypted payload");
            }
            for (int j = 0; j < i; j++) {
                if (km < slotSpans[j][0] + slotSpans[j][1] && slotSpans[j][0] < km + reservedSectors) {
                    problems.add("key slots " + j + " and " + i + " are overlapping in the header");
                }
            }
            if (len > 0 && start < payloadBytes) {
                long end = Math.min(payloadBytes, start + len);
                material.add(new LayoutRegion(RegionKind.METADATA, start, end - start, "key slot " + i
                        + " key material" + (active == KEY_ENABLED ? "" : " (disabled)")));
            }
        }

        List<LayoutRegion> regions = new ArrayList<>();
        regions.add(new LayoutRegion(RegionKind.HEADER, 0, PHDR_SIZE, "LUKS header"));
        material.sort((a, b) -> Long.compare(a.offset(), b.offset()));
        long pos = PHDR_SIZE;
        for (LayoutRegion r : material) {
            long s = Math.max(pos, r.offset());
            if (r.end() <= s) {
                continue;
            }
            if (s > pos) {
                regions.add(new LayoutRegion(RegionKind.FREE, pos, s - pos, "header padding"));
            }
            regions.add(new LayoutRegion(r.kind(), s, r.end() - s, r.label()));
            pos = r.end();
        }
        if (payloadBytes > pos) {
            regions.add(new LayoutRegion(RegionKind.FREE, pos, payloadBytes - pos, "header padding"));
        }
        if (fileSize > payloadBytes) {
            regions.add(new LayoutRegion(RegionKind.DATA, payloadBytes, fileSize - payloadBytes,
                    "encrypted payload"));
        }
        List<String> flags = new ArrayList<>();
        flags.add("encrypted: " + cipher + "-" + mode);
        flags.add("hash: " + hash);
        flags.add("key slots: " + enabled + " of " + KEY_SLOTS + " enabled");
        for (String p : problems) {
            flags.add("corrupt: " + p + " (qemu refuses to open the image)");
        }
        return new ProbedImage(path, ImageFormat.LUKS, "LUKS1", fileSize - payloadBytes, fileSize, 0, flags, fields,
                regions, new LuksHeader((int) version, cipher, mode, hash, payload, keyBytes, mkIter, uuid,
                        slots));
    }

    /** A fixed-width header string as shown: up to its first NUL, non-printables escaped. */
    static String text(String raw) {
        return FieldReader.printable(raw);
    }

    static String hex(byte[] b, int from, int len) {
        return java.util.HexFormat.of().formatHex(b, from, from + len);
    }
}
