package org.diskplan.probe.vhdx;

import static org.diskplan.probe.vhdx.VhdxLayout.MIB;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.diskplan.probe.Guids;
import org.diskplan.probe.SampleFiles;
import org.diskplan.probe.SampleOptions;
import org.diskplan.probe.SampleWriter;

/**
 * Empty VHDX images laid out as {@code qemu-img create -f vhdx} lays them out: the file
 * type identifier at 0, headers at 64 KiB and 128 KiB (sequence numbers n and n+1, log
 * GUID zero so nothing is replayed), region tables at 192 KiB and 256 KiB, the log at
 * 1 MiB, then the BAT, the metadata region (1 MiB) and, 4 MiB after its end, the payload.
 * Dynamic images mark every payload block ZERO (qemu's default {@code block_state_zero=on})
 * or NOT_PRESENT; fixed ones allocate every block (FULLY_PRESENT) one after the other and
 * end where the virtual size ends, as qemu does. qemu-img always writes 512-byte logical
 * sectors; {@code logical_sector_size=4096} (not a qemu-img option) makes the images Hyper-V
 * makes for 4Kn disks: logical and physical sector 4096, the virtual size a multiple of 4096,
 * and the chunk ratio (hence where the sector bitmap entries sit in the BAT) eight times
 * qemu's for the same block size.
 */
public final class VhdxSampleWriter implements SampleWriter {
    static final String CREATOR = "DiskPlan sample";
    static final int LOGICAL_SECTOR = 512;
    static final int PHYSICAL_SECTOR = 512;
    static final int LOGICAL_SECTOR_4K = 4096;
    static final long DEFAULT_LOG = MIB;
    /** qemu leaves 4 MiB between the metadata region and the first payload block. */
    static final long PAYLOAD_GAP = 4 * MIB;
    static final int FLAG_REQUIRED = 1;
    static final int ITEM_VIRTUAL_DISK = 2;
    static final int ITEM_REQUIRED = 4;
    private static final int BAT_WRITE_ENTRIES = 1 << 17;

    /**
     * Where everything goes, all absolute file offsets.
     *
     * @param virtualSize  virtual disk size (a multiple of the logical sector)
     * @param blockSize    payload block size
     * @param logicalSector logical (and physical) sector size, 512 or 4096
     * @param chunkRatio   payload blocks per sector bitmap block
     * @param payloadBlocks payload blocks the virtual size needs
     * @param batEntries   BAT entries: payload blocks plus the sector bitmap entries between them
     * @param logOffset    the log (1 MiB)
     * @param logLength    its length
     * @param batOffset    the BAT region
     * @param batLength    its length (whole MiB)
     * @param metadataOffset the metadata region (1 MiB long)
     * @param payloadOffset the first payload block of a fixed image
     */
    record Layout(long virtualSize, long blockSize, int logicalSector, long chunkRatio, long payloadBlocks, long batEntries,
                  long logOffset, long logLength, long batOffset, long batLength, long metadataOffset,
                  long payloadOffset) {
        static Layout of(long virtualSize, long blockSize, int logicalSector, long logLength) {
            long chunkRatio = VhdxLayout.chunkRatio(logicalSector, blockSize);
            long payload = VhdxLayout.payloadBlocks(virtualSize, blockSize);
            long entries = VhdxLayout.batEntries(payload, chunkRatio, false);
            long logOffset = MIB;
            long batOffset = roundUp(logOffset + logLength, MIB);
            long batLength = roundUp(entries * VhdxLayout.BAT_ENTRY_SIZE, MIB);
            long metadataOffset = roundUp(batOffset + batLength, MIB);
            return new Layout(virtualSize, blockSize, logicalSector, chunkRatio, payload, entries, logOffset, logLength, batOffset,
                    batLength, metadataOffset, metadataOffset + MIB + PAYLOAD_GAP);
        }
    }

    @Override
    public String format() {
        return "vhdx";
    }

    @Override
    public List<String> subformats() {
        return List.of("dynamic", "fixed");
    }

