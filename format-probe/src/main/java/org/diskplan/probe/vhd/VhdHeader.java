package org.diskplan.probe.vhd;

import org.diskplan.probe.FormatHeader;

/**
 * What a VHD planner needs, with explicit names. Offsets are absolute file offsets;
 * -1 means "not present" (a fixed disk has no dynamic header, BAT or footer copy).
 *
 * @param footerOffset             where the authoritative footer lies: 0 for the copy qemu reads in a
 *                                 dynamic/differencing image, else the file end minus {@link #footerLength}
 * @param footerLength             512, or 511 for images made before Virtual PC 2004
 * @param tailFooterOffset         offset of the footer at the end of the file, -1 if the file ends without one
 * @param hasFooterCopy            true when offset 0 holds a footer copy (qemu then reads the image as dynamic)
 * @param diskType                 footer disk type: 2 fixed, 3 dynamic, 4 differencing (VhdLayout.DISK_TYPE_*)
 * @param dataOffset               footer data offset (the dynamic header), 0xFFFFFFFFFFFFFFFF for fixed disks
 * @param originalSize             footer original size in bytes
 * @param currentSize              footer current size in bytes
 * @param cylinders                geometry: cylinders
 * @param heads                    geometry: heads
 * @param sectorsPerTrack          geometry: sectors per track
 * @param creatorApplication       the 4 creator application bytes as ISO-8859-1 text ("vpc ", "qemu", "tap\0")
 * @param sizeFromGeometry         true when readers (qemu 7.2) take the size from CHS geometry, false when
 *                                 from current_size
 * @param virtualSize              the size qemu 7.2 reports
 * @param footerChecksum           stored footer checksum
 * @param footerChecksumValid      whether it matches the ones' complement byte sum
 * @param uniqueId                 footer unique id (GUID text)
 * @param dynamicHeaderOffset      offset of the "cxsparse" header, -1 for fixed
 * @param dynamicHeaderChecksumValid whether the dynamic header checksum matches (false when absent)
 * @param batOffset                dynamic header table offset, -1 for fixed
 * @param maxTableEntries          dynamic header max table entries (BAT capacity), 0 for fixed
 * @param batEntriesRead           BAT entries actually inside the file (≤ maxTableEntries)
 * @param allocatedBlocks          BAT entries that are not 0xFFFFFFFF
 * @param blockSize                dynamic block size in bytes, 0 for fixed
 * @param bitmapSize               sector bitmap bytes in front of every block (qemu's rounding to 512)
 * @param firstDataBlockOffset     lowest allocated block (bitmap) offset, -1 when none: the room the BAT
 *                                 can grow into ends here
 * @param dataEnd                  qemu's free_data_block_offset: end of the BAT (sector aligned) or of the
 *                                 last block, whichever is larger; the tail footer belongs here
 * @param parentUniqueId           dynamic header parent unique id (GUID text), empty when absent
 * @param parentName               dynamic header parent unicode name, empty when none
 */
public record VhdHeader(long footerOffset, int footerLength, long tailFooterOffset, boolean hasFooterCopy,
                        long diskType, long dataOffset, long originalSize, long currentSize, int cylinders,
                        int heads, int sectorsPerTrack, String creatorApplication, boolean sizeFromGeometry,
                        long virtualSize, long footerChecksum, boolean footerChecksumValid, String uniqueId,
                        long dynamicHeaderOffset, boolean dynamicHeaderChecksumValid, long batOffset,
                        long maxTableEntries, long batEntriesRead, long allocatedBlocks, long blockSize,
                        long bitmapSize, long firstDataBlockOffset, long dataEnd, String parentUniqueId,
                        String parentName) implements FormatHeader {
}
