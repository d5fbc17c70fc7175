package org.diskplan.probe.vmdk;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.diskplan.probe.LayoutRegion;
import org.diskplan.probe.ProbedImage;

import static org.assertj.core.api.Assertions.assertThat;

/** Hand-built VMDK images for the tests. */
final class VmdkImages {
    static final int SECTOR = 512;

    private VmdkImages() {
    }

    static String descriptor(String createType, long sectors, String file) {
        return "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\ncreateType=\"" + createType
                + "\"\n\n# Extent description\nRW " + sectors + " SPARSE \"" + file + "\"\n\n"
                + "# The Disk Data Base\n#DDB\n\nddb.virtualHWVersion = \"4\"\nddb.geometry.cylinders = \"2\"\n"
                + "ddb.geometry.heads = \"16\"\nddb.geometry.sectors = \"63\"\nddb.adapterType = \"ide\"\n";
    }

    /** A monolithicSparse-like extent. */
    static final class Sparse {
        long capacity = 2048;
        int grainSize = 8;
        int numGtes = 16;
        boolean redundant = true;
        String descriptor = descriptor("monolithicSparse", 2048, "test.vmdk");
        int version = 1;
        /** Virtual grain indices that get data, in file order. */
        int[] grains = {0, 3, 4, 17, 255};
        boolean zeroedGrainFlag;
        int[] zeroedGrains = {};

        // computed layout, in sectors
        long gdEntries;
        long descSectors = 20;
        long rgdOffset;
        long gdOffset;
        long overHead;
        long gtSectors;
        long gdSectors;

        byte[] build() {
            long cover = (long) numGtes * grainSize;
            gdEntries = (capacity + cover - 1) / cover;
            gdSectors = (gdEntries * 4 + SECTOR - 1) / SECTOR;
            gtSectors = ((long) numGtes * 4 + SECTOR - 1) / SECTOR;
            long next = descriptor == null ? 1 : 1 + descSectors;
            if (redundant) {
                rgdOffset = next;
                next += gdSectors + gdEntries * gtSectors;
            }
            gdOffset = next;
            next += gdSectors + gdEntries * gtSectors;
            overHead = (next + grainSize - 1) / grainSize * grainSize;
            long size = (overHead + (long) grains.length * grainSize) * SECTOR;
            ByteBuffer b = ByteBuffer.allocate((int) size).order(ByteOrder.LITTLE_ENDIAN);
            header(b, 0, gdOffset);
            if (descriptor != null) {
                b.put(SECTOR, descriptor.getBytes(StandardCharsets.US_ASCII));
            }
            for (int copy = 0; copy < (redundant ? 2 : 1); copy++) {
                long dir = copy == 0 ? gdOffset : rgdOffset;
                for (int i = 0; i < gdEntries; i++) {
                    long gt = dir + gdSectors + i * gtSectors;
                    b.putInt((int) (dir * SECTOR + i * 4), (int) gt);
                }
                for (int k = 0; k < grains.length; k++) {
                    int g = grains[k];
                    long gt = dir + gdSectors + (g / numGtes) * gtSectors;
                    b.putInt((int) (gt * SECTOR + (g % numGtes) * 4), (int) (overHead + (long) k * grainSize));
                }
                for (int g : zeroedGrains) {
                    long gt = dir + gdSectors + (g / numGtes) * gtSectors;
                    b.putInt((int) (gt * SECTOR + (g % numGtes) * 4), 1);
                }
            }
            for (int k = 0; k < grains.length; k++) {
                long off = (overHead + (long) k * grainSize) * SECTOR;
                for (int i = 0; i < grainSize * SECTOR; i += 97) {
                    b.put((int) (off + i), (byte) (k + 1));
                }
            }
            return b.array();
        }

        void header(ByteBuffer b, int at, long gd) {
            b.put(at, new byte[] {'K', 'D', 'M', 'V'});
            b.putInt(at + 4, version);
            long flags = 1 | (redundant ? 2 : 0) | (zeroedGrainFlag ? 4 : 0);
            b.putInt(at + 8, (int) flags);
            b.putLong(at + 12, capacity);
            b.putLong(at + 20, grainSize);
            b.putLong(at + 28, descriptor == null ? 0 : 1);
            b.putLong(at + 36, descriptor == null ? 0 : descSectors);
            b.putInt(at + 44, numGtes);
            b.putLong(at + 48, redundant ? rgdOffset : 0);
            b.putLong(at + 56, gd);
            b.putLong(at + 64, overHead);
            b.put(at + 72, (byte) 0);
            b.put(at + 73, new byte[] {'\n', ' ', '\r', '\n'});
            b.putShort(at + 77, (short) 0);
        }
    }

