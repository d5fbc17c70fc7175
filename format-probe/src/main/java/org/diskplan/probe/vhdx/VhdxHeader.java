package org.diskplan.probe.vhdx;

import java.util.List;
import org.diskplan.probe.FormatHeader;

/**
 * What a VHDX planner needs, with explicit names. All offsets are absolute file
 * offsets; -1 means absent.
 *
 * @param creator                  file type identifier creator (UTF-16LE text)
 * @param headers                  both header copies (64 KiB and 128 KiB), in file order
 * @param currentHeaderIndex       0 or 1: the valid header with the higher sequence number
 * @param currentSequenceNumber    its sequence number (the next header write uses +1 and +2)
 * @param fileWriteGuid            current header file write GUID
 * @param dataWriteGuid            current header data write GUID
 * @param logGuid                  current header log GUID; all zero when the log is empty
 * @param logVersion               current header log version (0)
 * @param version                  current header version (1)
 * @param logOffset                current header log offset
 * @param logLength                current header log length
 * @param regionTableOffset        the region table copy that was used (196608 or 262144)
 * @param regionEntries            its entries, in table order
 * @param batOffset                BAT region file offset
 * @param batLength                BAT region length in bytes
 * @param metadataOffset           metadata region file offset
 * @param metadataLength           metadata region length in bytes
 * @param metadataItems            metadata table entries, in table order, with absolute item offsets
 * @param fileParametersOffset     absolute offset of the file parameters item
 * @param virtualDiskSizeOffset    absolute offset of the virtual disk size item (u64 LE)
 * @param logicalSectorSizeOffset  absolute offset of the logical sector size item
 * @param physicalSectorSizeOffset absolute offset of the physical sector size item
 * @param page83Offset             absolute offset of the page 83 data item
 * @param parentLocatorOffset      absolute offset of the parent locator item, -1 when absent
 * @param blockSize                payload block size in bytes
 * @param leaveBlocksAllocated     file parameters bit 0 (a fixed VHDX)
 * @param hasParent                file parameters bit 1 (a differencing VHDX)
 * @param virtualDiskSize          virtual disk size item in bytes
 * @param logicalSectorSize        512 or 4096
 * @param physicalSectorSize       512 or 4096
 * @param chunkRatio               payload blocks per sector bitmap block: 2^23 × logical sector size / block size
 * @param payloadBlocks            ceil(virtual disk size / block size)
 * @param batEntriesRequired       BAT entries the virtual size needs (payload + sector bitmap entries)
 * @param batEntriesRead           BAT entries read (inside the BAT region and the file)
 * @param batStateCounts           payload entry counts by state 0..7 (index = state)
 * @param sectorBitmapStateCounts  sector bitmap entry counts by state 0..7
 * @param logEntriesFound          log entries with the "loge" signature
 * @param logNeedsReplay           log GUID set and at least one valid entry carries it
 */
public record VhdxHeader(String creator, List<HeaderCopy> headers, int currentHeaderIndex,
                         long currentSequenceNumber, String fileWriteGuid, String dataWriteGuid, String logGuid,
                         int logVersion, int version, long logOffset, long logLength, long regionTableOffset,
                         List<RegionEntry> regionEntries, long batOffset, long batLength, long metadataOffset,
                         long metadataLength, List<MetadataItem> metadataItems, long fileParametersOffset,
                         long virtualDiskSizeOffset, long logicalSectorSizeOffset, long physicalSectorSizeOffset,
                         long page83Offset, long parentLocatorOffset, long blockSize, boolean leaveBlocksAllocated,
                         boolean hasParent, long virtualDiskSize, long logicalSectorSize, long physicalSectorSize,
                         long chunkRatio, long payloadBlocks, long batEntriesRequired, long batEntriesRead,
                         List<Long> batStateCounts, List<Long> sectorBitmapStateCounts, long logEntriesFound,
                         boolean logNeedsReplay) implements FormatHeader {
    public VhdxHeader {
        headers = List.copyOf(headers);
        regionEntries = List.copyOf(regionEntries);
        metadataItems = List.copyOf(metadataItems);
        batStateCounts = List.copyOf(batStateCounts);
        sectorBitmapStateCounts = List.copyOf(sectorBitmapStateCounts);
    }

    /** One header copy: where it is, whether its signature and CRC-32C hold, its sequence number. */
    public record HeaderCopy(long offset, boolean valid, long sequenceNumber) {
    }

    /** A region table entry. */
    public record RegionEntry(String guid, String name, long fileOffset, long length, boolean required) {
    }

    /**
     * A metadata table entry; {@code offset} is absolute (region offset + item offset),
     * {@code entryOffset} the file offset of the table entry that locates it.
     */
    public record MetadataItem(String guid, String name, long offset, long length, boolean isUser,
                               boolean isVirtualDisk, boolean isRequired, long entryOffset) {
    }
}
