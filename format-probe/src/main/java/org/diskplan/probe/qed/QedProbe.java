package org.diskplan.probe.qed;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
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
 * QED (QEMU Enhanced Disk), little-endian: a header, an L1 table of
 * {@code table_size} clusters, L2 tables of the same size, data clusters. No
 * refcounts: space nothing points at is unused. Limits are qemu's (block/qed.h).
 */
public final class QedProbe implements FormatProbe {
    static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;
    static final String GROUP = "QED header";
    static final int HEADER_SIZE = 64;
    static final int OFF_MAGIC = 0;
    static final int OFF_CLUSTER_SIZE = 4;
    static final int OFF_TABLE_SIZE = 8;
    static final int OFF_HEADER_SIZE = 12;
    static final int OFF_FEATURES = 16;
    static final int OFF_COMPAT_FEATURES = 24;
    static final int OFF_AUTOCLEAR_FEATURES = 32;
    static final int OFF_L1_TABLE_OFFSET = 40;
    static final int OFF_IMAGE_SIZE = 48;
    static final int OFF_BACKING_FILENAME_OFFSET = 56;
    static final int OFF_BACKING_FILENAME_SIZE = 60;
    static final long MIN_CLUSTER_SIZE = 4096;
    static final long MAX_CLUSTER_SIZE = 64L << 20;
    static final long MIN_TABLE_SIZE = 1;
    static final long MAX_TABLE_SIZE = 16;
    static final long FEATURE_MASK = 7;
    static final long ZERO_CLUSTER = 1;
    /** Bytes of tables read for the layout map; beyond it the rest is left unclassified. */
    static final long TABLE_READ_BUDGET = 64L << 20;
    static final int CHUNK = 16 << 20;
    /** Clusters a "needs check" image may have for {@link #qemuRepair} (a 32 MiB bitmap: 1 TiB of 4 KiB clusters). */
    static final long MAX_CHECKED_CLUSTERS = 1L << 28;

    @Override
    public ImageFormat format() {
        return ImageFormat.QED;
    }

    static ProbeException fail(String field, long offset, String message) {
        return new ProbeException(ErrorCode.PARSE_FAILED, field, offset,
                GROUP + " field " + field + " at offset " + offset + ": " + message);
    }

