package org.diskplan.probe.vmdk;

import static org.diskplan.probe.vmdk.VmdkLayout.*;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.function.LongFunction;
import org.diskplan.abi.ErrorCode;
import org.diskplan.probe.RegionMap;
import org.diskplan.probe.FieldReader;
import org.diskplan.probe.HeaderField;
import org.diskplan.probe.ImageReader;
import org.diskplan.probe.ProbeException;
import org.diskplan.probe.RegionKind;

/**
 * Parses one VMDK4 sparse extent: the header (or the streamOptimized footer), the embedded
 * descriptor, both grain directories, and, within a read budget, the grain tables. Checks follow
 * qemu's {@code vmdk_open_vmdk4} and {@code vmdk_add_extent}.
 */
final class SparseExtentParser {
    // No lambdas or streams here: this class runs on every command's start-up path (see ReadWatch / issue 20).

    /** {@link #flagText} as an object. */
    private static final LongFunction<String> FLAG_TEXT = new LongFunction<>() {
        @Override
        public String apply(long v) {
            return flagText(v);
        }
    };

    // Header offsets, flags, markers and qemu's limits: VmdkLayout (imported statically).
    static final int GD_CHUNK = 16 << 20;
    static final int GT_WINDOW = 1 << 20;
    /** Most grain tables (both directories) checked for overlaps; past it the extent is flagged unchecked. */
    static final int MAX_TABLES_CHECKED = 1 << 22;

    /** Shared read budget across the extents of one probe, so probing stays O(header + tables). */
    static final class Budget {
        long grainTableBytes;
        int markerReads;

        Budget(long grainTableBytes, int markerReads) {
            this.grainTableBytes = grainTableBytes;
            this.markerReads = markerReads;
        }

        /** True while no extent has stopped its scan for lack of budget. */
        boolean exhaustedSafe() {
            return !stopped;
        }

        boolean stopped;

        static Budget standard() {
            return new Budget(8L << 20, 20_000);
        }
    }

    private final ImageReader reader;
    private final long fileSize;
    private final String prefix;
    private final List<HeaderField> fields;
    private final List<String> flags;
    private final RegionMap regions;
    private final Budget budget;
    /** Set when there were too many grain tables to check for overlaps. */
    private boolean overlapsUnchecked;

    SparseExtentParser(ImageReader reader, String prefix, List<HeaderField> fields, List<String> flags,
                       RegionMap regions, Budget budget) {
        this.reader = reader;
        this.fileSize = reader.size();
        this.prefix = prefix;
        this.fields = fields;
        this.flags = flags;
        this.regions = regions;
        this.budget = budget;
    }

    private record Raw(long version, long flags, long capacity, long grainSize, long descOffset, long descSize,
                       long numGtes, long rgdOffset, long gdOffset, long overHead, int unclean, byte[] newline,
                       int compress) {
    }

