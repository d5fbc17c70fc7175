package org.diskplan.probe.vhdx;

import static org.diskplan.probe.vhdx.VhdxProbe.MIB;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
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
 * end where the virtual size ends, as qemu does.
 */
public final class VhdxSampleWriter implements SampleWriter {
    static final String CREATOR = "DiskPlan sample";
    static final int LOGICAL_SECTOR = 512;
    static final int PHYSICAL_SECTOR = 512;
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
     * @param virtualSize  virtual disk size (a multiple of 512)
     * @param blockSize    payload block size
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
    record Layout(long virtualSize, long blockSize, long chunkRatio, long payloadBlocks, long batEntries,
                  long logOffset, long logLength, long batOffset, long batLength, long metadataOffset,
                  long payloadOffset) {
        static Layout of(long virtualSize, long blockSize, long logLength) {
            long chunkRatio = VhdxProbe.SECTORS_PER_BITMAP * LOGICAL_SECTOR / blockSize;
            long payload = SampleFiles.ceilDiv(virtualSize, blockSize);
            // qemu's vhdx_calc_bat_entries: a sector bitmap entry after every chunk ratio payload entries
            long entries = payload + (payload - 1) / chunkRatio;
            long logOffset = MIB;
            long batOffset = roundUp(logOffset + logLength, MIB);
            long batLength = roundUp(entries * 8, MIB);
            long metadataOffset = roundUp(batOffset + batLength, MIB);
            return new Layout(virtualSize, blockSize, chunkRatio, payload, entries, logOffset, logLength, batOffset,
                    batLength, metadataOffset, metadataOffset + MIB + PAYLOAD_GAP);
        }

        /** The BAT index of payload block {@code block}. */
        long batIndex(long block) {
            return block + block / chunkRatio;
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
                Set.of("subformat", "block_size", "log_size", "block_state_zero"));
        boolean fixed = o.choice("subformat", subformats()).equals("fixed");
        if (size <= 0 || size > VhdxProbe.MAX_VIRTUAL_SIZE) {
            throw new IllegalArgumentException("vhdx images hold 1 byte to 64 TiB, not " + size);
        }
        long virtual = roundUp(size, LOGICAL_SECTOR);
        long blockSize = o.size("block_size", 0);
        if (blockSize == 0) {
            blockSize = defaultBlockSize(virtual);
        }
        if (blockSize < VhdxProbe.MIN_BLOCK_SIZE || blockSize > VhdxProbe.MAX_BLOCK_SIZE
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
        int state = fixed ? VhdxProbe.STATE_FULLY_PRESENT
                : o.bool("block_state_zero", true) ? VhdxProbe.STATE_ZERO : VhdxProbe.STATE_NOT_PRESENT;
        Layout l = Layout.of(virtual, blockSize, logLength);

        SampleFiles.creating(files -> {
            try (FileChannel ch = FileChannel.open(files.create(file), StandardOpenOption.WRITE)) {
                SampleFiles.write(ch, VhdxProbe.FILE_ID_OFFSET, fileIdentifier());
                UUID fileWrite = UUID.randomUUID();
                UUID dataWrite = UUID.randomUUID();
                SampleFiles.write(ch, VhdxProbe.HEADER1_OFFSET, header(l, 1, fileWrite, dataWrite));
                SampleFiles.write(ch, VhdxProbe.HEADER2_OFFSET, header(l, 2, fileWrite, dataWrite));
                byte[] regions = regionTable(l);
                SampleFiles.write(ch, VhdxProbe.REGION_TABLE1_OFFSET, regions);
                SampleFiles.write(ch, VhdxProbe.REGION_TABLE2_OFFSET, regions);
                SampleFiles.write(ch, l.metadataOffset(), metadata(l, fixed));
                if (state != VhdxProbe.STATE_NOT_PRESENT) {
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
        if (virtualSize > 32 * VhdxProbe.TIB) {
            return 64 * MIB;
        } else if (virtualSize > 100L << 30) {
            return 32 * MIB;
        } else if (virtualSize > 1L << 30) {
            return 16 * MIB;
        }
        return 8 * MIB;
    }

    private static byte[] fileIdentifier() {
        ByteBuffer b = le(VhdxProbe.FILE_ID_CREATOR + VhdxProbe.FILE_ID_CREATOR_SIZE);
        b.put(0, VhdxProbe.FILE_ID_SIGNATURE);
        b.put(VhdxProbe.FILE_ID_CREATOR, CREATOR.getBytes(StandardCharsets.UTF_16LE));
        return b.array();
    }

    private static byte[] header(Layout l, long sequence, UUID fileWrite, UUID dataWrite) {
        ByteBuffer b = le(VhdxProbe.HEADER_SIZE);
        b.putInt(VhdxProbe.H_SIGNATURE, (int) VhdxProbe.HEADER_SIGNATURE);
        b.putLong(VhdxProbe.H_SEQUENCE, sequence);
        b.put(VhdxProbe.H_FILE_WRITE_GUID, guidBytes(fileWrite));
        b.put(VhdxProbe.H_DATA_WRITE_GUID, guidBytes(dataWrite));
        // log GUID (48) stays zero: the log is empty, nothing to replay
        b.putShort(VhdxProbe.H_LOG_VERSION, (short) 0);
        b.putShort(VhdxProbe.H_VERSION, (short) 1);
        b.putInt(VhdxProbe.H_LOG_LENGTH, (int) l.logLength());
        b.putLong(VhdxProbe.H_LOG_OFFSET, l.logOffset());
        return checksummed(b, VhdxProbe.H_CHECKSUM);
    }

    private static byte[] regionTable(Layout l) {
        ByteBuffer b = le(VhdxProbe.REGION_TABLE_SIZE);
        b.putInt(VhdxProbe.R_SIGNATURE, (int) VhdxProbe.REGION_SIGNATURE);
        b.putInt(VhdxProbe.R_ENTRY_COUNT, 2);
        regionEntry(b, 0, VhdxProbe.BAT_GUID, l.batOffset(), l.batLength());
        regionEntry(b, 1, VhdxProbe.METADATA_GUID, l.metadataOffset(), MIB);
        return checksummed(b, VhdxProbe.R_CHECKSUM);
    }

    private static void regionEntry(ByteBuffer b, int i, String guid, long offset, long length) {
        int at = VhdxProbe.R_ENTRIES + i * VhdxProbe.R_ENTRY_SIZE;
        b.put(at, guidBytes(UUID.fromString(guid)));
        b.putLong(at + 16, offset);
        b.putInt(at + 24, (int) length);
        b.putInt(at + 28, FLAG_REQUIRED); // both regions must be understood by a reader
    }

    /** The metadata table (64 KiB) and its five items right after it, as qemu writes them. */
    private static byte[] metadata(Layout l, boolean fixed) {
        int items = VhdxProbe.METADATA_TABLE_SIZE;
        ByteBuffer b = le(items + 40);
        b.put(0, VhdxProbe.METADATA_SIGNATURE);
        b.putShort(VhdxProbe.M_ENTRY_COUNT, (short) 5);
        metadataEntry(b, 0, VhdxProbe.FILE_PARAMETERS_GUID, items, 8, ITEM_REQUIRED);
        metadataEntry(b, 1, VhdxProbe.VIRTUAL_DISK_SIZE_GUID, items + 8, 8, ITEM_REQUIRED | ITEM_VIRTUAL_DISK);
        metadataEntry(b, 2, VhdxProbe.PAGE83_GUID, items + 16, 16, ITEM_REQUIRED | ITEM_VIRTUAL_DISK);
        metadataEntry(b, 3, VhdxProbe.LOGICAL_SECTOR_SIZE_GUID, items + 32, 4, ITEM_REQUIRED | ITEM_VIRTUAL_DISK);
        metadataEntry(b, 4, VhdxProbe.PHYSICAL_SECTOR_SIZE_GUID, items + 36, 4, ITEM_REQUIRED | ITEM_VIRTUAL_DISK);
        b.putInt(items, (int) l.blockSize());
        b.putInt(items + 4, fixed ? 1 : 0); // leave blocks allocated
        b.putLong(items + 8, l.virtualSize());
        b.put(items + 16, guidBytes(UUID.randomUUID())); // page 83 data: the disk's identifier
        b.putInt(items + 32, LOGICAL_SECTOR);
        b.putInt(items + 36, PHYSICAL_SECTOR);
        return b.array();
    }

    private static void metadataEntry(ByteBuffer b, int i, String guid, int offset, int length, int flags) {
        int at = VhdxProbe.M_ENTRIES + i * VhdxProbe.M_ENTRY_SIZE;
        b.put(at, guidBytes(UUID.fromString(guid)));
        b.putInt(at + 16, offset);
        b.putInt(at + 20, length);
        b.putInt(at + 24, flags);
    }

    /** Payload entries get {@code state} (and, when allocated, their block's offset); sector bitmaps stay 0. */
    private static void writeBat(FileChannel ch, Layout l, int state) throws IOException {
        ByteBuffer chunk = ByteBuffer.allocate(8 * BAT_WRITE_ENTRIES).order(ByteOrder.LITTLE_ENDIAN);
        long written = 0;
        for (long block = 0; block < l.payloadBlocks(); block++) {
            long index = l.batIndex(block);
            if (index - written >= BAT_WRITE_ENTRIES) {
                SampleFiles.write(ch, l.batOffset() + 8 * written, chunk.array());
                java.util.Arrays.fill(chunk.array(), (byte) 0);
                written += BAT_WRITE_ENTRIES;
            }
            long entry = state;
            if (state == VhdxProbe.STATE_FULLY_PRESENT) {
                entry |= roundUp(l.payloadOffset() + block * l.blockSize(), MIB);
            }
            chunk.putLong((int) (8 * (index - written)), entry);
        }
        long rest = l.batEntries() - written;
        SampleFiles.write(ch, l.batOffset() + 8 * written, java.util.Arrays.copyOf(chunk.array(), (int) (8 * rest)));
    }

    /** A GUID in the Microsoft mixed-endian layout (first three groups little-endian). */
    public static byte[] guidBytes(UUID u) {
        byte[] be = ByteBuffer.allocate(16).putLong(u.getMostSignificantBits())
                .putLong(u.getLeastSignificantBits()).array();
        return new byte[] {be[3], be[2], be[1], be[0], be[5], be[4], be[7], be[6], be[8], be[9], be[10], be[11],
            be[12], be[13], be[14], be[15]};
    }

    private static byte[] checksummed(ByteBuffer b, int checksumAt) {
        b.putInt(checksumAt, (int) VhdxProbe.crc32c(b.array(), checksumAt));
        return b.array();
    }

    private static ByteBuffer le(int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static long roundUp(long a, long b) {
        return SampleFiles.ceilDiv(a, b) * b;
    }
}
