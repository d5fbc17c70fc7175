package org.diskplan.probe.vdi;

import java.nio.ByteOrder;

/**
 * The VDI 1.1 layout (VirtualBox VDICore.h {@code VDIPREHEADER} and {@code VDIHEADER1PLUS};
 * qemu block/vdi.c): header field offsets, signature and version, image types, block map
 * values, qemu's limits, and the arithmetic of the block map and the data blocks. The probe
 * and the sample writer both use these, so each formula is written once.
 *
 * <p>Everything is little-endian ({@link #ORDER}); UUIDs are RTUUIDs, stored in Microsoft's
 * mixed-endian layout ({@link org.diskplan.probe.Guids}).
 */
public final class VdiLayout {
    public static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;

    public static final long SIGNATURE = 0xbeda107fL;
    public static final long VERSION_1_1 = 0x00010001L;
    public static final int SECTOR = 512;
    /** qemu reads this many header bytes (its VdiHeader struct). */
    public static final int HEADER_READ = 512;
    public static final int PRE_HEADER_SIZE = 72;
    /** Header size qemu writes (no LCHS geometry). */
    public static final int HEADER_SIZE_QEMU = 384;
    /** Header size VirtualBox writes (VDIHEADER1PLUS, with LCHS geometry). */
    public static final int HEADER_SIZE_1PLUS = 400;

    public static final int OFF_TEXT = 0;
    public static final int OFF_SIGNATURE = 64;
    public static final int OFF_VERSION = 68;
    public static final int OFF_HEADER_SIZE = 72;
    public static final int OFF_IMAGE_TYPE = 76;
    public static final int OFF_IMAGE_FLAGS = 80;
    public static final int OFF_DESCRIPTION = 84;
    public static final int DESCRIPTION_SIZE = 256;
    public static final int OFF_BLOCKS = 340;
    public static final int OFF_DATA = 344;
    public static final int OFF_LEGACY_CYLINDERS = 348;
    public static final int OFF_LEGACY_HEADS = 352;
    public static final int OFF_LEGACY_SECTORS = 356;
    public static final int OFF_SECTOR_SIZE = 360;
    public static final int OFF_DUMMY = 364;
    public static final int OFF_DISK_SIZE = 368;
    public static final int OFF_BLOCK_SIZE = 376;
    public static final int OFF_BLOCK_EXTRA = 380;
    public static final int OFF_BLOCK_COUNT = 384;
    public static final int OFF_BLOCKS_ALLOCATED = 388;
    public static final int OFF_UUID_CREATE = 392;
    public static final int OFF_UUID_MODIFY = 408;
    public static final int OFF_UUID_LINKAGE = 424;
    public static final int OFF_UUID_PARENT_MODIFY = 440;
    public static final int OFF_LCHS_CYLINDERS = 456;
    public static final int OFF_LCHS_HEADS = 460;
    public static final int OFF_LCHS_SECTORS = 464;
    public static final int OFF_LCHS_SECTOR_SIZE = 468;
    public static final int OFF_HEADER_END_1PLUS = 472;

    public static final int TYPE_DYNAMIC = 1;
    public static final int TYPE_FIXED = 2;
    public static final int TYPE_UNDO = 3;
    public static final int TYPE_DIFF = 4;

    /** Block map entries: a host block index, or one of these. */
    public static final long BLOCK_FREE = 0xffffffffL;
    public static final long BLOCK_ZERO = 0xfffffffeL;
    /** qemu's VDI_BLOCKS_IN_IMAGE_MAX: UINT32_MAX / sizeof(uint32_t). */
    public static final long MAX_BLOCKS = 0xffffffffL / 4;
    /** The only block size qemu opens. */
    public static final long QEMU_BLOCK_SIZE = 1 << 20;
    public static final long MAX_BLOCK_SIZE = 1L << 30;
    /** Where qemu-img create puts the block map: right after the 512 header bytes it writes. */
    public static final int QEMU_MAP_OFFSET = 512;
    /** Bytes of a block map entry (u32). */
    public static final int MAP_ENTRY_SIZE = 4;

    private VdiLayout() {
    }

    /** {@code bytes} (unsigned) rounded up to whole 512-byte sectors, as qemu rounds cbDisk. */
    public static long roundUpToSector(long bytes) {
        long rem = Long.remainderUnsigned(bytes, SECTOR);
        return rem == 0 ? bytes : bytes + (SECTOR - rem);
    }

    /** Blocks (block map entries) for a disk of {@code diskSize} bytes. */
    public static long blocksFor(long diskSize, long blockSize) {
        return (diskSize + blockSize - 1) / blockSize;
    }

    /** Bytes of a block map of {@code blocks} entries. */
    public static long mapBytes(long blocks) {
        return blocks * MAP_ENTRY_SIZE;
    }

    /** Where the data starts when the map of {@code blocks} entries at {@code mapOffset} ends on a whole sector. */
    public static long dataOffsetAfterMap(long mapOffset, long blocks) {
        return mapOffset + roundUpToSector(mapBytes(blocks));
    }

    /** File offset of host block {@code index}: offData plus whole strides (data plus per-block extra). */
    public static long blockOffset(long dataOffset, long index, long stride) {
        return dataOffset + index * stride;
    }
}
