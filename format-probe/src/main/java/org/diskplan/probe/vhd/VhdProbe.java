package org.diskplan.probe.vhd;

import static org.diskplan.probe.vhd.VhdLayout.*;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.LongFunction;
import org.diskplan.abi.ErrorCode;
import org.diskplan.abi.ImageFormat;
import org.diskplan.probe.RegionMap;
import org.diskplan.probe.FieldReader;
import org.diskplan.probe.FormatProbe;
import org.diskplan.probe.HeaderField;
import org.diskplan.probe.ImageReader;
import org.diskplan.probe.ProbeException;
import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.RegionKind;

/**
 * VHD (Connectix / Microsoft Virtual PC, qemu driver "vpc"). Big-endian. A 512-byte
 * footer ends the file (511 bytes in images older than Virtual PC 2004); dynamic and
 * differencing images also keep a copy at offset 0, a 1024-byte "cxsparse" dynamic
 * header at the footer's data offset, and a block allocation table (BAT) of u32 sector
 * offsets. The virtual size follows qemu 7.2's {@code vpc_open}.
 */
public final class VhdProbe implements FormatProbe {
    // No lambdas or streams here: this class runs on every command's start-up path (see ReadWatch / issue 20).

    /** How a field's value is shown, beyond FieldReader's decimal and hex. */
    private enum Shown implements LongFunction<String> {
        VERSION, TIMESTAMP, PLATFORM_CODE, FEATURES, DISK_TYPE;

        @Override
        public String apply(long v) {
            switch (this) {
                case VERSION:
                    return version(v);
                case TIMESTAMP:
                    return timestamp(v);
                case PLATFORM_CODE:
                    return platformCode(v);
                case FEATURES:
                    return features(v);
                case DISK_TYPE:
                    return diskTypeName(v);
                default:
                    throw new IllegalStateException("no rendering for " + this);
            }
        }
    }

    // Offsets, cookies, limits, checksum and geometry: VhdLayout (imported statically).
    /** Above this many runs of data blocks the layout map shows one coalesced data region. */
    static final int MAX_DATA_RUNS = 4000;
    private static final int BAT_CHUNK_ENTRIES = 4 << 20;
    /** Parent locator data shown as text only up to this length. */
    static final int MAX_LOCATOR_TEXT = 4096;

    @Override
    public ImageFormat format() {
        return ImageFormat.VHD;
    }

