package org.diskplan.e2e;

import static org.diskplan.probe.vhd.VhdLayout.*;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import org.diskplan.probe.vhd.VhdLayout.Geometry;

/**
 * VHDs laid out the way tools other than qemu lay them out, from documented facts (the VHD
 * specification; the creator table and comments of qemu's block/vpc.c; qemu-iotests 146),
 * for the tests: we cannot ship Hyper-V, Virtual PC or disk2vhd images, so we build their
 * shapes. Each field is explicit: creator application, version and host OS; current_size
 * and a geometry that may address fewer bytes (Virtual PC and disk2vhd write the requested
 * size as current_size and the specification's truncating geometry); block size; a BAT
 * capacity larger than the disk needs; where the dynamic header and the BAT lie; parent
 * locator data on a disk that is not differencing; slack between the BAT and the first
 * block; data blocks aligned to 2 MiB, 4 KiB or only to a sector, allocated in any order;
 * zero sectors between the last block and the footer.
 *
 * <p>Allocated blocks are filled with a pattern per block ({@link #pattern}), their bitmaps
 * all ones; {@link #data()} lists what qemu must read back, as qemu-io "offset length
 * pattern" (only the part inside the size qemu shows).
 *
 * @param name        what the case models
 * @param creator     creator application, 4 bytes ("win ", "vpc ", "d2v ", "vbox", "qem2", "qemu")
 * @param hostOs      creator host OS ("Wi2k", "Mac ")
 * @param version     creator version (major &lt;&lt; 16 | minor)
 * @param fixed       a fixed disk (data from 0, footer after currentSize bytes)
 * @param currentSize the footer's current_size (and original_size)
 * @param geometry    the footer's geometry; null: the specification's for currentSize
 * @param blockSize   dynamic block size
 * @param maxEntries  BAT capacity; 0: what currentSize needs
 * @param headerAt    offset of the dynamic header
 * @param batAt       offset of the BAT
 * @param locator     parent locator data (UTF-16LE path) right after the BAT although the disk is dynamic
 * @param dataAlign   the data of every block (after its bitmap) starts at a multiple of this
 * @param slack       extra bytes between the BAT (or locator) and the first block
 * @param blocks      allocated block indices, in file order
 * @param zeroTail    zero sectors between the last block and the footer
 */