    VmdkHeader parse() throws ProbeException {
        if (fileSize < HEADER_SIZE) {
            throw err("header", 0, "VMDK4 header at offset 0: the file has " + fileSize
                    + " bytes, fewer than the 512-byte header");
        }
        byte[] head = reader.read(0, HEADER_SIZE, prefix + "VMDK4 header");
        FieldReader h = new FieldReader(prefix + "VMDK4 header", 0, head, ByteOrder.LITTLE_ENDIAN, fields);
        Raw raw = readHeader(h, head, "VMDK4 header");
        regions.structure(RegionKind.HEADER, 0, HEADER_SIZE, prefix + "VMDK4 header");
        boolean atEnd = raw.gdOffset == GD_AT_END;
        long footerOffset = -1;
        if (atEnd) {
            // qemu: total_sectors × 512 − 1536, the file length rounded up to whole sectors
            footerOffset = footerOffset(fileSize);
            raw = readFooter(footerOffset);
        }
        String where = atEnd ? "footer header" : "VMDK4 header";
        long base = atEnd ? footerOffset + SECTOR : 0;

        // qemu's checks, in its order.
        if (raw.version > 3) {
            throw field(where, "version", base + OFF_VERSION, "unsupported VMDK version " + raw.version);
        }
        if (raw.numGtes > MAX_GTES_PER_GT) {
            throw field(where, "numGTEsPerGT", base + OFF_NUM_GTES_PER_GT, raw.numGtes
                    + " entries per grain table: L2 table size too big (qemu allows at most 512)");
        }
        if (Long.compareUnsigned(raw.grainSize, MAX_GRAIN_SECTORS) > 0) {
            throw field(where, "grainSize", base + OFF_GRAIN_SIZE, Long.toUnsignedString(raw.grainSize)
                    + " sectors: invalid granularity (qemu allows at most " + MAX_GRAIN_SECTORS + ")");
        }
        long gtCoverage = raw.numGtes * raw.grainSize;
        if (gtCoverage == 0) {
            throw field(where, raw.numGtes == 0 ? "numGTEsPerGT" : "grainSize",
                    base + (raw.numGtes == 0 ? OFF_NUM_GTES_PER_GT : OFF_GRAIN_SIZE),
                    "L2 table size too small: numGTEsPerGT × grainSize is 0");
        }
        long gdEntries = VmdkLayout.gdEntries(raw.capacity, raw.grainSize, raw.numGtes);
        if (gdEntries > MAX_GD_ENTRIES || gdEntries < 0) {
            throw field(where, "capacity", base + OFF_CAPACITY, Long.toUnsignedString(raw.capacity)
                    + " sectors need " + Long.toUnsignedString(gdEntries)
                    + " grain directory entries: L1 size too big (qemu allows at most " + MAX_GD_ENTRIES + ")");
        }
        if (raw.capacity < 0 || raw.capacity > Long.MAX_VALUE / SECTOR) {
            throw field(where, "capacity", base + OFF_CAPACITY, Long.toUnsignedString(raw.capacity)
                    + " sectors overflow a 64-bit byte size");
        }
        long fileSectors = sectorsFor(fileSize);
        if (Long.compareUnsigned(fileSectors, raw.overHead) < 0) {
            throw field(where, "overHead", base + OFF_OVERHEAD, "file truncated, expecting at least "
                    + Long.toUnsignedString(raw.overHead) + " sectors before the first grain, the file has "
                    + fileSize + " bytes");
        }

        Optional<VmdkDescriptor> descriptor = readDescriptor(raw, where, base);

        // Grain directories.
        long gtBytes = grainTableBytes(raw.numGtes);
        long gdBytes = gdEntries * ENTRY_SIZE;
        int[] gd = readDirectory(raw.gdOffset, gdEntries, where, "gdOffset", base + OFF_GD_OFFSET,
                "grain directory");
        int[] rgd = null;
        boolean rgdPresent = (raw.flags & FLAG_REDUNDANT_GRAIN_TABLE) != 0 && raw.rgdOffset != 0;
        if (rgdPresent) {
            rgd = readDirectory(raw.rgdOffset, gdEntries, where, "rgdOffset", base + OFF_RGD_OFFSET,
                    "redundant grain directory");
        }
        long allocatedGts = tableRegions(gd, gtBytes, "grain tables");
        long allocatedRgts = rgd == null ? 0 : tableRegions(rgd, gtBytes, "redundant grain tables");
        if (gdEntries > 0) {
            regions.structure(RegionKind.TABLE, raw.gdOffset * SECTOR, roundUpToSector(gdBytes),
                    prefix + "grain directory (" + gdEntries + " entries)");
            if (rgd != null) {
                regions.structure(RegionKind.TABLE, raw.rgdOffset * SECTOR, roundUpToSector(gdBytes),
                        prefix + "redundant grain directory (" + gdEntries + " entries)");
            }
        }

        // Grain tables, within the budget.
        boolean compressed = raw.compress == COMPRESSION_DEFLATE;
        boolean zeroFlag = (raw.flags & FLAG_ZEROED_GRAIN_GTE) != 0;
        long grainBytes = raw.grainSize * SECTOR;
        long[] grains = new long[1024];
        long[] grainEntries = new long[1024];
        int grainCount = 0;
        long allocatedGrains = 0;
        long zeroed = 0;
        long beyond = 0;
        long gtBeyond = 0;
        boolean complete = true;
        byte[] window = new byte[0];
        long windowStart = -1;
        for (int i = 0; i < gd.length; i++) {
            long gtSector = Integer.toUnsignedLong(gd[i]);
            if (gtSector == 0) {
                continue;
            }
            long gtOff = gtSector * SECTOR;
            if (gtOff + gtBytes > fileSize) {
                gtBeyond++;
                continue;
            }
            if (windowStart < 0 || gtOff < windowStart || gtOff + gtBytes > windowStart + window.length) {
                if (budget.grainTableBytes < gtBytes) {
                    complete = false;
                    budget.stopped = true;
                    break;
                }
                int len = (int) Math.min(Math.min(GT_WINDOW, fileSize - gtOff),
                        Math.max(gtBytes, Math.min(budget.grainTableBytes, GT_WINDOW)));
                window = reader.read(gtOff, len, prefix + "grain table " + i);
                windowStart = gtOff;
                budget.grainTableBytes -= len;
            }
            ByteBuffer b = ByteBuffer.wrap(window).order(ByteOrder.LITTLE_ENDIAN);
            int rel = (int) (gtOff - windowStart);
            for (int k = 0; k < raw.numGtes; k++) {
                long g = Integer.toUnsignedLong(b.getInt(rel + k * 4));
                if (g == 0) {
                    continue;
                }
                if (g == 1 && zeroFlag) {
                    zeroed++;
                    continue;
                }
                allocatedGrains++;
                long off = g * SECTOR;
                long len = grainBytes;
                if (compressed) {
                    len = SECTOR;
                    if (off + 12 <= fileSize && budget.markerReads > 0) {
                        budget.markerReads--;
                        ByteBuffer m = reader.readBuffer(off, 12, ByteOrder.LITTLE_ENDIAN,
                                prefix + "grain marker");
                        long size = Integer.toUnsignedLong(m.getInt(8));
                        len = roundUpToSector(12 + size);
                    }
                }
                if (off + Math.min(len, compressed ? 12 : len) > fileSize) {
                    beyond++;
                    continue;
                }
                if (grainCount == grains.length) {
                    grains = Arrays.copyOf(grains, grains.length * 2);
                    grainEntries = Arrays.copyOf(grainEntries, grainEntries.length * 2);
                }
                grainEntries[grainCount] = gtOff + k * 4L;
                // start sector in the high bits, length in sectors in the low 31 bits
                long lenSectors = Math.min(len / SECTOR, (1L << 31) - 1);
                grains[grainCount++] = (g << 31) | lenSectors;
            }
        }
        String overlap = overlap(raw, base, descriptor.isPresent(), gd, rgd, gtBytes, grains, grainEntries, grainCount);
        for (long[] run : RegionMap.runsPacked(grains, grainCount, RegionMap.MAX_RUNS)) {
            regions.data(RegionKind.DATA, run[0], run[1] - run[0], prefix + "grains");
        }

        // Summary fields.
        String gdGroup = prefix + "grain directory";
        summary(gdGroup, "offset", raw.gdOffset * SECTOR, Long.toString(raw.gdOffset * SECTOR),
                "byte offset of the grain directory (gdOffset × 512)");
        summary(gdGroup, "entries", raw.gdOffset * SECTOR, Long.toString(gdEntries),
                "ceil(capacity / (grainSize × numGTEsPerGT)): one u32 sector offset of a grain table each");
        summary(gdGroup, "allocated grain tables", raw.gdOffset * SECTOR, Long.toString(allocatedGts),
                "entries that are not 0");
        summary(gdGroup, "allocated grains", raw.gdOffset * SECTOR, Long.toString(allocatedGrains)
                + (complete ? "" : " (in the tables scanned)"), "grain table entries pointing at a grain");
        summary(gdGroup, "zeroed grains", raw.gdOffset * SECTOR, Long.toString(zeroed),
                "grain table entries 1 with the zeroed-grain flag: reads as zeros");
        summary(gdGroup, "scan", raw.gdOffset * SECTOR, complete ? "complete" : "partial",
                "whether every grain table was read (DiskPlan bounds the bytes it reads)");
        if (rgd != null) {
            String rgdGroup = prefix + "redundant grain directory";
            summary(rgdGroup, "offset", raw.rgdOffset * SECTOR, Long.toString(raw.rgdOffset * SECTOR),
                    "byte offset of the redundant (backup) grain directory (rgdOffset × 512)");
            summary(rgdGroup, "entries", raw.rgdOffset * SECTOR, Long.toString(gdEntries),
                    "same count as the primary directory");
            summary(rgdGroup, "allocated grain tables", raw.rgdOffset * SECTOR, Long.toString(allocatedRgts),
                    "entries that are not 0; their grain tables mirror the primary ones");
        }

        // Flags.
        if (raw.unclean != 0) {
            flags.add(prefix + "dirty (uncleanShutdown = " + raw.unclean + ")");
        }
        if (atEnd) {
            flags.add(prefix + "grain directory at end: header taken from the footer at offset " + footerOffset);
        }
        if (compressed) {
            flags.add(prefix + "compressed grains (deflate)");
        }
        if (raw.version == 3 && !compressed) {
            flags.add(prefix + "version 3 without compression: qemu opens it read-only");
        }
        if ((raw.flags & FLAG_NEWLINE_TEST) != 0 && !Arrays.equals(raw.newline,
                NEWLINE_CHARS)) {
            flags.add(prefix + "newline test bytes are damaged (the file went through a text-mode transfer)");
        }
        if (gtBeyond > 0) {
            flags.add(prefix + "corrupt: " + gtBeyond + " grain tables lie beyond the end of the file");
        }
        if (beyond > 0) {
            flags.add(prefix + "corrupt: " + beyond + " grains lie beyond the end of the file");
        }
        if (overlap != null) {
            flags.add(prefix + "corrupt: " + overlap);
        } else if (overlapsUnchecked) {
            flags.add(prefix + "grain tables scanned partially (more than " + MAX_TABLES_CHECKED
                    + " to check for overlaps)");
        }
        if (!complete) {
            flags.add(prefix + "grain tables scanned partially (read budget reached)");
        }
        if (rgd != null && allocatedRgts != allocatedGts) {
            flags.add(prefix + "redundant grain directory has " + allocatedRgts + " grain tables, the primary "
                    + allocatedGts);
        }
        if (atEnd) {
            regions.structure(RegionKind.FOOTER, footerOffset, SECTOR, prefix + "footer marker");
            regions.structure(RegionKind.FOOTER, footerOffset + SECTOR, SECTOR, prefix + "footer (header copy)");
            regions.structure(RegionKind.FOOTER, footerOffset + 2 * SECTOR, SECTOR,
                    prefix + "end-of-stream marker");
        }
        return new VmdkHeader(raw.version, raw.flags, raw.capacity, raw.grainSize, raw.descOffset, raw.descSize,
                raw.numGtes, raw.rgdOffset, raw.gdOffset, raw.overHead, raw.unclean, raw.newline, raw.compress,
                atEnd, footerOffset, descriptor, gdEntries, allocatedGts, allocatedRgts, allocatedGrains, zeroed,
                complete);
    }