    @Override
    public long write(Path file, long size, Map<String, String> options) throws IOException {
        SampleOptions o = SampleOptions.of("vhdx", options,
                Set.of("subformat", "block_size", "log_size", "block_state_zero", "logical_sector_size"));
        boolean fixed = o.choice("subformat", subformats()).equals("fixed");
        if (size <= 0 || size > VhdxLayout.MAX_VIRTUAL_SIZE) {
            throw new IllegalArgumentException("vhdx images hold 1 byte to 64 TiB, not " + size);
        }
        long sectorOption = o.size("logical_sector_size", LOGICAL_SECTOR);
        if (sectorOption != LOGICAL_SECTOR && sectorOption != LOGICAL_SECTOR_4K) {
            throw new IllegalArgumentException("vhdx logical_sector_size must be 512 or 4096, not " + sectorOption);
        }
        int sector = (int) sectorOption;
        long virtual = roundUp(size, sector);
        long blockSize = o.size("block_size", 0);
        if (blockSize == 0) {
            blockSize = defaultBlockSize(virtual);
        }
        if (blockSize < VhdxLayout.MIN_BLOCK_SIZE || blockSize > VhdxLayout.MAX_BLOCK_SIZE
                || Long.bitCount(blockSize) != 1) {
            throw new IllegalArgumentException("vhdx block_size must be a power of two from 1M to 256M, not "
                    + blockSize);
        }
        long logLength = o.size("log_size", DEFAULT_LOG);
        if (logLength < MIB || logLength % MIB != 0 || logLength > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("vhdx log_size must be a multiple of 1M below 4G, not " + logLength);
        }
        if (fixed && o.bool("block_state_zero", false)) {
            throw new IllegalArgumentException("a fixed vhdx allocates every block: block_state_zero=on is for dynamic");
        }
        int state = fixed ? VhdxLayout.STATE_FULLY_PRESENT
                : o.bool("block_state_zero", true) ? VhdxLayout.STATE_ZERO : VhdxLayout.STATE_NOT_PRESENT;
        Layout l = Layout.of(virtual, blockSize, sector, logLength);

        SampleFiles.creating(files -> {
            try (FileChannel ch = FileChannel.open(files.create(file), StandardOpenOption.WRITE)) {
                SampleFiles.write(ch, VhdxLayout.FILE_ID_OFFSET, fileIdentifier());
                UUID fileWrite = UUID.randomUUID();
                UUID dataWrite = UUID.randomUUID();
                SampleFiles.write(ch, VhdxLayout.HEADER1_OFFSET, header(l, 1, fileWrite, dataWrite));
                SampleFiles.write(ch, VhdxLayout.HEADER2_OFFSET, header(l, 2, fileWrite, dataWrite));
                byte[] regions = regionTable(l);
                SampleFiles.write(ch, VhdxLayout.REGION_TABLE1_OFFSET, regions);
                SampleFiles.write(ch, VhdxLayout.REGION_TABLE2_OFFSET, regions);
                SampleFiles.write(ch, l.metadataOffset(), metadata(l, fixed));
                if (state != VhdxLayout.STATE_NOT_PRESENT) {
                    writeBat(ch, l, state);
                }
                long end = fixed ? l.payloadOffset() + virtual : l.payloadOffset();
                SampleFiles.extend(ch, end);
            }
        });
        return virtual;
    }

    /** qemu's choice when block_size is 0 or absent. */
    static long defaultBlockSize(long virtualSize) {
        if (virtualSize > 32 * VhdxLayout.TIB) {
            return 64 * MIB;
        } else if (virtualSize > 100L << 30) {
            return 32 * MIB;
        } else if (virtualSize > 1L << 30) {
            return 16 * MIB;
        }
        return 8 * MIB;
    }

    private static byte[] fileIdentifier() {
        ByteBuffer b = le(VhdxLayout.FILE_ID_CREATOR + VhdxLayout.FILE_ID_CREATOR_SIZE);
        b.put(0, VhdxLayout.FILE_ID_SIGNATURE);
        b.put(VhdxLayout.FILE_ID_CREATOR, CREATOR.getBytes(StandardCharsets.UTF_16LE));
        return b.array();
    }

    private static byte[] header(Layout l, long sequence, UUID fileWrite, UUID dataWrite) {
        ByteBuffer b = le(VhdxLayout.HEADER_SIZE);
        b.putInt(VhdxLayout.H_SIGNATURE, (int) VhdxLayout.HEADER_SIGNATURE);
        b.putLong(VhdxLayout.H_SEQUENCE, sequence);
        b.put(VhdxLayout.H_FILE_WRITE_GUID, Guids.mixedEndian(fileWrite));
        b.put(VhdxLayout.H_DATA_WRITE_GUID, Guids.mixedEndian(dataWrite));
        // log GUID (48) stays zero: the log is empty, nothing to replay
        b.putShort(VhdxLayout.H_LOG_VERSION, (short) 0);
        b.putShort(VhdxLayout.H_VERSION, (short) 1);
        b.putInt(VhdxLayout.H_LOG_LENGTH, (int) l.logLength());
        b.putLong(VhdxLayout.H_LOG_OFFSET, l.logOffset());
        return checksummed(b, VhdxLayout.H_CHECKSUM);
    }