    @Override
    public ProbedImage probe(Path path, ImageReader reader) throws ProbeException {
        long fileSize = reader.size();
        List<HeaderField> fields = new ArrayList<>();
        List<String> flags = new ArrayList<>();
        RegionMap layout = new RegionMap(fileSize);

        if (fileSize < OLD_FOOTER_SIZE) {
            throw new ProbeException(ErrorCode.PARSE_FAILED, "footer", 0, "VHD footer at offset 0: the file ("
                    + fileSize + " bytes) is too small for a 512-byte VHD footer");
        }
        boolean copyAtStart = fileSize >= FOOTER_SIZE && hasCookie(reader, 0, FOOTER_COOKIE);

        // The footer at the end of the file (512 bytes, or 511 in old images).
        long tailOffset = -1;
        int tailLength = 0;
        if (fileSize >= FOOTER_SIZE && hasCookie(reader, fileSize - FOOTER_SIZE, FOOTER_COOKIE)
                && !(copyAtStart && fileSize == FOOTER_SIZE)) {
            tailOffset = fileSize - FOOTER_SIZE;
            tailLength = FOOTER_SIZE;
        } else if (hasCookie(reader, fileSize - OLD_FOOTER_SIZE, FOOTER_COOKIE)
                && !(copyAtStart && fileSize - OLD_FOOTER_SIZE == 0)) {
            tailOffset = fileSize - OLD_FOOTER_SIZE;
            tailLength = OLD_FOOTER_SIZE;
            flags.add("511-byte footer (made before Virtual PC 2004)");
        }
        if (!copyAtStart && tailOffset < 0) {
            throw new ProbeException(ErrorCode.PARSE_FAILED, "cookie", fileSize - FOOTER_SIZE,
                    "VHD footer field cookie at offset " + (fileSize - FOOTER_SIZE)
                            + ": no 'conectix' cookie at offset 0 or in the last 512 (or 511) bytes");
        }

        Footer main;
        Footer tail = null;
        if (copyAtStart) {
            main = readFooter(reader, 0, FOOTER_SIZE, "VHD footer copy (offset 0)", fields);
            layout.structure(RegionKind.HEADER, 0, FOOTER_SIZE, "VHD footer copy");
            if (tailOffset >= 0) {
                tail = readFooter(reader, tailOffset, tailLength, "VHD footer", fields);
                layout.structure(RegionKind.FOOTER, tailOffset, tailLength, "VHD footer");
                if (!Arrays.equals(main.raw, 0, Math.min(main.raw.length, tail.raw.length), tail.raw, 0,
                        Math.min(main.raw.length, tail.raw.length))) {
                    flags.add("footer copy at offset 0 differs from the footer at offset " + tailOffset);
                }
            } else {
                flags.add("no footer at the end of the file (truncated?); qemu reads the copy at offset 0");
            }
        } else {
            main = readFooter(reader, tailOffset, tailLength, "VHD footer", fields);
            tail = main;
            layout.structure(RegionKind.FOOTER, tailOffset, tailLength, "VHD footer");
        }

        if (!main.checksumValid) {
            flags.add("corrupt: footer checksum 0x" + Long.toHexString(main.checksum) + " does not match computed 0x"
                    + Long.toHexString(main.computedChecksum) + " (qemu refuses: Incorrect header checksum)");
        }
        if (tail != null && tail != main && !tail.checksumValid) {
            flags.add("corrupt: checksum of the footer at offset " + tailOffset + " does not match");
        }

        // Virtual size as qemu 7.2 vpc_open computes it.
        Geometry geometry = new Geometry(main.cylinders, main.heads, main.sectors);
        boolean fromGeometry = sizeFromGeometry(main.creatorApp, geometry);
        long totalSectors = fromGeometry ? geometry.sectors() : Long.divideUnsigned(main.currentSize, SECTOR);
        if (Long.compareUnsigned(totalSectors, MAX_SECTORS) > 0) {
            int rel = fromGeometry ? F_CYLINDERS : F_CURRENT_SIZE;
            throw new ProbeException(ErrorCode.PARSE_FAILED, fromGeometry ? "geometry" : "current_size",
                    main.base + rel, "VHD footer field " + (fromGeometry ? "geometry" : "current_size")
                    + " at offset " + (main.base + rel) + ": " + Long.toUnsignedString(totalSectors)
                    + " sectors exceed the 2040 GiB maximum (qemu: File too large)");
        }
        long virtualSize = totalSectors * SECTOR;
        flags.add("creator: " + escaped(main.creatorApp));
        flags.add(fromGeometry ? "size from CHS geometry " + main.cylinders + "/" + main.heads + "/" + main.sectors
                : "size from current_size");
        if ((main.features & 1) != 0) {
            flags.add("temporary disk");
        }
        if (main.savedState != 0) {
            flags.add("saved state");
        }
        if (main.diskType < 2 || main.diskType > 4) {
            flags.add("unknown disk type " + main.diskType);
        }
        if (copyAtStart && main.diskType == DISK_TYPE_FIXED) {
            flags.add("disk type says fixed but offset 0 holds a footer copy: qemu reads it as dynamic");
        }
        if (!copyAtStart && (main.diskType == DISK_TYPE_DYNAMIC
                || main.diskType == DISK_TYPE_DIFFERENCING)) {
            flags.add("disk type says " + subformatOf(main.diskType)
                    + " but offset 0 holds no footer copy (qemu 7.2 refuses it: invalid VPC image)");
        }

        long dynOffset = -1;
        boolean dynChecksumValid = false;
        long batOffset = -1;
        long maxEntries = 0;
        long entriesRead = 0;
        long allocated = 0;
        long blockSize = 0;
        long bitmapSize = 0;
        long firstBlock = -1;
        long dataEnd = -1;
        String parentUuid = "";
        String parentName = "";

        if (!copyAtStart) {
            long dataLen = tailOffset;
            layout.structure(RegionKind.DATA, 0, dataLen, "guest data (" + dataLen + " bytes)");
            if (dataLen < virtualSize) {
                flags.add("corrupt: the file holds " + dataLen + " bytes of guest data, less than the virtual size "
                        + virtualSize);
            }
        } else {
            // Dynamic header.
            dynOffset = main.dataOffset;
            long fieldAt = main.base + F_DATA_OFFSET;
            if (dynOffset < 0 || dynOffset > fileSize - DYNAMIC_HEADER_SIZE) {
                throw new ProbeException(ErrorCode.PARSE_FAILED, "data_offset", fieldAt,
                        "VHD footer field data_offset at offset " + fieldAt + ": dynamic header at "
                                + Long.toUnsignedString(dynOffset) + " (1024 bytes) lies outside the file ("
                                + fileSize + " bytes)");
            }
            byte[] dh = reader.read(dynOffset, DYNAMIC_HEADER_SIZE, "dynamic header");
            if (!Arrays.equals(dh, 0, 8, DYNAMIC_COOKIE, 0, 8)) {
                throw new ProbeException(ErrorCode.PARSE_FAILED, "cookie", dynOffset,
                        "dynamic header field cookie at offset " + dynOffset + ": expected 'cxsparse', found '"
                                + FieldReader.printable(Arrays.copyOf(dh, 8)) + "'");
            }
            layout.structure(RegionKind.HEADER, dynOffset, DYNAMIC_HEADER_SIZE, "dynamic header");
            FieldReader d = new FieldReader("dynamic header", dynOffset, dh, ByteOrder.BIG_ENDIAN, fields);
            d.ascii("cookie", D_COOKIE, 8, "'cxsparse' marks the dynamic disk header");
            d.u64("data_offset", D_DATA_OFFSET, "next structure; unused, 0xFFFFFFFFFFFFFFFF");
            batOffset = d.u64("table_offset", D_TABLE_OFFSET, "absolute offset of the block allocation table (BAT)");
            d.u32("header_version", D_VERSION, "dynamic header version, 0x00010000 = 1.0", Shown.VERSION);
            maxEntries = d.u32("max_table_entries", D_MAX_TABLE_ENTRIES,
                    "BAT capacity: entries (blocks) the table can address");
            blockSize = d.u32("block_size", D_BLOCK_SIZE, "bytes of guest data per block (default 2 MiB)");
            long dynStored = d.u32("checksum", D_CHECKSUM,
                    "ones' complement of the byte sum of this header with this field as zero", FieldReader.HEX);
            long dynComputed = checksum(dh, D_CHECKSUM);
            dynChecksumValid = dynStored == dynComputed;
            fields.add(new HeaderField("dynamic header", "checksum (computed)", dynOffset + D_CHECKSUM, 4,
                    be32(dynComputed), FieldReader.hex(dynComputed) + (dynChecksumValid ? " (valid)" : " (MISMATCH)"),
                    "checksum recomputed from the header bytes"));
            if (!dynChecksumValid) {
                flags.add("dynamic header checksum mismatch (stored 0x" + Long.toHexString(dynStored) + ", computed 0x"
                        + Long.toHexString(dynComputed) + ")");
            }
            parentUuid = rfcGuid(dh, D_PARENT_UUID);
            d.bytes("parent_unique_id", D_PARENT_UUID, 16, parentUuid,
                    "unique id of the parent disk (differencing disks, big-endian UUID), zero otherwise");
            d.u32("parent_timestamp", D_PARENT_TIMESTAMP, "modification time of the parent, seconds since 2000-01-01",
                    Shown.TIMESTAMP);
            d.u32("reserved", D_RESERVED1, "reserved, zero");
            parentName = utf16beName(dh, D_PARENT_NAME, D_PARENT_NAME_SIZE);
            d.bytes("parent_unicode_name", D_PARENT_NAME, D_PARENT_NAME_SIZE, "'" + parentName + "'",
                    "file name of the parent disk, UTF-16BE, NUL padded");
            for (int i = 0; i < LOCATOR_COUNT; i++) {
                int rel = D_LOCATORS + i * LOCATOR_SIZE;
                String g = "dynamic header: parent locator " + (i + 1);
                FieldReader l = new FieldReader(g, dynOffset + rel, Arrays.copyOfRange(dh, rel, rel + LOCATOR_SIZE),
                        ByteOrder.BIG_ENDIAN, fields);
                long code = l.u32("platform_code", 0, "how the parent is named: W2ku/W2ru (UTF-16LE path), "
                        + "Wi2k/Wi2r (deprecated), Mac/MacX (URL), 0 = unused", Shown.PLATFORM_CODE);
                long space = l.u32("platform_data_space", 4, "room reserved for the locator data (sectors per spec; "
                        + "many writers store bytes)");
                long length = l.u32("platform_data_length", 8, "bytes of locator data");
                l.u32("reserved", 12, "reserved, zero");
                long at = l.u64("platform_data_offset", 16, "absolute offset of the locator data");
                if (code != 0 && length > 0) {
                    layout.structure(RegionKind.METADATA, at, length, "parent locator " + (i + 1) + " ("
                            + platformName(code) + ")");
                    readLocatorText(reader, fields, i + 1, code, at, length);
                }
                if (code == 0 && (space != 0 || length != 0 || at != 0)) {
                    flags.add("parent locator " + (i + 1) + " is unused but not zeroed");
                }
            }
            d.bytes("reserved", D_RESERVED2, D_RESERVED2_SIZE, zeroSummary(dh, D_RESERVED2, D_RESERVED2_SIZE),
                    "reserved, zero");

            // Block size: qemu requires a power of two of at least 512 bytes.
            if (blockSize < SECTOR || Long.bitCount(blockSize) != 1) {
                long at = dynOffset + D_BLOCK_SIZE;
                throw new ProbeException(ErrorCode.PARSE_FAILED, "block_size", at,
                        "dynamic header field block_size at offset " + at + ": " + blockSize
                                + " is not a power of two of at least 512 (qemu: Invalid block size)");
            }
            bitmapSize = bitmapSize(blockSize);
            long capacity = maxEntries * blockSize; // both < 2^32: exact as unsigned
            if (capacity >= 0 && capacity < virtualSize) {
                flags.add("corrupt: max_table_entries " + maxEntries + " × block_size " + blockSize
                        + " is smaller than the virtual size (qemu: Page table too small)");
            }
            if (maxEntries > Integer.MAX_VALUE / 4) {
                flags.add("corrupt: max_table_entries " + maxEntries + " exceeds qemu's limit (Max Table Entries too large)");
            }

            // BAT: read only the entries that lie inside the file.
            long batFieldAt = dynOffset + D_TABLE_OFFSET;
            if (batOffset < 0 || batOffset > fileSize) {
                throw new ProbeException(ErrorCode.PARSE_FAILED, "table_offset", batFieldAt,
                        "dynamic header field table_offset at offset " + batFieldAt + ": BAT at "
                                + Long.toUnsignedString(batOffset) + " lies beyond the end of the file (" + fileSize
                                + " bytes)");
            }
            long fit = (fileSize - batOffset) / 4;
            // qemu refuses more than INT_MAX / 4 entries (flagged above); never read past that either.
            entriesRead = Math.min(Math.min(maxEntries, fit), Integer.MAX_VALUE / 4);
            if (entriesRead < maxEntries) {
                flags.add("corrupt: the BAT (" + maxEntries + " entries at " + batOffset
                        + ") runs past the end of the file; only " + entriesRead + " entries are inside it");
            }
            layout.structure(RegionKind.TABLE, batOffset, batBytes(maxEntries), "BAT (" + maxEntries + " entries)");
            // qemu's vpc_open checks no overlap at all; but a resize writes the footer copy, the
            // dynamic header, the BAT and the footer at the end, so a BAT or a block on top of
            // another of them would change the other (a block's guest data, the header's
            // checksum). Such files are corrupt (as qemu's own writes to them would show).
            List<Span> written = new ArrayList<>();
            written.add(new Span("footer copy", 0, FOOTER_SIZE));
            written.add(new Span("dynamic header", dynOffset, dynOffset + DYNAMIC_HEADER_SIZE));
            if (tailOffset >= 0) {
                written.add(new Span("footer", tailOffset, tailOffset + tailLength));
            }
            Span batSpan = new Span("BAT", batOffset, batOffset + BAT_ENTRY_SIZE * maxEntries);
            Span batHit = maxEntries == 0 ? null : Span.firstOverlap(written, batSpan.start(), batSpan.end());
            if (batHit != null) {
                flags.add("corrupt: dynamic header field table_offset at offset " + batFieldAt + ": the " + batSpan
                        + " overlaps the " + batHit + " (a resize writes both)");
            }
            Span headerHit = tailOffset < 0 ? null : Span.firstOverlap(written.subList(2, 3), dynOffset,
                    dynOffset + DYNAMIC_HEADER_SIZE);
            if (headerHit != null) {
                flags.add("corrupt: VHD footer field data_offset at offset " + fieldAt + ": the " + written.get(1)
                        + " overlaps the " + headerHit + " (a resize writes both)");
            }
            written.add(batSpan);
            int[] alloc = readAllocated(reader, batOffset, (int) entriesRead);
            allocated = alloc.length;
            dataEnd = roundUpToSector(batOffset + maxEntries * BAT_ENTRY_SIZE);
            long pastEnd = 0;
            long overlaps = 0;
            long runs = 0;
            long runStart = -1;
            long runEnd = -1;
            long runBlocks = 0;
            long blockBytes = bitmapSize + blockSize;
            List<long[]> runList = new ArrayList<>();
            int onStructure = Integer.MIN_VALUE;
            Span structureHit = null;
            for (int v : alloc) {
                long start = blockOffset(v);
                long end = start + blockBytes;
                if (structureHit == null) {
                    structureHit = Span.firstOverlap(written, start, end);
                    onStructure = v;
                }
                if (firstBlock < 0) {
                    firstBlock = start;
                }
                dataEnd = Math.max(dataEnd, end);
                if (end > fileSize) {
                    pastEnd++;
                }
                if (runStart >= 0 && start == runEnd) {
                    runEnd = end;
                    runBlocks++;
                    continue;
                }
                if (runStart >= 0 && start < runEnd) {
                    overlaps++;
                    runEnd = Math.max(runEnd, end);
                    runBlocks++;
                    continue;
                }
                if (runStart >= 0) {
                    runList.add(new long[] {runStart, runEnd, runBlocks});
                }
                runStart = start;
                runEnd = end;
                runBlocks = 1;
                runs++;
            }
            if (runStart >= 0) {
                runList.add(new long[] {runStart, runEnd, runBlocks});
            }
            if (runList.size() > MAX_DATA_RUNS) {
                long s = runList.get(0)[0];
                long e = runList.get(runList.size() - 1)[1];
                layout.structure(RegionKind.DATA, s, e - s, "data blocks (" + allocated + " blocks in " + runs
                        + " runs, with gaps; each block = " + bitmapSize + "-byte bitmap + " + blockSize + " bytes)");
            } else {
                for (long[] r : runList) {
                    layout.structure(RegionKind.DATA, r[0], r[1] - r[0], r[2] == 1 ? "data block (bitmap + data)"
                            : "data blocks (" + r[2] + " × bitmap + data)");
                }
            }
            fields.add(new HeaderField("BAT", "summary", batOffset, 0, new byte[0], maxEntries + " entries at " + batOffset + ", " + entriesRead + " inside the file, "
                    + allocated + " allocated, " + (entriesRead - allocated) + " absent (0xFFFFFFFF)",
                    "block allocation table: one big-endian u32 sector offset per block, 0xFFFFFFFF = not allocated"));
            if (pastEnd > 0) {
                flags.add("corrupt: " + pastEnd + " BAT entries point past the end of the file");
            }
            if (overlaps > 0) {
                flags.add("corrupt: " + overlaps + " data blocks overlap other blocks");
            }
            if (structureHit != null) {
                long index = batIndexOf(reader, batOffset, entriesRead, onStructure);
                long start = blockOffset(onStructure);
                flags.add("corrupt: BAT entry " + index + " at offset " + (batOffset + BAT_ENTRY_SIZE * index)
                        + " places its block (" + start + " to " + (start + blockBytes) + ", bitmap and data) over the "
                        + structureHit + " (a resize writes there: the block's data would change)");
            }
            if (dataEnd > fileSize) {
                flags.add("truncated: data ends at " + dataEnd + ", past the end of the file (qemu refuses: "
                        + "free_data_block_offset points after the end of file)");
            }
            if (main.diskType == DISK_TYPE_DIFFERENCING) {
                flags.add("has parent: " + (parentName.isEmpty() ? parentUuid : parentName));
            }
        }

        // qemu reads an image with a footer copy at offset 0 as dynamic, otherwise as fixed.
        String subformat = !copyAtStart ? "fixed"
                : main.diskType == DISK_TYPE_DIFFERENCING ? "differencing" : "dynamic";
        VhdHeader header = new VhdHeader(main.base, main.raw.length, tailOffset, copyAtStart, main.diskType,
                main.dataOffset, main.originalSize, main.currentSize, main.cylinders, main.heads, main.sectors,
                main.creatorApp, fromGeometry, virtualSize, main.checksum, main.checksumValid, main.uniqueId,
                dynOffset, dynChecksumValid, batOffset, maxEntries, entriesRead, allocated, blockSize, bitmapSize,
                firstBlock, dataEnd, parentUuid, parentName);
        return new ProbedImage(path, ImageFormat.VHD, subformat, virtualSize, fileSize, blockSize, flags, fields,
                layout.build(RegionKind.FREE, "unused"), header);
    }

