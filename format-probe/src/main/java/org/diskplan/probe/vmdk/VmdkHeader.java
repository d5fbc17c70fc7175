package org.diskplan.probe.vmdk;

import java.util.Optional;
import org.diskplan.probe.FormatHeader;

/**
 * A VMDK4 sparse extent ("KDMV" header, little-endian; VMware "Virtual Disk Format 1.1",
 * qemu {@code VMDK4Header}) with its embedded descriptor and grain directory summary. When
 * {@code gdOffset} in the header at offset 0 is 0xffffffffffffffff (streamOptimized), the values
 * here are those of the footer header, as qemu uses them.
 *
 * @param version                       1, 2 or 3 (3: VMware's changed block tracking; qemu writes it for
 *                                      streamOptimized and opens it read-only unless grains are compressed)
 * @param flags                         header flags (see VmdkLayout's FLAG_ constants)
 * @param capacity                      extent size in 512-byte sectors
 * @param grainSize                     grain (allocation unit) size in sectors
 * @param descriptorOffset              embedded descriptor start, in sectors (0: none)
 * @param descriptorSize                sectors reserved for the embedded descriptor
 * @param numGTEsPerGT                  entries per grain table (512)
 * @param rgdOffset                     redundant grain directory, in sectors (0: none)
 * @param gdOffset                      grain directory, in sectors (as used; never the at-end marker)
 * @param overHead                      sectors of metadata before the first grain
 * @param uncleanShutdown               1 when the disk was not closed cleanly
 * @param newlineChars                  the four newline-test bytes at offset 73, as stored
 * @param compressAlgorithm             0 none, 1 deflate
 * @param gdAtEnd                       whether the header at 0 said "grain directory at end" and the footer was used
 * @param footerOffset                  file offset of the footer marker, -1 when there is no footer
 * @param descriptor                    the embedded descriptor, if any
 * @param grainDirectoryEntries         ceil(capacity / (grainSize × numGTEsPerGT))
 * @param allocatedGrainTables          grain directory entries that are not 0
 * @param allocatedRedundantGrainTables redundant grain directory entries that are not 0
 * @param allocatedGrains               grain table entries pointing at a grain (scanned tables only)
 * @param zeroedGrains                  grain table entries marked zeroed (1 with the zeroed-grain flag)
 * @param grainTablesScanned            false when the scan budget stopped before every grain table was read
 */
public record VmdkHeader(long version, long flags, long capacity, long grainSize, long descriptorOffset,
                         long descriptorSize, long numGTEsPerGT, long rgdOffset, long gdOffset, long overHead,
                         int uncleanShutdown, byte[] newlineChars, int compressAlgorithm, boolean gdAtEnd,
                         long footerOffset, Optional<VmdkDescriptor> descriptor, long grainDirectoryEntries,
                         long allocatedGrainTables, long allocatedRedundantGrainTables, long allocatedGrains,
                         long zeroedGrains, boolean grainTablesScanned) implements FormatHeader {
    // No lambdas or streams here: this class runs on every command's start-up path (see ReadWatch / issue 20).

    public VmdkHeader {
        newlineChars = newlineChars.clone();
    }

    @Override
    public byte[] newlineChars() {
        return newlineChars.clone();
    }

    /** qemu-img info's VMDK block for a sparse file opened directly (one extent, no type). */
    @Override
    public java.util.Map<String, Object> qemuInfo(String filename) {
        java.util.Map<String, Object> extent = VmdkDescriptor.extentInfo(filename, "", capacity, Optional.of(this));
        return descriptor.isPresent() ? descriptor.get().qemuInfo(filename, java.util.List.of(extent))
                : java.util.Map.of();
    }

    public long grainBytes() {
        return grainSize * VmdkLayout.SECTOR;
    }

    public long virtualSize() {
        return capacity * VmdkLayout.SECTOR;
    }

    public long gdOffsetBytes() {
        return gdOffset * VmdkLayout.SECTOR;
    }

    public long rgdOffsetBytes() {
        return rgdOffset * VmdkLayout.SECTOR;
    }

    /** Bytes of one grain table. */
    public long grainTableBytes() {
        return VmdkLayout.grainTableBytes(numGTEsPerGT);
    }

    public boolean hasRedundantGrainDirectory() {
        return (flags & VmdkLayout.FLAG_REDUNDANT_GRAIN_TABLE) != 0 && rgdOffset != 0;
    }

    public boolean compressed() {
        return compressAlgorithm == VmdkLayout.COMPRESSION_DEFLATE;
    }

    public boolean markers() {
        return (flags & VmdkLayout.FLAG_MARKERS) != 0;
    }

    /** createType of the embedded descriptor, empty when there is none. */
    public String createType() {
        return descriptor.isPresent() ? descriptor.get().createType() : "";
    }
}
