package org.diskplan.probe.qcow;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.diskplan.abi.ErrorCode;
import org.diskplan.abi.ImageFormat;
import org.diskplan.probe.FieldReader;
import org.diskplan.probe.FormatProbe;
import org.diskplan.probe.HeaderField;
import org.diskplan.probe.ImageReader;
import org.diskplan.probe.LayoutRegion;
import org.diskplan.probe.ProbeException;
import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.RegionKind;
import org.diskplan.probe.RunLayout;

/**
 * qcow version 1 (the original QEMU copy-on-write format), big-endian: a 48-byte
 * header, the backing file name, an L1 table, L2 tables of 2^l2_bits entries and
 * data clusters. No refcounts. Limits are qemu's (block/qcow.c).
 */
public final class QcowProbe implements FormatProbe {
    static final ByteOrder ORDER = ByteOrder.BIG_ENDIAN;
    static final String GROUP = "qcow header";
    static final int HEADER_SIZE = 48;
    static final int OFF_MAGIC = 0;
    static final int OFF_VERSION = 4;
    static final int OFF_BACKING_FILE_OFFSET = 8;
    static final int OFF_BACKING_FILE_SIZE = 16;
    static final int OFF_MTIME = 20;
    static final int OFF_SIZE = 24;
    static final int OFF_CLUSTER_BITS = 32;
    static final int OFF_L2_BITS = 33;
    static final int OFF_PADDING = 34;
    static final int OFF_CRYPT_METHOD = 36;
    static final int OFF_L1_TABLE_OFFSET = 40;
    static final int MIN_CLUSTER_BITS = 9;
    static final int MAX_CLUSTER_BITS = 16;
    static final int MIN_L2_BITS = 6;
    static final int MAX_L2_BITS = 13;
    static final long MAX_L1_ENTRIES = Integer.MAX_VALUE / 8;
    static final int MAX_BACKING_NAME = 1023;
    static final long L2_COMPRESSED = 1L << 63;
    static final long TABLE_READ_BUDGET = 64L << 20;
    static final int CHUNK = 16 << 20;

    @Override
    public ImageFormat format() {
        return ImageFormat.QCOW1;
    }

    static ProbeException fail(String field, long offset, String message) {
        return new ProbeException(ErrorCode.PARSE_FAILED, field, offset,
                GROUP + " field " + field + " at offset " + offset + ": " + message);
    }

    static boolean inFile(long off, long len, long fileSize) {
        return off >= 0 && len >= 0 && off <= fileSize && fileSize - off >= len;
    }

    @Override
    public ProbedImage probe(Path path, ImageReader reader) throws ProbeException {
        try {
            return parse(path, reader);
        } catch (ArithmeticException | IndexOutOfBoundsException | IllegalArgumentException e) {
            // Defensive: every range is checked before use; a missed check becomes a typed error, not a crash.
            throw new ProbeException(ErrorCode.PARSE_FAILED, "qcow", 0, "qcow image is inconsistent: " + e.getMessage());
        }
    }