    /** A byte range of the extent file, end exclusive, named for messages. */
    private record Span(String name, long start, long end) {
        boolean overlaps(long s, long e) {
            return s < end && e > start;
        }

        @Override
        public String toString() {
            return name + " (" + start + " to " + end + ")";
        }
    }

    /**
     * The first place where two structures of the extent share bytes, or null. qemu's
     * vmdk_open_vmdk4 checks none of this: it opens such a file, and its grain writes and
     * DiskPlan's resize writes (the descriptor, the directory's spare entries, the grain table
     * entries past the old end, the tail of the last grain) would land in another structure
     * or in guest data. Checked: header, embedded descriptor, both grain directories (to the
     * end of their last sector), every grain table in the file (primary and redundant, by
     * directory entry) and every grain read, against one another.
     */
    private String overlap(Raw raw, long base, boolean descriptor, int[] gd, int[] rgd, long gtBytes,
                           long[] grains, long[] grainEntries, int grainCount) {
        long gdBytes = roundUpToSector((long) gd.length * ENTRY_SIZE);
        List<Span> fixed = new ArrayList<>();
        List<String> fields = new ArrayList<>();
        fixed.add(new Span("VMDK4 header", 0, HEADER_SIZE));
        fields.add("");
        if (descriptor) {
            fixed.add(new Span("embedded descriptor", raw.descOffset * SECTOR,
                    raw.descOffset * SECTOR + raw.descSize * SECTOR));
            fields.add("descriptorOffset at offset " + (base + OFF_DESCRIPTOR_OFFSET));
        }
        if (rgd != null && gd.length > 0) {
            fixed.add(new Span("redundant grain directory", raw.rgdOffset * SECTOR, raw.rgdOffset * SECTOR + gdBytes));
            fields.add("rgdOffset at offset " + (base + OFF_RGD_OFFSET));
        }
        if (gd.length > 0) {
            fixed.add(new Span("grain directory", raw.gdOffset * SECTOR, raw.gdOffset * SECTOR + gdBytes));
            fields.add("gdOffset at offset " + (base + OFF_GD_OFFSET));
        }
        String where = base == 0 ? "VMDK4 header" : "footer header";
        for (int i = 1; i < fixed.size(); i++) {
            Span a = fixed.get(i);
            for (int j = 0; j < i; j++) {
                if (fixed.get(j).overlaps(a.start, a.end)) {
                    return where + " field " + fields.get(i) + ": the " + a + " overlaps the " + fixed.get(j);
                }
            }
        }
        // Grain tables, sorted by sector: sector << 26 | entry index << 1 | redundant.
        int dirs = rgd == null ? 1 : 2;
        long count = 0;
        for (int r = 0; r < dirs; r++) {
            for (int v : r == 0 ? gd : rgd) {
                count += v != 0 && Integer.toUnsignedLong(v) * SECTOR + gtBytes <= fileSize ? 1 : 0;
            }
        }
        if (count > MAX_TABLES_CHECKED) {
            // the primary tables' scan stops long before this; a crafted redundant directory can reach it
            overlapsUnchecked = true;
            return null;
        }
        long[] tables = new long[(int) count];
        int n = 0;
        for (int r = 0; r < dirs; r++) {
            int[] dir = r == 0 ? gd : rgd;
            for (int i = 0; i < dir.length; i++) {
                long sector = Integer.toUnsignedLong(dir[i]);
                if (sector != 0 && sector * SECTOR + gtBytes <= fileSize) {
                    tables[n++] = sector << 26 | (long) i << 1 | r;
                }
            }
        }
        Arrays.sort(tables, 0, n);
        long[] tableStarts = new long[n];
        for (int t = 0; t < n; t++) {
            tableStarts[t] = (tables[t] >>> 26) * SECTOR;
            Span table = tableSpan(tables[t], gtBytes);
            Span hit = firstOverlap(fixed, table.start, table.end);
            if (hit == null && t > 0 && tableStarts[t - 1] + gtBytes > table.start) {
                hit = tableSpan(tables[t - 1], gtBytes);
            }
            if (hit != null) {
                long i = (tables[t] >> 1) & ((1 << 25) - 1);
                boolean redundant = (tables[t] & 1) != 0;
                long dirOffset = (redundant ? raw.rgdOffset : raw.gdOffset) * SECTOR + i * ENTRY_SIZE;
                return (redundant ? "redundant " : "") + "grain directory entry " + i + " at offset " + dirOffset
                        + ": the " + table + " overlaps the " + hit;
            }
        }
        // Grains, sorted by sector: sector << 31 | index into grains (whose low 31 bits are the length).
        long[] order = new long[grainCount];
        for (int g = 0; g < grainCount; g++) {
            order[g] = (grains[g] >>> 31) << 31 | g;
        }
        Arrays.sort(order);
        long maxEnd = 0;
        int maxAt = -1;
        for (long key : order) {
            int g = (int) (key & 0x7fffffffL);
            Span grain = grainSpan(grains[g], grainEntries[g]);
            Span hit = firstOverlap(fixed, grain.start, grain.end);
            if (hit == null && maxAt >= 0 && maxEnd > grain.start) {
                hit = grainSpan(grains[maxAt], grainEntries[maxAt]);
            }
            if (hit == null) {
                int t = Arrays.binarySearch(tableStarts, 0, n, grain.end);
                t = t >= 0 ? t - 1 : -t - 2;
                if (t >= 0 && tableStarts[t] + gtBytes > grain.start) {
                    hit = tableSpan(tables[t], gtBytes);
                }
            }
            if (hit != null) {
                return "grain table entry at offset " + grainEntries[g] + ": its grain (" + grain.start + " to "
                        + grain.end + ") overlaps the " + hit;
            }
            if (grain.end > maxEnd) {
                maxEnd = grain.end;
                maxAt = g;
            }
        }
        return null;
    }

