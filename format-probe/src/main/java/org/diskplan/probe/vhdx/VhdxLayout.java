package org.diskplan.probe.vhdx;

import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;

/**
 * The VHDX on-disk layout ([MS-VHDX]; qemu block/vhdx.h): the fixed offsets of the file
 * type identifier, headers and region tables, field offsets, signatures, region and
 * metadata GUIDs, limits, the CRC-32C checksum, and the BAT arithmetic (chunk ratio,
 * payload and sector bitmap entries, entry encoding). The probe and the sample writer
 * both use these, so each formula is written once.
 *
 * <p>Everything is little-endian ({@link #ORDER}); GUIDs are stored in Microsoft's
 * mixed-endian layout ({@link org.diskplan.probe.Guids}).
 */
public final class VhdxLayout {
    public static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;

    public static final long KIB = 1024;
    public static final long MIB = 1024 * KIB;
    public static final long TIB = 1024L * 1024 * MIB;

    public static final long FILE_ID_OFFSET = 0;
    public static final int FILE_ID_SIZE = 64 * 1024;
    public static final byte[] FILE_ID_SIGNATURE = "vhdxfile".getBytes(StandardCharsets.US_ASCII);
    public static final int FILE_ID_CREATOR = 8;
    public static final int FILE_ID_CREATOR_SIZE = 512;

    public static final long HEADER1_OFFSET = 64 * KIB;
    public static final long HEADER2_OFFSET = 128 * KIB;
    public static final int HEADER_SIZE = 4096;
    public static final long HEADER_BLOCK = 64 * KIB;
    /** "head" read as a little-endian u32. */
    public static final long HEADER_SIGNATURE = 0x6461_6568L;
    public static final int H_SIGNATURE = 0;
    public static final int H_CHECKSUM = 4;
    public static final int H_SEQUENCE = 8;
    public static final int H_FILE_WRITE_GUID = 16;
    public static final int H_DATA_WRITE_GUID = 32;
    public static final int H_LOG_GUID = 48;
    public static final int H_LOG_VERSION = 64;
    public static final int H_VERSION = 66;
    public static final int H_LOG_LENGTH = 68;
    public static final int H_LOG_OFFSET = 72;
    public static final int H_RESERVED = 80;

    public static final long REGION_TABLE1_OFFSET = 192 * KIB;
    public static final long REGION_TABLE2_OFFSET = 256 * KIB;
    public static final int REGION_TABLE_SIZE = 64 * 1024;
    /** "regi" read as a little-endian u32. */
    public static final long REGION_SIGNATURE = 0x6967_6572L;
    public static final int MAX_REGION_ENTRIES = 2047;
    public static final int R_SIGNATURE = 0;
    public static final int R_CHECKSUM = 4;
    public static final int R_ENTRY_COUNT = 8;
    public static final int R_RESERVED = 12;
    public static final int R_ENTRIES = 16;
    public static final int R_ENTRY_SIZE = 32;

    public static final String BAT_GUID = "2dc27766-f623-4200-9d64-115e9bfd4a08";
    public static final String METADATA_GUID = "8b7ca206-4790-4b9a-b8fe-575f050f886e";

    public static final int METADATA_TABLE_SIZE = 64 * 1024;
    public static final byte[] METADATA_SIGNATURE = "metadata".getBytes(StandardCharsets.US_ASCII);
    public static final int MAX_METADATA_ENTRIES = 2047;
    public static final int M_ENTRY_COUNT = 10;
    public static final int M_ENTRIES = 32;
    public static final int M_ENTRY_SIZE = 32;

    public static final String FILE_PARAMETERS_GUID = "caa16737-fa36-4d43-b3b6-33f0aa44e76b";
    public static final String VIRTUAL_DISK_SIZE_GUID = "2fa54224-cd1b-4876-b211-5dbed83bf4b8";
    public static final String PAGE83_GUID = "beca12ab-b2e6-4523-93ef-c309e000c746";
    public static final String LOGICAL_SECTOR_SIZE_GUID = "8141bf1d-a96f-4709-ba47-f233a8faab5f";
    public static final String PHYSICAL_SECTOR_SIZE_GUID = "cda348c7-445d-4471-9cc9-e9885251c556";
    public static final String PARENT_LOCATOR_GUID = "a8d35f2d-b30b-454d-abf7-d3d84834ab0c";
    public static final int MAX_PARENT_LOCATOR_SIZE = 64 * 1024;