    /**
     * A streamOptimized extent whose header says "grain directory at end": compressed grains with
     * markers, grain tables and directory with markers, footer, end-of-stream marker.
     */
    static byte[] streamOptimized(long capacity, int[] grains) {
        int grainSize = 128;
        int numGtes = 512;
        long cover = (long) grainSize * numGtes;
        int gdEntries = (int) ((capacity + cover - 1) / cover);
        ByteBuffer b = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
        String desc = descriptor("streamOptimized", capacity, "so.vmdk");
        b.put(SECTOR, desc.getBytes(StandardCharsets.US_ASCII));
        long next = 128; // overHead: first grain at 64 KiB
        long[] grainSector = new long[grains.length];
        for (int k = 0; k < grains.length; k++) {
            grainSector[k] = next;
            int off = (int) (next * SECTOR);
            b.putLong(off, (long) grains[k] * grainSize);
            int compressedSize = 700 + 300 * k;
            b.putInt(off + 8, compressedSize);
            for (int i = 0; i < compressedSize; i++) {
                b.put(off + 12 + i, (byte) (i * 31 + k));
            }
            next += (12 + compressedSize + SECTOR - 1) / SECTOR;
        }
        long[] gtSector = new long[gdEntries];
        for (int t = 0; t < gdEntries; t++) {
            boolean used = false;
            for (int g : grains) {
                used |= g / numGtes == t;
            }
            if (!used) {
                continue;
            }
            marker(b, next, 4, 0, 1); // grain table marker: 4 sectors of table follow
            next++;
            gtSector[t] = next;
            for (int k = 0; k < grains.length; k++) {
                if (grains[k] / numGtes == t) {
                    b.putInt((int) (next * SECTOR + (grains[k] % numGtes) * 4), (int) grainSector[k]);
                }
            }
            next += 4;
        }
        long gdSectors = (gdEntries * 4L + SECTOR - 1) / SECTOR;
        marker(b, next, gdSectors, 0, 2);
        next++;
        long gd = next;
        for (int t = 0; t < gdEntries; t++) {
            b.putInt((int) (gd * SECTOR + t * 4), (int) gtSector[t]);
        }
        next += gdSectors;
        marker(b, next, 1, 0, 3);
        next++;
        streamHeader(b, (int) (next * SECTOR), capacity, gd);
        next++;
        marker(b, next, 0, 0, 0);
        next++;
        streamHeader(b, 0, capacity, 0xffffffffffffffffL);
        byte[] out = new byte[(int) (next * SECTOR)];
        b.get(0, out);
        return out;
    }

    private static void streamHeader(ByteBuffer b, int at, long capacity, long gd) {
        b.put(at, new byte[] {'K', 'D', 'M', 'V'});
        b.putInt(at + 4, 3);
        b.putInt(at + 8, 0x30001);
        b.putLong(at + 12, capacity);
        b.putLong(at + 20, 128);
        b.putLong(at + 28, 1);
        b.putLong(at + 36, 20);
        b.putInt(at + 44, 512);
        b.putLong(at + 48, 0);
        b.putLong(at + 56, gd);
        b.putLong(at + 64, 128);
        b.put(at + 73, new byte[] {'\n', ' ', '\r', '\n'});
        b.putShort(at + 77, (short) 1);
    }

    private static void marker(ByteBuffer b, long sector, long val, int size, int type) {
        int off = (int) (sector * SECTOR);
        b.putLong(off, val);
        b.putInt(off + 8, size);
        b.putInt(off + 12, type);
    }

    /** The layout map covers [0, fileSize) without gaps or overlaps and stays small. */
    static void assertCoversFile(ProbedImage img) {
        List<LayoutRegion> regions = img.regions();
        assertThat(regions.size()).isLessThanOrEqualTo(10_000);
        long pos = 0;
        for (LayoutRegion r : regions) {
            assertThat(r.offset()).as("region %s", r).isEqualTo(pos);
            assertThat(r.length()).as("region %s", r).isPositive();
            pos = r.end();
        }
        assertThat(pos).isEqualTo(img.fileSize());
    }

    static List<Integer> fieldOffsets(ProbedImage img) {
        List<Integer> out = new ArrayList<>();
        img.fields().forEach(f -> {
            if (f.offset() < Integer.MAX_VALUE && f.length() > 0) {
                out.add((int) f.offset());
            }
        });
        return out;
    }
}