    /** The parsed footer. */
    private record Footer(long base, byte[] raw, long dataOffset, String creatorApp, long originalSize,
                          long currentSize, int cylinders, int heads, int sectors, long diskType, long checksum,
                          long computedChecksum, boolean checksumValid, String uniqueId, int savedState,
                          long features) {
    }

    private static Footer readFooter(ImageReader reader, long at, int len, String group, List<HeaderField> fields)
            throws ProbeException {
        byte[] raw = reader.read(at, len, group);
        byte[] full = Arrays.copyOf(raw, FOOTER_SIZE);
        FieldReader f = new FieldReader(group, at, raw, ByteOrder.BIG_ENDIAN, fields);
        f.ascii("cookie", F_COOKIE, 8, "'conectix' identifies a VHD footer");
        long features = f.u32("features", F_FEATURES, "bit 0 temporary disk, bit 1 reserved (always set)",
                Shown.FEATURES);
        f.u32("file_format_version", F_VERSION, "format version, 0x00010000 = 1.0", Shown.VERSION);
        long dataOffset = f.u64("data_offset", F_DATA_OFFSET,
                "absolute offset of the dynamic header; 0xFFFFFFFFFFFFFFFF for fixed disks");
        f.u32("timestamp", F_TIMESTAMP, "creation time, seconds since 2000-01-01 00:00 UTC", Shown.TIMESTAMP);
        byte[] app = Arrays.copyOfRange(full, F_CREATOR_APP, F_CREATOR_APP + 4);
        String creatorApp = new String(app, StandardCharsets.ISO_8859_1);
        f.bytes("creator_application", F_CREATOR_APP, 4, "'" + escaped(creatorApp) + "'",
                "program that made the image: 'win '/'qem2'/'d2v '/'tap\\0'/'CTXS' (all 4 bytes) are read by "
                        + "current_size, any other ('vpc ', 'qemu', disk2vhd's 'd2v\\0') by the CHS geometry unless "
                        + "it is the maximum 65535/16/255");
        f.u32("creator_version", F_CREATOR_VERSION, "version of the creating program, major.minor",
                Shown.VERSION);
        f.ascii("creator_host_os", F_CREATOR_OS, 4, "host OS of the creator: 'Wi2k' Windows, 'Mac ' Macintosh");
        long original = f.u64("original_size", F_ORIGINAL_SIZE, "size of the disk in bytes when it was created");
        long current = f.u64("current_size", F_CURRENT_SIZE, "current size of the disk in bytes");
        int cyl = (int) f.u16("cylinders", F_CYLINDERS, "disk geometry: cylinders");
        int heads = (int) f.u8("heads", F_HEADS, "disk geometry: heads");
        int secs = (int) f.u8("sectors_per_track", F_SECTORS, "disk geometry: sectors per track");
        long type = f.u32("disk_type", F_DISK_TYPE, "2 fixed, 3 dynamic, 4 differencing", Shown.DISK_TYPE);
        long stored = f.u32("checksum", F_CHECKSUM,
                "ones' complement of the byte sum of the footer with this field as zero", FieldReader.HEX);
        long computed = checksum(raw, F_CHECKSUM);
        boolean valid = stored == computed;
        fields.add(new HeaderField(group, "checksum (computed)", at + F_CHECKSUM, 4, be32(computed),
                FieldReader.hex(computed) + (valid ? " (valid)" : " (MISMATCH)"),
                "checksum recomputed from the footer bytes"));
        String uuid = rfcGuid(raw, F_UNIQUE_ID);
        f.bytes("unique_id", F_UNIQUE_ID, 16, uuid,
                "identifies this disk (big-endian UUID); differencing children name it");
        int saved = (int) f.u8("saved_state", F_SAVED_STATE, "1 when the disk is in a saved state");
        int resLen = len - F_RESERVED;
        f.bytes("reserved", F_RESERVED, resLen, zeroSummary(raw, F_RESERVED, resLen), "reserved, zero");
        return new Footer(at, raw, dataOffset, creatorApp, original, current, cyl, heads, secs, type, stored,
                computed, valid, uuid, saved, features);
    }