record ForeignVhd(String name, String creator, String hostOs, int version, boolean fixed, long currentSize,
                  Geometry geometry, int blockSize, long maxEntries, long headerAt, long batAt, boolean locator,
                  long dataAlign, long slack, int[] blocks, int zeroTail) {

    static final String LOCATOR_PATH = "C:\\VMs\\parent-that-is-not-used.vhd";

    /** A dynamic disk: footer copy, dynamic header at 512, BAT at 1536, blocks right after the BAT. */
    static ForeignVhd dynamic(String name, String creator, String hostOs, long currentSize, int... blocks) {
        return new ForeignVhd(name, creator, hostOs, 0x0005_0003, false, currentSize, null, DEFAULT_BLOCK_SIZE,
                0, FOOTER_SIZE, FOOTER_SIZE + DYNAMIC_HEADER_SIZE, false, SECTOR, 0, blocks, 0);
    }

    static ForeignVhd fixed(String name, String creator, String hostOs, long currentSize, Geometry geometry) {
        return new ForeignVhd(name, creator, hostOs, 0x0005_0003, true, currentSize, geometry, 0, 0, 0, 0, false,
                SECTOR, 0, new int[0], 0);
    }

    ForeignVhd version(int v) {
        return new ForeignVhd(name, creator, hostOs, v, fixed, currentSize, geometry, blockSize, maxEntries,
                headerAt, batAt, locator, dataAlign, slack, blocks, zeroTail);
    }

    ForeignVhd geometry(Geometry g) {
        return new ForeignVhd(name, creator, hostOs, version, fixed, currentSize, g, blockSize, maxEntries,
                headerAt, batAt, locator, dataAlign, slack, blocks, zeroTail);
    }

    ForeignVhd blockSize(int b) {
        return new ForeignVhd(name, creator, hostOs, version, fixed, currentSize, geometry, b, maxEntries,
                headerAt, batAt, locator, dataAlign, slack, blocks, zeroTail);
    }

    ForeignVhd maxEntries(long n) {
        return new ForeignVhd(name, creator, hostOs, version, fixed, currentSize, geometry, blockSize, n,
                headerAt, batAt, locator, dataAlign, slack, blocks, zeroTail);
    }

    ForeignVhd tables(long header, long bat) {
        return new ForeignVhd(name, creator, hostOs, version, fixed, currentSize, geometry, blockSize, maxEntries,
                header, bat, locator, dataAlign, slack, blocks, zeroTail);
    }

    ForeignVhd withLocator() {
        return new ForeignVhd(name, creator, hostOs, version, fixed, currentSize, geometry, blockSize, maxEntries,
                headerAt, batAt, true, dataAlign, slack, blocks, zeroTail);
    }

    ForeignVhd align(long a) {
        return new ForeignVhd(name, creator, hostOs, version, fixed, currentSize, geometry, blockSize, maxEntries,
                headerAt, batAt, locator, a, slack, blocks, zeroTail);
    }

    ForeignVhd slack(long s) {
        return new ForeignVhd(name, creator, hostOs, version, fixed, currentSize, geometry, blockSize, maxEntries,
                headerAt, batAt, locator, dataAlign, s, blocks, zeroTail);
    }

    ForeignVhd zeroTail(int sectors) {
        return new ForeignVhd(name, creator, hostOs, version, fixed, currentSize, geometry, blockSize, maxEntries,
                headerAt, batAt, locator, dataAlign, slack, blocks, sectors);
    }

    @Override
    public String toString() {
        return name;
    }

    Geometry chs() {
        return geometry != null ? geometry : Geometry.of(currentSize / SECTOR);
    }

    /** The size qemu shows: through the geometry unless the creator is known to write current_size. */
    long qemuSize() {
        return sizeFromGeometry(creator, chs()) ? chs().bytes() : currentSize;
    }

    long entries() {
        return maxEntries > 0 ? maxEntries : batEntries(currentSize, blockSize);
    }

    static int pattern(int block) {
        return 0x40 + block % 0x30;
    }

    /** qemu-io "offset length pattern" for every allocated block, cut to the size qemu shows. */
    List<String> data() {
        List<String> out = new ArrayList<>();
        long size = qemuSize();
        for (int b : blocks) {
            long from = (long) b * blockSize;
            long len = Math.min(blockSize, size - from);
            if (len > 0) {
                out.add(from + " " + len + " 0x" + Integer.toHexString(pattern(b)));
            }
        }
        return out;
    }

    /** Where the locator data lies (dynamic disks with a locator), else -1. */
    long locatorAt() {
        return locator ? batAt + batBytes(entries()) : -1;
    }

    byte[] locatorData() {
        return LOCATOR_PATH.getBytes(StandardCharsets.UTF_16LE);
    }

    void write(Path file) throws IOException {
        Geometry g = chs();
        ByteBuffer f = ByteBuffer.allocate(FOOTER_SIZE).order(ORDER);
        f.put(F_COOKIE, FOOTER_COOKIE);
        f.putInt(F_FEATURES, FEATURES_RESERVED);
        f.putInt(F_VERSION, VERSION_1_0);
        f.putLong(F_DATA_OFFSET, fixed ? NO_DATA_OFFSET : headerAt);
        f.putInt(F_TIMESTAMP, 0x2a00_0000);
        f.put(F_CREATOR_APP, creator.getBytes(StandardCharsets.ISO_8859_1));
        f.putInt(F_CREATOR_VERSION, version);
        f.put(F_CREATOR_OS, hostOs.getBytes(StandardCharsets.ISO_8859_1));
        f.putLong(F_ORIGINAL_SIZE, currentSize);
        f.putLong(F_CURRENT_SIZE, currentSize);
        f.putShort(F_CYLINDERS, (short) g.cylinders());
        f.put(F_HEADS, (byte) g.heads());
        f.put(F_SECTORS, (byte) g.sectorsPerTrack());
        f.putInt(F_DISK_TYPE, fixed ? DISK_TYPE_FIXED : DISK_TYPE_DYNAMIC);
        UUID id = UUID.nameUUIDFromBytes(name.getBytes(StandardCharsets.UTF_8));
        f.putLong(F_UNIQUE_ID, id.getMostSignificantBits()).putLong(F_UNIQUE_ID + 8, id.getLeastSignificantBits());
        f.putInt(F_CHECKSUM, (int) checksum(f.array(), F_CHECKSUM));
        byte[] footer = f.array();
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            if (fixed) {
                raf.setLength(currentSize + FOOTER_SIZE);
                raf.seek(currentSize);
                raf.write(footer);
                return;
            }
            long entries = entries();
            long batEnd = batAt + batBytes(entries);
            if (headerAt < batEnd && batAt < headerAt + DYNAMIC_HEADER_SIZE) {
                throw new IllegalArgumentException(name + ": dynamic header and BAT overlap");
            }
            long next = Math.max(batEnd, headerAt + DYNAMIC_HEADER_SIZE);
            ByteBuffer d = ByteBuffer.allocate(DYNAMIC_HEADER_SIZE).order(ORDER);
            d.put(D_COOKIE, DYNAMIC_COOKIE);
            d.putLong(D_DATA_OFFSET, NO_DATA_OFFSET);
            d.putLong(D_TABLE_OFFSET, batAt);
            d.putInt(D_VERSION, VERSION_1_0);
            d.putInt(D_MAX_TABLE_ENTRIES, (int) entries);
            d.putInt(D_BLOCK_SIZE, blockSize);
            if (locator) {
                byte[] text = locatorData();
                long at = locatorAt();
                d.put(D_LOCATORS, "W2ku".getBytes(StandardCharsets.US_ASCII));
                d.putInt(D_LOCATORS + 4, SECTOR); // bytes, as Windows writes it (the spec says sectors)
                d.putInt(D_LOCATORS + 8, text.length);
                d.putLong(D_LOCATORS + 16, at);
                raf.seek(at);
                raf.write(text);
                next = Math.max(next, at + SECTOR);
            }
            d.putInt(D_CHECKSUM, (int) checksum(d.array(), D_CHECKSUM));
            raf.seek(0);
            raf.write(footer);
            raf.seek(headerAt);
            raf.write(d.array());
            int[] bat = new int[(int) entries];
            Arrays.fill(bat, -1);
            long bitmap = bitmapSize(blockSize);
            long at = next + slack;
            byte[] ones = new byte[(int) bitmap];
            Arrays.fill(ones, (byte) 0xff);
            byte[] data = new byte[blockSize];
            for (int b : blocks) {
                long dataAt = (at + bitmap + dataAlign - 1) / dataAlign * dataAlign;
                at = dataAt - bitmap;
                bat[b] = (int) (at / SECTOR);
                Arrays.fill(data, (byte) pattern(b));
                raf.seek(at);
                raf.write(ones);
                raf.write(data);
                at += bitmap + blockSize;
            }
            ByteBuffer t = ByteBuffer.allocate((int) batBytes(entries)).order(ORDER);
            for (int e : bat) {
                t.putInt(e);
            }
            raf.seek(batAt);
            raf.write(t.array());
            at += (long) zeroTail * SECTOR;
            raf.setLength(at);
            raf.seek(at);
            raf.write(footer);
        }
    }
}
