package org.diskplan.probe.vmdk;

import org.diskplan.probe.FormatHeader;

/**
 * A VMDK3 / ESX "COWD" sparse extent header (little-endian, 2048 bytes; VMware "Virtual Disk
 * Format 1.1", ESX Server sparse extents; qemu {@code VMDK3Header}).
 *
 * @param version              1
 * @param flags                header flags
 * @param numSectors           extent size in 512-byte sectors (qemu: disk_sectors)
 * @param grainSize            grain size in sectors (qemu: granularity)
 * @param gdOffset             grain directory, in sectors (qemu: l1dir_offset)
 * @param numGDEntries         grain directory entries (qemu: l1dir_size)
 * @param freeSector           next free sector (qemu: file_sectors)
 * @param cylinders            root disks: geometry cylinders (first word of the union)
 * @param heads                root disks: geometry heads
 * @param sectors              root disks: geometry sectors per track
 * @param parentFileName       child disks: the parent's file name (the union read as text), empty for root disks
 * @param generation           generation counter (0 when the header is shorter than 2048 bytes)
 * @param uncleanShutdown      non-zero after a crash (0 when the header is shorter than 2048 bytes)
 * @param allocatedGrainTables directory entries that are not 0
 * @param allocatedGrains      grain table entries that are not 0 (scanned tables only)
 * @param grainTablesScanned   false when the read budget stopped the scan
 */
public record Vmdk3Header(long version, long flags, long numSectors, long grainSize, long gdOffset,
                          long numGDEntries, long freeSector, long cylinders, long heads, long sectors,
                          String parentFileName, long generation, long uncleanShutdown, long allocatedGrainTables,
                          long allocatedGrains, boolean grainTablesScanned) implements FormatHeader {
    /** Entries per COWD grain table (qemu passes 4096 as the L2 size). */
    public static final int GTES_PER_GT = 4096;

    public long virtualSize() {
        return numSectors * 512;
    }
}