    /** A byte range of the file, end exclusive. */
    private record Span(String name, long start, long end) {
        static Span firstOverlap(List<Span> spans, long start, long end) {
            for (Span r : spans) {
                if (start < r.end && end > r.start) {
                    return r;
                }
            }
            return null;
        }

        @Override
        public String toString() {
            return name + " (" + start + " to " + end + ")";
        }
    }

    /** The index of the first BAT entry holding {@code value} (one that the allocated list holds). */
    private static long batIndexOf(ImageReader reader, long batOffset, long entries, int value) throws ProbeException {
        for (long done = 0; done < entries; done += BAT_CHUNK_ENTRIES) {
            int n = (int) Math.min(BAT_CHUNK_ENTRIES, entries - done);
            ByteBuffer b = reader.readBuffer(batOffset + 4L * done, n * 4, ByteOrder.BIG_ENDIAN, "BAT");
            for (int i = 0; i < n; i++) {
                if (b.getInt(i * 4) == value) {
                    return done + i;
                }
            }
        }
        return -1;
    }

    /** Reads the BAT entries inside the file and returns the allocated ones sorted by offset. */
    private static int[] readAllocated(ImageReader reader, long batOffset, int entries) throws ProbeException {
        // One pass; the array is at most as large as the BAT bytes that are in the file.
        int[] out = new int[Math.min(entries, 1 << 16)];
        int k = 0;
        for (int done = 0; done < entries; done += BAT_CHUNK_ENTRIES) {
            int n = Math.min(BAT_CHUNK_ENTRIES, entries - done);
            ByteBuffer b = reader.readBuffer(batOffset + 4L * done, n * 4, ByteOrder.BIG_ENDIAN, "BAT");
            for (int i = 0; i < n; i++) {
                int v = b.getInt(i * 4);
                if (v != -1) {
                    if (k == out.length) {
                        out = Arrays.copyOf(out, (int) Math.min(entries, 2L * k));
                    }
                    out[k++] = v ^ Integer.MIN_VALUE;
                }
            }
        }
        out = Arrays.copyOf(out, k);
        Arrays.sort(out);
        for (int i = 0; i < out.length; i++) {
            out[i] ^= Integer.MIN_VALUE;
        }
        return out;
    }

