package org.diskplan.probe.dmg;

import org.diskplan.probe.FormatHeader;

/**
 * The UDIF trailer of a DMG ("koly", big-endian, 512 bytes near the end of the file).
 *
 * @param trailerOffset   where "koly" was found (qemu looks in the last 1023 bytes)
 * @param version         trailer +4: 4
 * @param flags           trailer +12
 * @param dataForkOffset  trailer +0x18
 * @param dataForkLength  trailer +0x20
 * @param rsrcForkOffset  trailer +0x28
 * @param rsrcForkLength  trailer +0x30
 * @param xmlOffset       trailer +0xd8: the property list holding the block tables ("blkx")
 * @param xmlLength       trailer +0xe0
 * @param imageVariant    trailer +0x1e8
 * @param sectorCount     trailer +0x1ec: virtual size in 512-byte sectors
 */
public record DmgHeader(long trailerOffset, long version, long flags, long dataForkOffset, long dataForkLength,
                        long rsrcForkOffset, long rsrcForkLength, long xmlOffset, long xmlLength, long imageVariant,
                        long sectorCount) implements FormatHeader {
}
