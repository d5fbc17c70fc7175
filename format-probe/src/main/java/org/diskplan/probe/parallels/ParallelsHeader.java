package org.diskplan.probe.parallels;

import org.diskplan.probe.FormatHeader;

/**
 * The Parallels (ploop) image header, little-endian, 64 bytes at offset 0.
 *
 * @param extended          magic "WithouFreSpacExt" (BAT entries count clusters) rather than
 *                          "WithoutFreeSpace" (BAT entries count sectors, 32-bit size)
 * @param version           offset 16: 2
 * @param heads             offset 20: geometry, unused by qemu
 * @param cylinders         offset 24: geometry, unused by qemu
 * @param tracks            offset 28: sectors per cluster
 * @param batEntries        offset 32: entries of the block allocation table at offset 64
 * @param nbSectors         offset 36: virtual size in sectors (low 32 bits only for "WithoutFreeSpace")
 * @param inUse             offset 44: 0x746f6e59 while an image is open read-write
 * @param dataOff           offset 48: first data sector (0 = right after the BAT)
 * @param flags             offset 52
 * @param extOff            offset 56: format extension cluster, in sectors (0 = none)
 * @param allocatedClusters BAT entries that map a cluster
 */
public record ParallelsHeader(boolean extended, long version, long heads, long cylinders, long tracks,
                              long batEntries, long nbSectors, long inUse, long dataOff, long flags, long extOff,
                              long allocatedClusters) implements FormatHeader {
    /** The value of {@code inuse} while qemu or Parallels has the image open read-write. */
    public static final long IN_USE_MAGIC = 0x746F6E59L;
}
