package org.diskplan.e2e;

import static org.diskplan.probe.vdi.VdiLayout.*;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.UUID;
import org.diskplan.probe.Guids;

/**
 * Empty VDIs laid out as VirtualBox's VDI.cpp creates them (vdiInitHeader, vdiImageCreateFile),
 * for the tests: the pre-header text "<<< Oracle VM VirtualBox Disk Image >>>\n", the
 * 400-byte header 1.1+ (VDIHEADER1PLUS) with the LCHS geometry, offBlocks and offData
 * aligned to VDI_DATA_ALIGN (1 MiB), so the map starts at 1 MiB and the data at the next
 * MiB after it; a fixed image maps block i to host block i with every block in the file.
 * {@code extraEntries} makes the map longer than cbDisk needs (both readers accept that).
 * Guest data is then written with qemu-io, in whatever order the test wants the blocks
 * allocated.
 */
final class VirtualBoxVdi {
    static final String TEXT = "<<< Oracle VM VirtualBox Disk Image >>>\n";
    /** VDICore.h VDI_DATA_ALIGN. */
    static final long DATA_ALIGN = 1 << 20;

    private VirtualBoxVdi() {
    }

    static void create(Path file, long cbDisk, boolean fixed, int extraEntries) throws IOException {
        long blockSize = QEMU_BLOCK_SIZE;
        long blocks = blocksFor(cbDisk, blockSize) + extraEntries;
        long offBlocks = align(PRE_HEADER_SIZE + HEADER_SIZE_1PLUS);
        long offData = align(offBlocks + mapBytes(blocks));
        ByteBuffer h = ByteBuffer.allocate(OFF_HEADER_END_1PLUS).order(ORDER);
        h.put(OFF_TEXT, TEXT.getBytes(StandardCharsets.US_ASCII));
        h.putInt(OFF_SIGNATURE, (int) SIGNATURE);
        h.putInt(OFF_VERSION, (int) VERSION_1_1);
        h.putInt(OFF_HEADER_SIZE, HEADER_SIZE_1PLUS);
        h.putInt(OFF_IMAGE_TYPE, fixed ? TYPE_FIXED : TYPE_DYNAMIC);
        h.put(OFF_DESCRIPTION, "made like VirtualBox".getBytes(StandardCharsets.US_ASCII));
        h.putInt(OFF_BLOCKS, (int) offBlocks);
        h.putInt(OFF_DATA, (int) offData);
        h.putInt(OFF_SECTOR_SIZE, SECTOR); // legacy geometry: not calculated, sector size 512
        h.putLong(OFF_DISK_SIZE, cbDisk);
        h.putInt(OFF_BLOCK_SIZE, (int) blockSize);
        h.putInt(OFF_BLOCK_COUNT, (int) blocks);
        h.putInt(OFF_BLOCKS_ALLOCATED, fixed ? (int) blocks : 0);
        h.put(OFF_UUID_CREATE, Guids.mixedEndian(UUID.randomUUID()));
        h.put(OFF_UUID_MODIFY, Guids.mixedEndian(UUID.randomUUID()));
        // LCHS as VirtualBox stores the one its caller computed: 16 heads, 63 sectors
        long cylinders = Math.min(16383, cbDisk / SECTOR / (16 * 63));
        h.putInt(OFF_LCHS_CYLINDERS, (int) cylinders);
        h.putInt(OFF_LCHS_HEADS, 16);
        h.putInt(OFF_LCHS_SECTORS, 63);
        h.putInt(OFF_LCHS_SECTOR_SIZE, SECTOR);
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(0);
            raf.write(h.array());
            ByteBuffer map = ByteBuffer.allocate((int) mapBytes(blocks)).order(ORDER);
            for (long i = 0; i < blocks; i++) {
                map.putInt(fixed ? (int) i : (int) BLOCK_FREE);
            }
            raf.seek(offBlocks);
            raf.write(map.array());
            raf.setLength(fixed ? blockOffset(offData, blocks, blockSize) : offData);
        }
    }

    private static long align(long v) {
        return (v + DATA_ALIGN - 1) / DATA_ALIGN * DATA_ALIGN;
    }
}