    private static byte[] regionTable(Layout l) {
        ByteBuffer b = le(VhdxLayout.REGION_TABLE_SIZE);
        b.putInt(VhdxLayout.R_SIGNATURE, (int) VhdxLayout.REGION_SIGNATURE);
        b.putInt(VhdxLayout.R_ENTRY_COUNT, 2);
        regionEntry(b, 0, VhdxLayout.BAT_GUID, l.batOffset(), l.batLength());
        regionEntry(b, 1, VhdxLayout.METADATA_GUID, l.metadataOffset(), MIB);
        return checksummed(b, VhdxLayout.R_CHECKSUM);
    }

    private static void regionEntry(ByteBuffer b, int i, String guid, long offset, long length) {
        int at = VhdxLayout.R_ENTRIES + i * VhdxLayout.R_ENTRY_SIZE;
        b.put(at, Guids.mixedEndian(UUID.fromString(guid)));
        b.putLong(at + 16, offset);
        b.putInt(at + 24, (int) length);
        b.putInt(at + 28, FLAG_REQUIRED); // both regions must be understood by a reader
    }

    /** The metadata table (64 KiB) and its five items right after it, as qemu writes them. */
    private static byte[] metadata(Layout l, boolean fixed) {
        int items = VhdxLayout.METADATA_TABLE_SIZE;
        ByteBuffer b = le(items + 40);
        b.put(0, VhdxLayout.METADATA_SIGNATURE);
        b.putShort(VhdxLayout.M_ENTRY_COUNT, (short) 5);
        metadataEntry(b, 0, VhdxLayout.FILE_PARAMETERS_GUID, items, 8, ITEM_REQUIRED);
        metadataEntry(b, 1, VhdxLayout.VIRTUAL_DISK_SIZE_GUID, items + 8, 8, ITEM_REQUIRED | ITEM_VIRTUAL_DISK);
        metadataEntry(b, 2, VhdxLayout.PAGE83_GUID, items + 16, 16, ITEM_REQUIRED | ITEM_VIRTUAL_DISK);
        metadataEntry(b, 3, VhdxLayout.LOGICAL_SECTOR_SIZE_GUID, items + 32, 4, ITEM_REQUIRED | ITEM_VIRTUAL_DISK);
        metadataEntry(b, 4, VhdxLayout.PHYSICAL_SECTOR_SIZE_GUID, items + 36, 4, ITEM_REQUIRED | ITEM_VIRTUAL_DISK);
        b.putInt(items, (int) l.blockSize());
        b.putInt(items + 4, fixed ? 1 : 0); // leave blocks allocated
        b.putLong(items + 8, l.virtualSize());
        b.put(items + 16, Guids.mixedEndian(UUID.randomUUID())); // page 83 data: the disk's identifier
        b.putInt(items + 32, l.logicalSector());
        b.putInt(items + 36, Math.max(PHYSICAL_SECTOR, l.logicalSector()));
        return b.array();
    }

    private static void metadataEntry(ByteBuffer b, int i, String guid, int offset, int length, int flags) {
        int at = VhdxLayout.M_ENTRIES + i * VhdxLayout.M_ENTRY_SIZE;
        b.put(at, Guids.mixedEndian(UUID.fromString(guid)));
        b.putInt(at + 16, offset);
        b.putInt(at + 20, length);
        b.putInt(at + 24, flags);
    }

    /** Payload entries get {@code state} (and, when allocated, their block's offset); sector bitmaps stay 0. */
    private static void writeBat(FileChannel ch, Layout l, int state) throws IOException {
        ByteBuffer chunk = ByteBuffer.allocate(8 * BAT_WRITE_ENTRIES).order(VhdxLayout.ORDER);
        long written = 0;
        for (long block = 0; block < l.payloadBlocks(); block++) {
            long index = VhdxLayout.batIndex(block, l.chunkRatio());
            if (index - written >= BAT_WRITE_ENTRIES) {
                SampleFiles.write(ch, l.batOffset() + 8 * written, chunk.array());
                java.util.Arrays.fill(chunk.array(), (byte) 0);
                written += BAT_WRITE_ENTRIES;
            }
            long offset = state == VhdxLayout.STATE_FULLY_PRESENT
                    ? roundUp(l.payloadOffset() + block * l.blockSize(), MIB) : 0;
            long entry = VhdxLayout.batEntry(state, offset);
            chunk.putLong((int) (8 * (index - written)), entry);
        }
        long rest = l.batEntries() - written;
        SampleFiles.write(ch, l.batOffset() + 8 * written, java.util.Arrays.copyOf(chunk.array(), (int) (8 * rest)));
    }

    private static byte[] checksummed(ByteBuffer b, int checksumAt) {
        b.putInt(checksumAt, (int) VhdxLayout.crc32c(b.array(), checksumAt));
        return b.array();
    }

    private static ByteBuffer le(int size) {
        return ByteBuffer.allocate(size).order(VhdxLayout.ORDER);
    }

    private static long roundUp(long a, long b) {
        return SampleFiles.ceilDiv(a, b) * b;
    }
}