    private static Span tableSpan(long key, long gtBytes) {
        long start = (key >>> 26) * SECTOR;
        return new Span(((key & 1) != 0 ? "redundant " : "") + "grain table " + ((key >> 1) & ((1 << 25) - 1)),
                start, start + gtBytes);
    }

    private static Span grainSpan(long packed, long entryAt) {
        long start = (packed >>> 31) * SECTOR;
        return new Span("grain of the entry at offset " + entryAt, start, start + (packed & 0x7fffffffL) * SECTOR);
    }

    private static Span firstOverlap(List<Span> spans, long start, long end) {
        for (Span s : spans) {
            if (s.overlaps(start, end)) {
                return s;
            }
        }
        return null;
    }

    private void summary(String group, String name, long offset, String value, String meaning) {
        fields.add(new HeaderField(group, name, offset, 0, new byte[0], value, meaning));
    }

    private Raw readHeader(FieldReader h, byte[] bytes, String what) throws ProbeException {
        byte[] magic = h.bytes("magicNumber", OFF_MAGIC, 4, "'" + FieldReader.printable(
                        Arrays.copyOfRange(bytes, OFF_MAGIC, OFF_MAGIC + 4)) + "'",
                "sparse extent magic 'KDMV' (0x564d444b little-endian)");
        if (!Arrays.equals(magic, MAGIC)) {
            throw field(what, "magicNumber", h.at(OFF_MAGIC), "'" + FieldReader.printable(magic)
                    + "' is not the VMDK4 magic 'KDMV'");
        }
        long version = h.u32("version", OFF_VERSION,
                "1, 2 (zeroed-grain entries), 3 (VMware: persistent changed block tracking; qemu writes 3 for "
                + "streamOptimized and opens version 3 read-only unless its grains are compressed)");
        long flags = h.u32("flags", OFF_FLAGS, "bit 0 valid newline test, 1 redundant grain table, "
                + "2 zeroed-grain GTE, 16 compressed grains, 17 markers", FLAG_TEXT);
        long capacity = h.u64("capacity", OFF_CAPACITY, "extent size in 512-byte sectors");
        long grainSize = h.u64("grainSize", OFF_GRAIN_SIZE,
                "grain (allocation unit) size in sectors; 128 = 64 KiB by default");
        long descOffset = h.u64("descriptorOffset", OFF_DESCRIPTOR_OFFSET,
                "embedded descriptor start in sectors (0: none)");
        long descSize = h.u64("descriptorSize", OFF_DESCRIPTOR_SIZE,
                "sectors reserved for the embedded descriptor");
        long numGtes = h.u32("numGTEsPerGT", OFF_NUM_GTES_PER_GT,
                "grain table entries per grain table (512: one table maps 512 grains)");
        long rgdOffset = h.u64("rgdOffset", OFF_RGD_OFFSET,
                "redundant (backup) grain directory in sectors (used when flag bit 1 is set)");
        long gdOffset = h.u64("gdOffset", OFF_GD_OFFSET,
                "grain directory in sectors; 0xffffffffffffffff = at the end (read the footer)");
        long overHead = h.u64("overHead", OFF_OVERHEAD,
                "sectors of metadata (header, descriptor, directories, tables) before the first grain");
        long unclean = h.u8("uncleanShutdown", OFF_UNCLEAN_SHUTDOWN,
                "1 while the disk is open for writing; set after a crash");
        byte[] nl = new byte[4];
        String[] names = {"singleEndLineChar", "nonEndLineChar", "doubleEndLineChar1", "doubleEndLineChar2"};
        String[] expect = {"'\\n' (0x0a)", "' ' (0x20)", "'\\r' (0x0d)", "'\\n' (0x0a)"};
        for (int i = 0; i < 4; i++) {
            nl[i] = (byte) h.u8(names[i], OFF_NEWLINE_CHARS + i, "newline-corruption test byte, should be "
                    + expect[i]);
        }
        long compress = h.u16("compressAlgorithm", OFF_COMPRESS_ALGORITHM, "grain compression: 0 none, 1 deflate");
        byte[] pad = Arrays.copyOfRange(bytes, OFF_PAD, HEADER_SIZE);
        boolean zero = true;
        for (byte b : pad) {
            zero &= b == 0;
        }
        h.bytes("pad", OFF_PAD, HEADER_SIZE - OFF_PAD, zero ? "all zero" : "not all zero",
                "padding to 512 bytes");
        return new Raw(version, flags, capacity, grainSize, descOffset, descSize, numGtes, rgdOffset, gdOffset,
                overHead, (int) unclean, nl, (int) compress);
    }