    private static void readLocatorText(ImageReader reader, List<HeaderField> fields, int index, long code, long at,
                                        long length) {
        if (length > MAX_LOCATOR_TEXT || at < 0 || at > reader.size() || reader.size() - at < length) {
            return;
        }
        try {
            byte[] raw = reader.read(at, (int) length, "parent locator " + index);
            String text;
            if (code == 0x5732_6B75L || code == 0x5732_7275L) {
                text = new String(raw, StandardCharsets.UTF_16LE);
            } else {
                text = new String(raw, StandardCharsets.UTF_8);
            }
            text = text.replace("\0", "");
            fields.add(new HeaderField("parent locator " + index + " data", "platform_data", at, (int) length, raw,
                    "'" + text + "'", "where to find the parent disk (" + platformName(code) + ")"));
        } catch (ProbeException e) {
            // checked above; nothing to show
        }
    }

    private static boolean hasCookie(ImageReader reader, long at, byte[] cookie) throws ProbeException {
        if (at < 0 || at > reader.size() - cookie.length) {
            return false;
        }
        return Arrays.equals(reader.read(at, cookie.length, "VHD cookie"), cookie);
    }

    private static byte[] be32(long v) {
        return ByteBuffer.allocate(4).putInt((int) v).array();
    }

    static String subformatOf(long diskType) {
        return diskType == DISK_TYPE_FIXED ? "fixed"
                : diskType == DISK_TYPE_DIFFERENCING ? "differencing" : "dynamic";
    }