    static boolean powerOfTwo(long v) {
        return v > 0 && (v & (v - 1)) == 0;
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
            throw new ProbeException(ErrorCode.PARSE_FAILED, "qed", 0, "QED image is inconsistent: " + e.getMessage());
        }
    }

    private ProbedImage parse(Path path, ImageReader reader) throws ProbeException {
        long fileSize = reader.size();
        if (fileSize < HEADER_SIZE) {
            throw fail("header", 0, "the file is " + fileSize + " bytes, shorter than the " + HEADER_SIZE
                    + "-byte QED header");
        }
        byte[] h = reader.read(0, HEADER_SIZE, GROUP);
        List<HeaderField> fields = new ArrayList<>();
        FieldReader f = new FieldReader(GROUP, 0, h, ORDER, fields);
        f.bytes("magic", OFF_MAGIC, 4, "'QED\\x00'", "identifies a QED image");
        long cs = f.u32("cluster_size", OFF_CLUSTER_SIZE, "bytes per cluster (power of two, 4 KiB..64 MiB)");
        long ts = f.u32("table_size", OFF_TABLE_SIZE, "clusters per L1 and L2 table (power of two, 1..16)",
                FieldReader::decimal);
        long hs = f.u32("header_size", OFF_HEADER_SIZE, "clusters reserved for the header", FieldReader::decimal);
        long features = f.u64("features", OFF_FEATURES,
                "bit 0 backing file, bit 1 needs consistency check, bit 2 backing file is raw (no probing)",
                QedProbe::featureText);
        long compat = f.u64("compat_features", OFF_COMPAT_FEATURES, "compatible features (none defined)");
        long autoclear = f.u64("autoclear_features", OFF_AUTOCLEAR_FEATURES,
                "features a writer that does not know them must clear (none defined)");
        long l1Off = f.u64("l1_table_offset", OFF_L1_TABLE_OFFSET, "file offset of the L1 table (cluster aligned)");
        long size = f.u64("image_size", OFF_IMAGE_SIZE, "virtual disk size in bytes");
        long bfOff = f.u32("backing_filename_offset", OFF_BACKING_FILENAME_OFFSET,
                "offset of the backing file name from the start of the file (with feature bit 0)");
        long bfSize = f.u32("backing_filename_size", OFF_BACKING_FILENAME_SIZE, "length of the backing file name",
                FieldReader::decimal);

        if (!powerOfTwo(cs) || cs < MIN_CLUSTER_SIZE || cs > MAX_CLUSTER_SIZE) {
            throw fail("cluster_size", OFF_CLUSTER_SIZE, cs + " is not a power of two in 4096..67108864");
        }
        if (!powerOfTwo(ts) || ts < MIN_TABLE_SIZE || ts > MAX_TABLE_SIZE) {
            throw fail("table_size", OFF_TABLE_SIZE, ts + " is not a power of two in 1..16");
        }
        if ((features & ~FEATURE_MASK) != 0) {
            throw fail("features", OFF_FEATURES, "unsupported feature bits " + FieldReader.hex(features & ~FEATURE_MASK));
        }
        // qemu's bdrv_qed_do_open checks only that header_size × cluster_size fits in 32 bits: it opens
        // (and qemu-img resizes) an image whose header_size is 0 (qemu-img check: cluster 0 leaked);
        // the header's 64 bytes are still read and rewritten at offset 0.
        if (hs > 0xffffffffL / cs) {
            throw fail("header_size", OFF_HEADER_SIZE, hs + " clusters is not a valid header size");
        }
        long tableBytes = ts * cs; // at most 1 GiB
        long entries = tableBytes / 8;
        if (!QedHeader.qemuValidImageSize(size, cs, ts)) {
            throw fail("image_size", OFF_IMAGE_SIZE, Long.toUnsignedString(size) + " is not a multiple of 512 at most "
                    + Long.toUnsignedString(QedHeader.qemuMaxImageSize(cs, ts))
                    + " (qemu's limit for this cluster and table size)");
        }
        if (size < 0) {
            throw fail("image_size", OFF_IMAGE_SIZE, Long.toUnsignedString(size) + " is larger than DiskPlan reads");
        }
        long headerBytesCheck = hs * cs;
        if (ts == 1) {
            // qemu's qed_check_table_offset treats offset + (table_size - 1) * cluster_size <= offset as
            // overflow, so it refuses every image whose tables are one cluster long.
            throw fail("l1_table_offset", OFF_L1_TABLE_OFFSET, "qemu refuses tables of one cluster (table_size 1):"
                    + " QED table offset is invalid");
        }
        if (l1Off < headerBytesCheck) {
            throw fail("l1_table_offset", OFF_L1_TABLE_OFFSET, Long.toUnsignedString(l1Off)
                    + " lies inside the header (" + headerBytesCheck + " bytes)");
        }
        if ((l1Off & (cs - 1)) != 0 || !inFile(l1Off, tableBytes, fileSize)) {
            throw fail("l1_table_offset", OFF_L1_TABLE_OFFSET, Long.toUnsignedString(l1Off)
                    + " is not a cluster-aligned offset of a " + tableBytes + "-byte table inside the file ("
                    + fileSize + " bytes)");
        }
        String backing = "";
        long headerBytes = hs * cs;
        if ((features & QedHeader.F_BACKING_FILE) != 0) {
            if (bfOff + bfSize > headerBytes || bfSize > 1023 || !inFile(bfOff, bfSize, fileSize)) {
                throw fail("backing_filename_offset", OFF_BACKING_FILENAME_OFFSET, "the backing file name ("
                        + bfSize + " bytes at " + bfOff + ") lies outside the header (" + headerBytes + " bytes)");
            }
            byte[] name = reader.read(bfOff, (int) bfSize, "backing file name");
            new FieldReader("backing file name", bfOff, name, ORDER, fields)
                    .ascii("backing file", 0, (int) bfSize, "the image this one is an overlay of");
            backing = FieldReader.printable(name);
        }

        RunLayout layout = new RunLayout(fileSize);
        layout.add(0, HEADER_SIZE, RegionKind.HEADER, "QED header");
        long unusedFrom = HEADER_SIZE;
        if (!backing.isEmpty() && bfOff >= HEADER_SIZE && bfSize > 0) {
            layout.add(HEADER_SIZE, bfOff - HEADER_SIZE, RegionKind.HEADER, "header clusters (unused)");
            layout.add(bfOff, bfSize, RegionKind.HEADER, "backing file name");
            unusedFrom = bfOff + bfSize;
        }
        if (headerBytes > unusedFrom) { // header_size 0: only the 64 header bytes
            layout.add(unusedFrom, headerBytes - unusedFrom, RegionKind.HEADER, "header clusters (unused)");
        }
        layout.add(l1Off, tableBytes, RegionKind.TABLE, "L1 table");

        // Walk L1 -> L2 within a read budget.
        long budget = TABLE_READ_BUDGET;
        long l1Alloc = 0;
        long l2Read = 0;
        long data = 0;
        long zero = 0;
        long bad = 0;
        boolean budgetHit = false;
        // guest end of the highest data cluster an L2 entry maps (past image_size only in a
        // damaged or hand-made file: qemu's truncate leaves such entries, and a grow shows them)
        long mappedEnd = 0;
        long tableEntries = tableBytes / 8;
        Set<Long> seen = new HashSet<>();
        for (long chunkOff = 0; chunkOff < tableBytes; chunkOff += CHUNK) {
            int n = (int) Math.min(CHUNK, tableBytes - chunkOff);
            if (budget < n) {
                budgetHit = true;
                break;
            }
            budget -= n;
            ByteBuffer l1 = reader.readBuffer(l1Off + chunkOff, n, ORDER, "L1 table");
            for (int i = 0; i < n; i += 8) {
                long l2 = l1.getLong(i);
                if (l2 == 0) {
                    continue;
                }
                l1Alloc++;
                if ((l2 & (cs - 1)) != 0 || !inFile(l2, tableBytes, fileSize)) {
                    bad++;
                    continue;
                }
                if (seen.contains(l2)) {
                    continue;
                }
                layout.add(l2, tableBytes, RegionKind.TABLE, "L2 tables");
                if (budget < tableBytes) {
                    budgetHit = true;
                    continue;
                }
                seen.add(l2);
                budget -= tableBytes;
                l2Read++;
                for (long c2 = 0; c2 < tableBytes; c2 += CHUNK) {
                    int m = (int) Math.min(CHUNK, tableBytes - c2);
                    ByteBuffer t = reader.readBuffer(l2 + c2, m, ORDER, "L2 table");
                    for (int j = 0; j < m; j += 8) {
                        long d = t.getLong(j);
                        if (d == 0) {
                            continue;
                        }
                        if (d == ZERO_CLUSTER) {
                            zero++;
                            continue;
                        }
                        data++;
                        long cluster = ((chunkOff + i) / 8) * tableEntries + (c2 + j) / 8;
                        mappedEnd = Math.max(mappedEnd, cluster >= Long.MAX_VALUE / cs ? Long.MAX_VALUE
                                : (cluster + 1) * cs);
                        if ((d & (cs - 1)) != 0 || !inFile(d, 1, fileSize)) {
                            bad++;
                            continue;
                        }
                        layout.add(d, cs, RegionKind.DATA, "guest data");
                    }
                }
            }
        }
        List<HeaderField> summary = new ArrayList<>();
        summary.add(sum("offset", l1Off, l1Off, "file offset of the L1 table"));
        summary.add(sum("entries", l1Off, entries, "8-byte entries, each the offset of one L2 table (0 = none)"));
        summary.add(sum("allocated entries", l1Off, l1Alloc, "entries pointing at an L2 table"));
        summary.add(sum("L2 tables read", l1Off, l2Read, "distinct L2 tables walked for the layout map"));
        summary.add(sum("data clusters", l1Off, data, "L2 entries mapping a data cluster"));
        summary.add(sum("zero clusters", l1Off, zero, "L2 entries reading as zeros (value 1)"));
        fields.addAll(summary);

        List<LayoutRegion> regions = layout.build(RegionKind.FREE, "unused (nothing points at it)");
        List<String> flags = new ArrayList<>();
        if ((features & QedHeader.F_NEED_CHECK) != 0) {
            flags.add("dirty (needs check)");
        }
        if (!backing.isEmpty()) {
            flags.add("backing file: " + backing);
            if ((features & QedHeader.F_BACKING_FORMAT_NO_PROBE) != 0) {
                flags.add("backing format: raw");
            }
        }
        if (!backing.isEmpty() && bfOff < HEADER_SIZE && bfSize > 0) {
            // qemu checks only that the name ends inside the header clusters: it opens a name
            // read from the 64 header bytes themselves, and a resize rewrites image_size there
            flags.add("corrupt: " + GROUP + " field backing_filename_offset at offset " + OFF_BACKING_FILENAME_OFFSET
                    + ": the backing file name (" + bfOff + " to " + (bfOff + bfSize) + ") overlaps the "
                    + HEADER_SIZE + "-byte header (0 to " + HEADER_SIZE + ")");
        }
        if (bad > 0) {
            flags.add("corrupt: " + bad + " table entries point outside the file or are unaligned");
        }
        if (budgetHit) {
            flags.add("layout map: L2 tables beyond " + (TABLE_READ_BUDGET >> 20) + " MiB not walked");
        }
        if (layout.truncated()) {
            flags.add("layout map: too many runs; the rest is shown as unused");
        }
        if (layout.overlaps() > 0) {
            flags.add("corrupt: " + layout.overlaps() + " overlapping structures");
        }
        String repair = (features & QedHeader.F_NEED_CHECK) != 0 ? qemuRepair(reader, cs, ts, hs, l1Off, fileSize) : "";
        return new ProbedImage(path, ImageFormat.QED, "", size, fileSize, cs, flags, fields, regions,
                new QedHeader(cs, ts, hs, features, compat, autoclear, l1Off, size, bfOff, bfSize, backing, l1Alloc,
                        budgetHit ? -1 : mappedEnd, repair));
    }

    /**
     * What qemu's consistency check (qed_check, run with repairs by qemu's read-write open of an
     * image marked "needs check") would find, in its terms: an L1 entry that is not a valid table
     * offset or an L2 entry that is not a valid cluster offset (it zeroes them), a cluster referenced
     * twice (it leaves the mark set). Valid: cluster aligned, at or past the header clusters, and
     * before the file's last whole cluster boundary (qemu rounds the file size down to a cluster);
     * a table's last cluster too. Empty when it would find nothing — then the open only clears the
     * mark ("needs check", features bit 1), which a resize can do in its header write.
     */
    static String qemuRepair(ImageReader reader, long cs, long ts, long hs, long l1Off, long fileSize)
            throws ProbeException {
        long fileClusters = fileSize / cs;
        if (fileClusters > MAX_CHECKED_CLUSTERS) {
            return "the file has more clusters than DiskPlan checks";
        }
        long headerBytes = hs * cs;
        long end = fileClusters * cs; // qemu's s->file_size
        java.util.BitSet used = new java.util.BitSet((int) fileClusters);
        long tableBytes = ts * cs;
        if (!markUsed(used, l1Off / cs, ts)) {
            return "the L1 table's clusters are referenced twice";
        }
        long budget = TABLE_READ_BUDGET;
        for (long chunkOff = 0; chunkOff < tableBytes; chunkOff += CHUNK) {
            int n = (int) Math.min(CHUNK, tableBytes - chunkOff);
            ByteBuffer l1 = reader.readBuffer(l1Off + chunkOff, n, ORDER, "L1 table");
            for (int i = 0; i < n; i += 8) {
                long l2 = l1.getLong(i);
                if (l2 == 0) {
                    continue;
                }
                long at = l1Off + chunkOff + i;
                long last = l2 + (ts - 1) * cs;
                if (Long.compareUnsigned(last, l2) <= 0 || !validCluster(l2, cs, headerBytes, end)
                        || !validCluster(last, cs, headerBytes, end)) {
                    return "L1 entry at offset " + at + " (" + Long.toUnsignedString(l2) + ") is not a valid L2 table"
                            + " offset: qemu's check would zero it";
                }
                if (!markUsed(used, l2 / cs, ts)) {
                    return "the L2 table at " + l2 + " (L1 entry at offset " + at + ") shares clusters with another"
                            + " table or data cluster";
                }
                if (budget < tableBytes) {
                    return "L2 tables beyond " + (TABLE_READ_BUDGET >> 20) + " MiB were not checked";
                }
                budget -= tableBytes;
                for (long c2 = 0; c2 < tableBytes; c2 += CHUNK) {
                    int m = (int) Math.min(CHUNK, tableBytes - c2);
                    ByteBuffer t = reader.readBuffer(l2 + c2, m, ORDER, "L2 table");
                    for (int j = 0; j < m; j += 8) {
                        long d = t.getLong(j);
                        if (d == 0 || d == ZERO_CLUSTER) {
                            continue;
                        }
                        long dAt = l2 + c2 + j;
                        if (!validCluster(d, cs, headerBytes, end)) {
                            return "L2 entry at offset " + dAt + " (" + Long.toUnsignedString(d) + ") is not a valid"
                                    + " cluster offset: qemu's check would zero it";
                        }
                        if (!markUsed(used, d / cs, 1)) {
                            return "the data cluster at " + d + " (L2 entry at offset " + dAt + ") is referenced"
                                    + " twice";
                        }
                    }
                }
            }
        }
        return "";
    }

    /** qemu's qed_check_cluster_offset: aligned, at or past the header clusters, before the rounded-down end. */
    private static boolean validCluster(long off, long cs, long headerBytes, long end) {
        return (off & (cs - 1)) == 0 && Long.compareUnsigned(off, headerBytes) >= 0 && Long.compareUnsigned(off, end) < 0;
    }

    /** qemu's qed_set_used_clusters: false when one of the clusters was referenced already. */
    private static boolean markUsed(java.util.BitSet used, long first, long n) {
        boolean fresh = true;
        for (long c = first; c < first + n; c++) {
            if (c >= Integer.MAX_VALUE || c < 0) {
                return false;
            }
            fresh &= !used.get((int) c);
            used.set((int) c);
        }
        return fresh;
    }

    static HeaderField sum(String name, long offset, long value, String meaning) {
        return new HeaderField("L1 table", name, offset, 0, new byte[0], FieldReader.decimal(value), meaning);
    }

    static String featureText(long v) {
        if (v == 0) {
            return "0x0 (none)";
        }
        List<String> names = new ArrayList<>();
        if ((v & 1) != 0) {
            names.add("backing file");
        }
        if ((v & 2) != 0) {
            names.add("needs check");
        }
        if ((v & 4) != 0) {
            names.add("backing format no probe");
        }
        if ((v & ~FEATURE_MASK) != 0) {
            names.add("unknown " + FieldReader.hex(v & ~FEATURE_MASK));
        }
        return FieldReader.hex(v) + " (" + String.join(", ", names) + ")";
    }
}