    private Raw readFooter(long footerOffset) throws ProbeException {
        if (footerOffset < HEADER_SIZE) {
            throw field("VMDK4 header", "gdOffset", OFF_GD_OFFSET, "the grain directory is at the end, but the "
                    + fileSize + "-byte file is too short for a footer");
        }
        byte[] f = reader.read(footerOffset, FOOTER_SIZE, prefix + "footer");
        FieldReader fm = new FieldReader(prefix + "footer marker", footerOffset, Arrays.copyOfRange(f, 0, SECTOR),
                ByteOrder.LITTLE_ENDIAN, fields);
        fm.u64("val", 0, "sectors of metadata that follow the marker (1: the footer header)");
        long size = fm.u32("size", 8, "0: a metadata marker, not a grain");
        long type = fm.u32("type", 12, "marker type: 0 end of stream, 1 grain table, 2 grain directory, 3 footer",
                FieldReader.DECIMAL);
        byte[] fhBytes = Arrays.copyOfRange(f, SECTOR, 2 * SECTOR);
        FieldReader fh = new FieldReader(prefix + "footer header", footerOffset + SECTOR, fhBytes,
                ByteOrder.LITTLE_ENDIAN, fields);
        Raw raw = readHeader(fh, fhBytes, "footer header");
        FieldReader eos = new FieldReader(prefix + "end-of-stream marker", footerOffset + 2 * SECTOR,
                Arrays.copyOfRange(f, 2 * SECTOR, 3 * SECTOR), ByteOrder.LITTLE_ENDIAN, fields);
        long eVal = eos.u64("val", 0, "0");
        long eSize = eos.u32("size", 8, "0");
        long eType = eos.u32("type", 12, "0: end of stream", FieldReader.DECIMAL);
        if (size != 0 || type != MARKER_FOOTER) {
            throw field("footer marker", "type", footerOffset + 12, "invalid footer: marker size " + size
                    + ", type " + type + " (expected 0 and 3)");
        }
        if (eVal != 0 || eSize != 0 || eType != MARKER_END_OF_STREAM) {
            throw field("end-of-stream marker", "type", footerOffset + 2 * SECTOR + 12,
                    "invalid footer: end-of-stream marker val " + eVal + ", size " + eSize + ", type " + eType);
        }
        if (raw.gdOffset == GD_AT_END) {
            throw field("footer header", "gdOffset", footerOffset + SECTOR + OFF_GD_OFFSET,
                    "the footer's grain directory offset is again 'at end'");
        }
        return raw;
    }

