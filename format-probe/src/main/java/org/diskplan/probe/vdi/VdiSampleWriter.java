package org.diskplan.probe.vdi;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.diskplan.probe.Guids;
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
        long virtual = VdiLayout.roundUpToSector(size);
        long blocks = VdiLayout.blocksFor(virtual, VdiLayout.QEMU_BLOCK_SIZE);
        if (blocks > VdiLayout.MAX_BLOCKS) {
            throw new IllegalArgumentException("Unsupported VDI image size (size is 0x" + Long.toHexString(virtual)
                    + ", max supported is 0x" + Long.toHexString(VdiLayout.MAX_BLOCKS * VdiLayout.QEMU_BLOCK_SIZE)
                    + ")");
        }
        long dataOffset = VdiLayout.dataOffsetAfterMap(VdiLayout.QEMU_MAP_OFFSET, blocks);
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
        ByteBuffer chunk = ByteBuffer.allocate(chunkEntries * 4).order(VdiLayout.ORDER);
        raf.seek(VdiLayout.QEMU_MAP_OFFSET);
        for (long first = 0; first < blocks; first += chunkEntries) {
            int n = (int) Math.min(chunkEntries, blocks - first);
            chunk.clear();
            for (int i = 0; i < n; i++) {
                chunk.putInt(fixed ? (int) (first + i) : (int) VdiLayout.BLOCK_FREE);
            }
            raf.write(chunk.array(), 0, n * 4);
        }
        raf.setLength(fixed ? VdiLayout.blockOffset(dataOffset, blocks, VdiLayout.QEMU_BLOCK_SIZE) : dataOffset);
    }

    private static boolean isStatic(Map<String, String> options) {
        SampleOptions o = SampleOptions.of("vdi", options, java.util.Set.of("subformat", "static"));
        return o.has("static") ? o.bool("static", false)
                : o.choice("subformat", List.of("dynamic", "static")).equals("static");
    }

    private static byte[] header(long virtual, long blocks, long dataOffset, boolean fixed) {
        ByteBuffer b = ByteBuffer.allocate(VdiLayout.HEADER_READ).order(VdiLayout.ORDER);
        b.put(VdiLayout.OFF_TEXT, TEXT.getBytes(StandardCharsets.US_ASCII));
        b.putInt(VdiLayout.OFF_SIGNATURE, (int) VdiLayout.SIGNATURE);
        b.putInt(VdiLayout.OFF_VERSION, (int) VdiLayout.VERSION_1_1);
        b.putInt(VdiLayout.OFF_HEADER_SIZE, VdiLayout.HEADER_SIZE_QEMU);
        b.putInt(VdiLayout.OFF_IMAGE_TYPE, fixed ? VdiLayout.TYPE_FIXED : VdiLayout.TYPE_DYNAMIC);
        b.putInt(VdiLayout.OFF_BLOCKS, VdiLayout.QEMU_MAP_OFFSET);
        b.putInt(VdiLayout.OFF_DATA, (int) dataOffset);
        b.putInt(VdiLayout.OFF_SECTOR_SIZE, VdiLayout.SECTOR);
        b.putLong(VdiLayout.OFF_DISK_SIZE, virtual);
        b.putInt(VdiLayout.OFF_BLOCK_SIZE, (int) VdiLayout.QEMU_BLOCK_SIZE);
        b.putInt(VdiLayout.OFF_BLOCK_COUNT, (int) blocks);
        b.putInt(VdiLayout.OFF_BLOCKS_ALLOCATED, fixed ? (int) blocks : 0);
        b.put(VdiLayout.OFF_UUID_CREATE, Guids.mixedEndian(UUID.randomUUID())); // RTUUIDs
        b.put(VdiLayout.OFF_UUID_MODIFY, Guids.mixedEndian(UUID.randomUUID()));
        return b.array();
    }
}