    private static String diskTypeName(long t) {
        return t + (t == 2 ? " (fixed)" : t == 3 ? " (dynamic)" : t == 4 ? " (differencing)" : " (unknown)");
    }

    private static String features(long v) {
        List<String> s = new ArrayList<>();
        if ((v & 1) != 0) {
            s.add("temporary");
        }
        if ((v & 2) != 0) {
            s.add("reserved");
        }
        return FieldReader.hex(v) + (s.isEmpty() ? "" : " (" + String.join(", ", s) + ")");
    }

    private static String version(long v) {
        return (v >>> 16) + "." + (v & 0xffff) + " (0x" + Long.toHexString(v) + ")";
    }

    private static String timestamp(long v) {
        return v + " (" + FieldReader.instant(VHD_EPOCH + v) + ")";
    }

    private static String platformCode(long v) {
        return FieldReader.hex(v) + " (" + platformName(v) + ")";
    }

    private static String platformName(long v) {
        if (v == 0) {
            return "none";
        }
        byte[] b = be32(v);
        return "'" + FieldReader.printable(b) + "'";
    }

    /** Creator text with every byte shown: printable ASCII as is, others as \xNN (so "tap\x00"). */
    static String escaped(String s) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c >= 0x20 && c < 0x7f && c != '\\') {
                sb.append(c);
            } else {
                sb.append("\\x").append(FieldReader.hexDigits(c, 2));
            }
        }
        return sb.toString();
    }

    /** A UUID stored in RFC 4122 (big-endian) byte order, as VHD, qemu and libvhdi write it. */
    static String rfcGuid(byte[] b, int at) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 16; i++) {
            if (i == 4 || i == 6 || i == 8 || i == 10) {
                sb.append('-');
            }
            sb.append(FieldReader.hexDigits(b[at + i] & 0xff, 2));
        }
        return sb.toString();
    }

    private static String utf16beName(byte[] b, int at, int len) {
        int end = at;
        while (end + 1 < at + len && (b[end] != 0 || b[end + 1] != 0)) {
            end += 2;
        }
        return new String(b, at, end - at, StandardCharsets.UTF_16BE);
    }

    static String zeroSummary(byte[] b, int at, int len) {
        int nonZero = 0;
        for (int i = at; i < at + len; i++) {
            if (b[i] != 0) {
                nonZero++;
            }
        }
        return nonZero == 0 ? "all " + len + " bytes zero" : nonZero + " of " + len + " bytes non-zero";
    }
}