    private Optional<VmdkDescriptor> readDescriptor(Raw raw, String where, long base) throws ProbeException {
        if (raw.descOffset == 0 || raw.descSize == 0) {
            return Optional.empty();
        }
        if (Long.compareUnsigned(raw.descSize, DescriptorParser.MAX_DESCRIPTOR / SECTOR) > 0) {
            throw field(where, "descriptorSize", base + OFF_DESCRIPTOR_SIZE, Long.toUnsignedString(raw.descSize)
                    + " sectors: the embedded descriptor exceeds the 1 MiB limit");
        }
        long off = raw.descOffset * SECTOR;
        long len = raw.descSize * SECTOR;
        if (Long.compareUnsigned(raw.descOffset, fileSize / SECTOR) > 0 || off < 0 || off + len > fileSize) {
            throw field(where, "descriptorOffset", base + OFF_DESCRIPTOR_OFFSET, "descriptor at sector "
                    + Long.toUnsignedString(raw.descOffset) + " (" + len + " bytes) lies beyond the end of the file ("
                    + fileSize + " bytes)");
        }
        byte[] text = reader.read(off, (int) len, prefix + "embedded descriptor");
        regions.structure(RegionKind.METADATA, off, len, prefix + "embedded descriptor");
        if (prefix.isEmpty() && raw.descOffset != 1 && fileSize > SECTOR) {
            // qemu's vmdk_open reads the CIDs of a sparse extent opened on its own at offset 512,
            // wherever descriptorOffset points; DiskPlan edits the descriptor where it points
            byte[] atSector1 = reader.read(SECTOR, (int) Math.min(VmdkCids.DESC_READ, fileSize - SECTOR),
                    "descriptor text at offset 512");
            Optional<String> problem = VmdkCids.qemuProblem(
                    new String(atSector1, java.nio.charset.StandardCharsets.ISO_8859_1));
            if (problem.isPresent()) {
                flags.add("corrupt: " + where + " field descriptorOffset at offset "
                        + (base + OFF_DESCRIPTOR_OFFSET) + ": the embedded descriptor is at sector "
                        + Long.toUnsignedString(raw.descOffset) + ", but qemu reads the CIDs at offset 512: "
                        + problem.get() + " there (qemu refuses to open)");
            }
        }
        return Optional.of(DescriptorParser.parse(text, off, prefix + "embedded descriptor", fields));
    }

