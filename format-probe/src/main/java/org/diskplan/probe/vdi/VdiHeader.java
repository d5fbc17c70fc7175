package org.diskplan.probe.vdi;

import org.diskplan.probe.FormatHeader;

/**
 * A VDI 1.1 header (VirtualBox {@code VDIPREHEADER} + {@code VDIHEADER1PLUS}, little-endian) and
 * the summary of its block map: everything a resize planner needs.
 *
 * @param preHeaderText     the 64-byte text at offset 0, trailing NULs removed
 * @param signature         0xbeda107f
 * @param version           0x00010001 for 1.1
 * @param headerSize        cbHeader: bytes of header after the 72-byte pre-header (384 qemu, 400 VirtualBox)
 * @param imageType         1 dynamic, 2 fixed (static), 3 undo, 4 differencing
 * @param imageFlags        fFlags
 * @param description       the 256-byte comment, trailing NULs removed
 * @param blocksOffset      offBlocks: byte offset of the block map
 * @param dataOffset        offData: byte offset of block 0's data
 * @param legacyCylinders   legacy geometry cylinders
 * @param legacyHeads       legacy geometry heads
 * @param legacySectors     legacy geometry sectors per track
 * @param sectorSize        legacy geometry bytes per sector (must be 512)
 * @param diskSize          cbDisk: virtual disk size in bytes as stored
 * @param blockSize         cbBlock: bytes of guest data per block
 * @param blockExtra        cbBlockExtra: bytes of per-block metadata before the data
 * @param blockCount        cBlocks: block map entries
 * @param blocksAllocated   cBlocksAllocated as stored
 * @param uuidCreate        image UUID
 * @param uuidModify        UUID changed on every modification
 * @param uuidLinkage       parent image UUID (differencing), all zero otherwise
 * @param uuidParentModify  parent's modification UUID when linked
 * @param hasLchsGeometry   whether the header is long enough to hold the LCHS geometry
 * @param lchsCylinders     LCHS cylinders (0 when absent)
 * @param lchsHeads         LCHS heads (0 when absent)
 * @param lchsSectors       LCHS sectors (0 when absent)
 * @param lchsSectorSize    LCHS bytes per sector (0 when absent)
 * @param mapAllocated      map entries that point at a data block
 * @param mapZero           map entries 0xfffffffe (block reads as zeros)
 * @param mapFree           map entries 0xffffffff (block not allocated)
 * @param highestBlockIndex largest host block index in the map, -1 if none
 * @param dataEnd           first byte after the last allocated data block (offData when none)
 */
public record VdiHeader(String preHeaderText, long signature, long version, long headerSize, long imageType,
                        long imageFlags, String description, long blocksOffset, long dataOffset,
                        long legacyCylinders, long legacyHeads, long legacySectors, long sectorSize,
                        long diskSize, long blockSize, long blockExtra, long blockCount, long blocksAllocated,
                        String uuidCreate, String uuidModify, String uuidLinkage, String uuidParentModify,
                        boolean hasLchsGeometry, long lchsCylinders, long lchsHeads, long lchsSectors,
                        long lchsSectorSize, long mapAllocated, long mapZero, long mapFree,
                        long highestBlockIndex, long dataEnd) implements FormatHeader {

    /** Bytes one block occupies in the file: its data plus its extra metadata. */
    public long blockStride() {
        return blockSize + blockExtra;
    }

    /** True for a dynamic (sparse) image. */
    public boolean isDynamic() {
        return imageType == VdiLayout.TYPE_DYNAMIC;
    }
}
