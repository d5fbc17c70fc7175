package org.diskplan.probe.crypto;

import java.nio.ByteOrder;

/**
 * The LUKS1 partition header layout (the LUKS1 on-disk format specification; qemu
 * crypto/block-luks.c): field offsets, the key slot area, and the key material arithmetic.
 * It lives outside the format packages because two formats read it: a LUKS image starts
 * with one, and a LUKS-encrypted qcow2 image keeps one in its clusters.
 *
 * <p>Everything is big-endian ({@link #ORDER}); offsets and lengths in the header count
 * 512-byte sectors.
 */
public final class LuksLayout {
    public static final ByteOrder ORDER = ByteOrder.BIG_ENDIAN;
    public static final long SECTOR = 512;
    /** The partition header: every field up to the last key slot. */
    public static final int PHDR_SIZE = 592;
    public static final byte[] MAGIC = {'L', 'U', 'K', 'S', (byte) 0xba, (byte) 0xbe};

    public static final int OFF_MAGIC = 0;
    public static final int MAGIC_SIZE = 6;
    public static final int OFF_VERSION = 6;
    public static final int OFF_CIPHER_NAME = 8;
    public static final int OFF_CIPHER_MODE = 40;
    public static final int OFF_HASH_SPEC = 72;
    /** Bytes of the cipher name, cipher mode and hash spec fields. */
    public static final int NAME_LEN = 32;
    public static final int OFF_PAYLOAD_OFFSET = 104;
    public static final int OFF_KEY_BYTES = 108;
    public static final int OFF_MK_DIGEST = 112;
    public static final int MK_DIGEST_SIZE = 20;
    public static final int OFF_MK_DIGEST_SALT = 132;
    public static final int SALT_SIZE = 32;
    public static final int OFF_MK_DIGEST_ITER = 164;
    public static final int OFF_UUID = 168;
    public static final int UUID_SIZE = 40;

    // key slots
    public static final int OFF_KEY_SLOTS = 208;
    public static final int KEY_SLOT_SIZE = 48;
    public static final int KEY_SLOTS = 8;
    /** Field offsets inside one key slot. */
    public static final int KS_ACTIVE = 0;
    public static final int KS_ITERATIONS = 4;
    public static final int KS_SALT = 8;
    public static final int KS_KEY_MATERIAL_OFFSET = 40;
    public static final int KS_STRIPES = 44;
    public static final long KEY_ENABLED = 0x00AC71F3L;
    public static final long KEY_DISABLED = 0x0000DEADL;
    /** The anti-forensic stripes every LUKS1 key slot has. */
    public static final long STRIPES = 4000;
    /** qemu's QCRYPTO_BLOCK_LUKS_KEY_SLOT_OFFSET (4096) in sectors: key material and payload start here or later. */
    public static final long HEADER_SECTORS = 8;

    private LuksLayout() {
    }

    /** File offset of key slot {@code i}. */
    public static int keySlotOffset(int i) {
        return OFF_KEY_SLOTS + i * KEY_SLOT_SIZE;
    }

    /** Bytes of a key slot's anti-forensic key material: key bytes × stripes, in whole sectors. */
    public static long keyMaterialBytes(long keyBytes, long stripes) {
        return (keyBytes * stripes + SECTOR - 1) / SECTOR * SECTOR;
    }

    /** Sectors qemu reserves for key material of {@code bytes}: whole 4096-byte units. */
    public static long reservedKeyMaterialSectors(long bytes) {
        return (bytes / SECTOR + HEADER_SECTORS - 1) / HEADER_SECTORS * HEADER_SECTORS;
    }
}
