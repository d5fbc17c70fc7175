package org.diskplan.probe.vdi;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.diskplan.probe.SampleFiles;
import org.diskplan.probe.SampleOptions;
import org.diskplan.probe.SampleWriter;

/**
 * VDI 1.1 images laid out as {@code qemu-img create -f vdi} lays them out: the
 * 72-byte pre-header and the 384-byte header qemu writes, the block map at 512,
 * the data area after the map rounded to 512 bytes, 1 MiB blocks. Dynamic images
 * map no block; static ones map block i to data block i and the file holds them all
 * (sparse). Options: {@code subformat=dynamic|static} (or qemu's {@code static=on}).
 */
public final class VdiSampleWriter implements SampleWriter {
    static final String TEXT = "<<< DiskPlan VM Virtual Disk Image >>>\n";
    static final int MAP_OFFSET = 512;

    @Override
    public String format() {
        return "vdi";
    }

    @Override
    public List<String> subformats() {
        return List.of("dynamic", "static");
    }

    @Override
    public long write(Path file, long size, Map<String, String> options) throws IOException {
        boolean fixed = isStatic(options);
        if (size <= 0 || size > Long.MAX_VALUE - 511) {
            throw new IllegalArgumentException("Image size must be positive");
        }
        long virtual = (size + 511) & ~511L;
        long blocks = (virtual + VdiProbe.QEMU_BLOCK_SIZE - 1) / VdiProbe.QEMU_BLOCK_SIZE;
        if (blocks > VdiProbe.MAX_BLOCKS) {
            throw new IllegalArgumentException("Unsupported VDI image size (size is 0x" + Long.toHexString(virtual)
                    + ", max supported is 0x" + Long.toHexString(VdiProbe.MAX_BLOCKS * VdiProbe.QEMU_BLOCK_SIZE)
                    + ")");
        }
        long mapBytes = (blocks * 4 + 511) & ~511L;
        long dataOffset = MAP_OFFSET + mapBytes;
        SampleFiles.creating(files -> {
            try (RandomAccessFile raf = new RandomAccessFile(files.create(file).toFile(), "rw")) {
                writeImage(raf, virtual, blocks, dataOffset, fixed);
            }
        });
        return virtual;
    }

    private static void writeImage(RandomAccessFile raf, long virtual, long blocks, long dataOffset, boolean fixed)
            throws IOException {
        raf.write(header(virtual, blocks, dataOffset, fixed));
        // the block map, in chunks: free (0xffffffff) or, for static images, block i at i
        int chunkEntries = 1 << 20;
        ByteBuffer chunk = ByteBuffer.allocate(chunkEntries * 4).order(ByteOrder.LITTLE_ENDIAN);
        raf.seek(MAP_OFFSET);
        for (long first = 0; first < blocks; first += chunkEntries) {
            int n = (int) Math.min(chunkEntries, blocks - first);
            chunk.clear();
            for (int i = 0; i < n; i++) {
                chunk.putInt(fixed ? (int) (first + i) : (int) VdiProbe.BLOCK_FREE);
            }
            raf.write(chunk.array(), 0, n * 4);
        }
        raf.setLength(fixed ? dataOffset + blocks * VdiProbe.QEMU_BLOCK_SIZE : dataOffset);
    }

    private static boolean isStatic(Map<String, String> options) {
        SampleOptions o = SampleOptions.of("vdi", options, java.util.Set.of("subformat", "static"));
        return o.has("static") ? o.bool("static", false)
                : o.choice("subformat", List.of("dynamic", "static")).equals("static");
    }

    private static byte[] header(long virtual, long blocks, long dataOffset, boolean fixed) {
        ByteBuffer b = ByteBuffer.allocate(MAP_OFFSET).order(ByteOrder.LITTLE_ENDIAN);
        b.put(VdiProbe.OFF_TEXT, TEXT.getBytes(StandardCharsets.US_ASCII));
        b.putInt(VdiProbe.OFF_SIGNATURE, (int) VdiProbe.SIGNATURE);
        b.putInt(VdiProbe.OFF_VERSION, (int) VdiProbe.VERSION_1_1);
        b.putInt(VdiProbe.OFF_HEADER_SIZE, VdiProbe.HEADER_SIZE_QEMU);
        b.putInt(VdiProbe.OFF_IMAGE_TYPE, fixed ? VdiProbe.TYPE_FIXED : VdiProbe.TYPE_DYNAMIC);
        b.putInt(VdiProbe.OFF_BLOCKS, MAP_OFFSET);
        b.putInt(VdiProbe.OFF_DATA, (int) dataOffset);
        b.putInt(VdiProbe.OFF_SECTOR_SIZE, VdiProbe.SECTOR);
        b.putLong(VdiProbe.OFF_DISK_SIZE, virtual);
        b.putInt(VdiProbe.OFF_BLOCK_SIZE, (int) VdiProbe.QEMU_BLOCK_SIZE);
        b.putInt(VdiProbe.OFF_BLOCK_COUNT, (int) blocks);
        b.putInt(VdiProbe.OFF_BLOCKS_ALLOCATED, fixed ? (int) blocks : 0);
        putUuid(b, VdiProbe.OFF_UUID_CREATE, UUID.randomUUID());
        putUuid(b, VdiProbe.OFF_UUID_MODIFY, UUID.randomUUID());
        return b.array();
    }

    /** VirtualBox stores UUIDs as RTUUID: the first three fields little-endian. */
    private static void putUuid(ByteBuffer b, int at, UUID id) {
        ByteBuffer be = ByteBuffer.allocate(16).putLong(id.getMostSignificantBits())
                .putLong(id.getLeastSignificantBits());
        byte[] raw = be.array();
        byte[] le = {raw[3], raw[2], raw[1], raw[0], raw[5], raw[4], raw[7], raw[6]};
        b.put(at, le);
        b.put(at + 8, raw, 8, 8);
    }
}