    private int[] readDirectory(long sector, long entries, String where, String name, long fieldOffset,
                                 String what) throws ProbeException {
        long bytes = entries * 4;
        if (Long.compareUnsigned(sector, fileSize / SECTOR) > 0 || sector * SECTOR + bytes > fileSize) {
            throw field(where, name, fieldOffset, what + " at sector " + Long.toUnsignedString(sector) + " ("
                    + entries + " entries, " + bytes + " bytes) lies beyond the end of the file (" + fileSize
                    + " bytes)");
        }
        if (sector == 0 && entries > 0) {
            throw field(where, name, fieldOffset, what + " at sector 0 would overlap the header");
        }
        int[] out = new int[(int) entries];
        long start = sector * SECTOR;
        for (long done = 0; done < entries; ) {
            int n = (int) Math.min(entries - done, GD_CHUNK / 4);
            ByteBuffer b = reader.readBuffer(start + done * 4, n * 4, ByteOrder.LITTLE_ENDIAN, prefix + what);
            for (int i = 0; i < n; i++) {
                out[(int) done + i] = b.getInt(i * 4);
            }
            done += n;
        }
        return out;
    }

    /** Adds coalesced regions for the grain tables a directory points at; returns how many are allocated. */
    private long tableRegions(int[] dir, long gtBytes, String label) {
        long len = roundUpToSector(gtBytes);
        int inFile = 0;
        for (int s : dir) {
            if (s != 0 && Integer.toUnsignedLong(s) * SECTOR + len <= fileSize) {
                inFile++;
            }
        }
        long[] starts = new long[inFile];
        int n = 0;
        long allocated = 0;
        for (int s : dir) {
            if (s == 0) {
                continue;
            }
            allocated++;
            long off = Integer.toUnsignedLong(s) * SECTOR;
            if (off + len <= fileSize) {
                starts[n++] = off;
            }
        }
        for (long[] run : RegionMap.runs(starts, n, len, RegionMap.MAX_RUNS)) {
            regions.structure(RegionKind.TABLE, run[0], run[1] - run[0], prefix + label);
        }
        return allocated;
    }

    static String flagText(long v) {
        StringBuilder sb = new StringBuilder(FieldReader.hex(v));
        String[] names = new String[32];
        names[0] = "valid newline test";
        names[1] = "redundant grain table";
        names[2] = "zeroed-grain GTE";
        names[16] = "compressed grains";
        names[17] = "markers";
        List<String> parts = new ArrayList<>();
        for (int bit = 0; bit < 32; bit++) {
            if ((v & (1L << bit)) != 0) {
                parts.add(names[bit] != null ? names[bit] : "unknown bit " + bit);
            }
        }
        if (!parts.isEmpty()) {
            sb.append(" (").append(String.join(", ", parts)).append(')');
        }
        return sb.toString();
    }

    private ProbeException field(String group, String name, long offset, String what) {
        return new ProbeException(ErrorCode.PARSE_FAILED, name, offset,
                prefix + group + " field " + name + " at offset " + offset + ": " + what);
    }

    private ProbeException err(String name, long offset, String what) {
        return new ProbeException(ErrorCode.PARSE_FAILED, name, offset, prefix + what);
    }
}
