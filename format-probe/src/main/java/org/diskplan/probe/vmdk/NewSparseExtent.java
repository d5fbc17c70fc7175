package org.diskplan.probe.vmdk;

import java.nio.ByteBuffer;

/**
 * The metadata of a new, empty hosted sparse extent (VMDK4 "KDMV"), laid out as qemu's
 * vmdk driver lays one: the header in sector 0, the descriptor area (left empty), the
 * redundant grain directory and its grain tables (when the redundant flag is set), the
 * grain directory and its grain tables, the whole rounded up to a grain. Every grain
 * table is all zeros (no grain allocated), so only the header and the two directories
 * hold bytes; the tables are holes. Offsets are in sectors.
 *
 * @param capacity          the extent's sectors
 * @param grainSize         sectors per grain
 * @param numGTEsPerGT      entries per grain table
 * @param descriptorOffset  the descriptor area's first sector (0: none)
 * @param descriptorSize    its sectors
 * @param gtCount           grain tables (= grain directory entries)
 * @param gdSectors         sectors of one grain directory
 * @param rgdOffset         redundant grain directory (0 without the redundant flag)
 * @param gdOffset          grain directory
 * @param overHead          first grain: the metadata rounded up to a whole grain (the file length)
 */
public record NewSparseExtent(long capacity, long grainSize, long numGTEsPerGT, long descriptorOffset,
                              long descriptorSize, long gtCount, long gdSectors, long rgdOffset, long gdOffset,
                              long overHead) {

    /** The layout of an extent of {@code capacity} sectors with the grain geometry of {@code like}. */
    public static NewSparseExtent like(VmdkHeader like, long capacity) {
        boolean redundant = (like.flags() & VmdkLayout.FLAG_REDUNDANT_GRAIN_TABLE) != 0;
        long gtCount = VmdkLayout.gdEntries(capacity, like.grainSize(), like.numGTEsPerGT());
        long gdSectors = VmdkLayout.sectorsFor(gtCount * VmdkLayout.ENTRY_SIZE);
        long gtSectors = VmdkLayout.sectorsFor(VmdkLayout.grainTableBytes(like.numGTEsPerGT()));
        long descOff = like.descriptorOffset();
        long descSize = descOff == 0 ? 0 : like.descriptorSize();
        long next = descOff == 0 ? 1 : descOff + descSize;
        long rgd = 0;
        if (redundant) {
            rgd = next;
            next = rgd + gdSectors + gtSectors * gtCount;
        }
        long gd = next;
        long end = gd + gdSectors + gtSectors * gtCount;
        long overHead = (end + like.grainSize() - 1) / like.grainSize() * like.grainSize();
        return new NewSparseExtent(capacity, like.grainSize(), like.numGTEsPerGT(), descOff, descSize, gtCount,
                gdSectors, rgd, gd, overHead);
    }

    /** The 512-byte header: {@code like}'s version and flags, this layout's fields, a clean shutdown. */
    public byte[] header(VmdkHeader like) {
        ByteBuffer h = ByteBuffer.allocate(VmdkLayout.HEADER_SIZE).order(VmdkLayout.ORDER);
        h.put(VmdkLayout.OFF_MAGIC, VmdkLayout.MAGIC);
        h.putInt(VmdkLayout.OFF_VERSION, (int) like.version());
        h.putInt(VmdkLayout.OFF_FLAGS, (int) like.flags());
        h.putLong(VmdkLayout.OFF_CAPACITY, capacity);
        h.putLong(VmdkLayout.OFF_GRAIN_SIZE, grainSize);
        h.putLong(VmdkLayout.OFF_DESCRIPTOR_OFFSET, descriptorOffset);
        h.putLong(VmdkLayout.OFF_DESCRIPTOR_SIZE, descriptorSize);
        h.putInt(VmdkLayout.OFF_NUM_GTES_PER_GT, (int) numGTEsPerGT);
        h.putLong(VmdkLayout.OFF_RGD_OFFSET, rgdOffset);
        h.putLong(VmdkLayout.OFF_GD_OFFSET, gdOffset);
        h.putLong(VmdkLayout.OFF_OVERHEAD, overHead);
        h.put(VmdkLayout.OFF_NEWLINE_CHARS, VmdkLayout.NEWLINE_CHARS);
        return h.array();
    }

    /** A grain directory at sector {@code at} whose entries point at the grain tables right after it. */
    public byte[] directory(long at) {
        long gtSectors = VmdkLayout.sectorsFor(VmdkLayout.grainTableBytes(numGTEsPerGT));
        ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(gtCount * VmdkLayout.ENTRY_SIZE)).order(VmdkLayout.ORDER);
        for (long i = 0; i < gtCount; i++) {
            b.putInt(Math.toIntExact(i * VmdkLayout.ENTRY_SIZE), (int) (at + gdSectors + i * gtSectors));
        }
        return b.array();
    }
}