    private ProbedImage parse(Path path, ImageReader reader) throws ProbeException {
        long fileSize = reader.size();
        if (fileSize < HEADER_SIZE) {
            throw fail("header", 0, "the file is " + fileSize + " bytes, shorter than the " + HEADER_SIZE
                    + "-byte qcow header");
        }
        byte[] h = reader.read(0, HEADER_SIZE, GROUP);
        List<HeaderField> fields = new ArrayList<>();
        FieldReader f = new FieldReader(GROUP, 0, h, ORDER, fields);
        f.bytes("magic", OFF_MAGIC, 4, "'QFI\\xfb'", "identifies a QEMU copy-on-write image");
        long version = f.u32("version", OFF_VERSION, "format version: 1", FieldReader::decimal);
        long bfOff = f.u64("backing_file_offset", OFF_BACKING_FILE_OFFSET,
                "where the backing file name is stored; 0 = no backing file");
        long bfSize = f.u32("backing_file_size", OFF_BACKING_FILE_SIZE, "length of the backing file name",
                FieldReader::decimal);
        long mtime = f.u32("mtime", OFF_MTIME, "modification time of the backing file, seconds since 1970",
                v -> v + (v == 0 ? "" : " (" + Instant.ofEpochSecond(v) + ")"));
        long size = f.u64("size", OFF_SIZE, "virtual disk size in bytes");
        int cb = (int) f.u8("cluster_bits", OFF_CLUSTER_BITS, "log2 of the cluster size (9..16)");
        int l2b = (int) f.u8("l2_bits", OFF_L2_BITS, "log2 of the entries per L2 table (6..13)");
        f.u16("padding", OFF_PADDING, "unused");
        long crypt = f.u32("crypt_method", OFF_CRYPT_METHOD, "encryption: 0 none, 1 AES-CBC",
                v -> v == 0 ? "0 (none)" : v == 1 ? "1 (AES-CBC)" : v + " (unknown)");
        long l1Off = f.u64("l1_table_offset", OFF_L1_TABLE_OFFSET, "file offset of the L1 table");

        if (version != 1) {
            throw fail("version", OFF_VERSION, "unsupported qcow version " + version);
        }
        if (Long.compareUnsigned(size, 1) <= 0) {
            throw fail("size", OFF_SIZE, Long.toUnsignedString(size) + " bytes is too small (at least 2)");
        }
        if (cb < MIN_CLUSTER_BITS || cb > MAX_CLUSTER_BITS) {
            throw fail("cluster_bits", OFF_CLUSTER_BITS, cb + " is outside " + MIN_CLUSTER_BITS + ".."
                    + MAX_CLUSTER_BITS + " (clusters of 512 bytes to 64 KiB)");
        }
        if (l2b < MIN_L2_BITS || l2b > MAX_L2_BITS) {
            throw fail("l2_bits", OFF_L2_BITS, l2b + " is outside " + MIN_L2_BITS + ".." + MAX_L2_BITS);
        }
        if (crypt > 1) {
            throw fail("crypt_method", OFF_CRYPT_METHOD, "unknown encryption method " + crypt);
        }
        if (size < 0) {
            throw fail("size", OFF_SIZE, Long.toUnsignedString(size) + " bytes is too big (at most 2^63 - 1)");
        }
        int shift = cb + l2b;
        long l1Size = (size >>> shift) + ((size & ((1L << shift) - 1)) != 0 ? 1 : 0);
        if (l1Size > MAX_L1_ENTRIES) {
            throw fail("size", OFF_SIZE, size + " bytes needs " + l1Size + " L1 entries, more than qemu's limit of "
                    + MAX_L1_ENTRIES);
        }
        long l1Bytes = l1Size * 8;
        if (l1Off < 0 || l1Off >= fileSize) {
            throw fail("l1_table_offset", OFF_L1_TABLE_OFFSET, Long.toUnsignedString(l1Off)
                    + " lies beyond the end of the file (" + fileSize + " bytes)");
        }
        String backing = "";
        if (bfOff != 0) {
            if (bfSize > MAX_BACKING_NAME || !inFile(bfOff, bfSize, fileSize)) {
                throw fail("backing_file_size", OFF_BACKING_FILE_SIZE, "the backing file name (" + bfSize
                        + " bytes at " + Long.toUnsignedString(bfOff) + ") is too long or beyond the end of the file");
            }
            byte[] name = reader.read(bfOff, (int) bfSize, "backing file name");
            new FieldReader("backing file name", bfOff, name, ORDER, fields)
                    .ascii("backing file", 0, (int) bfSize, "the image this one is an overlay of");
            backing = FieldReader.printable(name);
        }

        long cs = 1L << cb;
        long l2Bytes = 8L << l2b;
        RunLayout layout = new RunLayout(fileSize);
        layout.add(0, HEADER_SIZE, RegionKind.HEADER, "qcow header");
        if (bfOff != 0) {
            layout.add(bfOff, bfSize, RegionKind.HEADER, "backing file name");
        }
        layout.add(l1Off, l1Bytes, RegionKind.TABLE, "L1 table");
        // qemu reads past the end of the file as zeros: only the part inside the file can hold entries.
        long l1InFile = Math.min(l1Bytes, fileSize - l1Off) & ~7L;
        long budget = TABLE_READ_BUDGET;
        boolean budgetHit = false;
        long alloc = 0;
        long l2Read = 0;
        long data = 0;
        long compressed = 0;
        long bad = 0;
        Set<Long> seen = new HashSet<>();
        for (long c = 0; c < l1InFile; c += CHUNK) {
            int n = (int) Math.min(CHUNK, l1InFile - c);
            if (budget < n) {
                budgetHit = true;
                break;
            }
            budget -= n;
            ByteBuffer l1 = reader.readBuffer(l1Off + c, n, ORDER, "L1 table");
            for (int i = 0; i < n; i += 8) {
                long l2 = l1.getLong(i);
                if (l2 == 0) {
                    continue;
                }
                alloc++;
                if (!inFile(l2, l2Bytes, fileSize)) {
                    bad++;
                    continue;
                }
                if (seen.contains(l2)) {
                    continue;
                }
                layout.add(l2, l2Bytes, RegionKind.TABLE, "L2 tables");
                if (budget < l2Bytes) {
                    budgetHit = true;
                    continue;
                }
                budget -= l2Bytes;
                seen.add(l2);
                l2Read++;
                ByteBuffer t = reader.readBuffer(l2, (int) l2Bytes, ORDER, "L2 table");
                for (int j = 0; j < l2Bytes; j += 8) {
                    long e = t.getLong(j);
                    if (e == 0) {
                        continue;
                    }
                    if ((e & L2_COMPRESSED) != 0) {
                        compressed++;
                        long off = e & ((1L << (63 - cb)) - 1);
                        long csize = (e >>> (63 - cb)) & (cs - 1);
                        if (!inFile(off, 1, fileSize)) {
                            bad++;
                            continue;
                        }
                        layout.add(off, csize, RegionKind.DATA, "compressed guest data");
                        continue;
                    }
                    data++;
                    if (!inFile(e, 1, fileSize)) {
                        bad++;
                        continue;
                    }
                    layout.add(e, cs, RegionKind.DATA, "guest data");
                }
            }
        }
        fields.add(sum("offset", l1Off, l1Off, "file offset of the L1 table"));
        fields.add(sum("entries", l1Off, l1Size, "ceil(size / (cluster size × L2 entries)); 8 bytes each"));
        fields.add(sum("allocated entries", l1Off, alloc, "entries pointing at an L2 table"));
        fields.add(sum("L2 tables read", l1Off, l2Read, "distinct L2 tables walked for the layout map"));
        fields.add(sum("data clusters", l1Off, data, "L2 entries mapping an uncompressed cluster"));
        fields.add(sum("compressed clusters", l1Off, compressed, "L2 entries holding compressed data"));

        List<LayoutRegion> regions = layout.build(RegionKind.FREE, "unused (nothing points at it)");
        List<String> flags = new ArrayList<>();
        if (crypt == 1) {
            flags.add("encrypted: aes");
        }
        if (!backing.isEmpty()) {
            flags.add("backing file: " + backing);
        }
        if (l1InFile < l1Bytes) {
            flags.add("L1 table extends past the end of the file (qemu reads the rest as zeros)");
        }
        if (bad > 0) {
            flags.add("corrupt: " + bad + " table entries point outside the file");
        }
        if (budgetHit) {
            flags.add("layout map: tables beyond " + (TABLE_READ_BUDGET >> 20) + " MiB not walked");
        }
        if (layout.truncated()) {
            flags.add("layout map: too many runs; the rest is shown as unused");
        }
        if (layout.overlaps() > 0) {
            flags.add("corrupt: " + layout.overlaps() + " overlapping structures");
        }
        // qemu 7.2 reports the size field as it is (no rounding to sectors), checked with qemu-img info.
        long virtual = size;
        return new ProbedImage(path, ImageFormat.QCOW1, "", virtual, fileSize, cs, flags, fields, regions,
                new QcowHeader(bfOff, bfSize, mtime, size, cb, l2b, crypt, l1Off, l1Size, backing, alloc));
    }

    static HeaderField sum(String name, long offset, long value, String meaning) {
        return new HeaderField("L1 table", name, offset, 0, new byte[0], FieldReader.decimal(value), meaning);
    }
}