    public static final long MIN_BLOCK_SIZE = MIB;
    public static final long MAX_BLOCK_SIZE = 256 * MIB;
    public static final long MAX_VIRTUAL_SIZE = 64 * TIB;
    /** 2^23: sectors described by one 1 MiB sector bitmap block. */
    public static final long SECTORS_PER_BITMAP = 1L << 23;

    /** "loge" read as a little-endian u32. */
    public static final long LOG_ENTRY_SIGNATURE = 0x6567_6f6cL;
    public static final int LOG_SECTOR = 4096;
    public static final int LOG_HEADER_SIZE = 64;

    public static final int STATE_NOT_PRESENT = 0;
    public static final int STATE_UNDEFINED = 1;
    public static final int STATE_ZERO = 2;
    public static final int STATE_UNMAPPED = 3;
    public static final int STATE_FULLY_PRESENT = 6;
    public static final int STATE_PARTIALLY_PRESENT = 7;
    /** BAT entry bits 0-2: the block state. */
    public static final long BAT_STATE_MASK = 7;
    /** BAT entry bits 20-63: the block's file offset in MiB (the entry masked is the offset in bytes). */
    public static final long BAT_OFFSET_MASK = 0xFFFF_FFFF_FFF0_0000L;
    public static final int BAT_ENTRY_SIZE = 8;

    private VhdxLayout() {
    }

    /** CRC-32C of {@code bytes} with the 4-byte checksum field at {@code checksumAt} taken as zero. */
    public static long crc32c(byte[] bytes, int checksumAt) {
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, checksumAt);
        crc.update(new byte[4], 0, 4);
        crc.update(bytes, checksumAt + 4, bytes.length - checksumAt - 4);
        return crc.getValue();
    }

    /**
     * Payload blocks per sector bitmap block: 2^23 × logical sector size / block size (one
     * 1 MiB bitmap block has a bit for each of 2^23 sectors).
     */
    public static long chunkRatio(long logicalSectorSize, long blockSize) {
        return SECTORS_PER_BITMAP * logicalSectorSize / blockSize;
    }

    /** Payload blocks a virtual disk of {@code virtualDiskSize} bytes needs. */
    public static long payloadBlocks(long virtualDiskSize, long blockSize) {
        return ceilDiv(virtualDiskSize, blockSize);
    }

    /**
     * BAT entries for {@code payloadBlocks}: a sector bitmap entry after every chunk ratio
     * payload entries. A differencing disk has every chunk's bitmap entry, the last one too;
     * any other disk only those between payload entries (qemu's vhdx_calc_bat_entries).
     */
    public static long batEntries(long payloadBlocks, long chunkRatio, boolean hasParent) {
        if (hasParent) {
            return ceilDiv(payloadBlocks, chunkRatio) * (chunkRatio + 1);
        }
        return payloadBlocks == 0 ? 0 : payloadBlocks + (payloadBlocks - 1) / chunkRatio;
    }

    /** The BAT index of payload block {@code block}. */
    public static long batIndex(long block, long chunkRatio) {
        return block + block / chunkRatio;
    }

    /** Whether BAT entry {@code index} is a sector bitmap entry (the last of each chunk). */
    public static boolean isSectorBitmapEntry(long index, long chunkRatio) {
        return (index + 1) % (chunkRatio + 1) == 0;
    }

    /** The payload block of payload BAT entry {@code index}: the index minus the bitmap entries before it. */
    public static long payloadBlockOf(long index, long chunkRatio) {
        return index - index / (chunkRatio + 1);
    }

    /** A BAT entry: the block state and its file offset (a multiple of 1 MiB, or 0). */
    public static long batEntry(int state, long fileOffset) {
        return (fileOffset & BAT_OFFSET_MASK) | state;
    }

    /** The state (bits 0-2) of a BAT entry. */
    public static int batEntryState(long entry) {
        return (int) (entry & BAT_STATE_MASK);
    }

    /** The file offset of a BAT entry's block in MiB (bits 20-63). */
    public static long batEntryOffsetMiB(long entry) {
        return entry >>> 20;
    }

    private static long ceilDiv(long a, long b) {
        return a == 0 ? 0 : (a - 1) / b + 1;
    }
}
