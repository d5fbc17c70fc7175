package org.diskplan.probe.vhdx;

import static org.diskplan.probe.vhdx.VhdxLayout.*;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.LongFunction;
import java.util.zip.CRC32C;
import org.diskplan.abi.ErrorCode;
import org.diskplan.abi.ImageFormat;
import org.diskplan.probe.RegionMap;
import org.diskplan.probe.FieldReader;
import org.diskplan.probe.FormatProbe;
import org.diskplan.probe.Guids;
import org.diskplan.probe.HeaderField;
import org.diskplan.probe.ImageReader;
import org.diskplan.probe.ProbeException;
import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.RegionKind;

/**
 * VHDX ([MS-VHDX]; qemu block/vhdx.c). Little-endian, CRC-32C checksums. The first
 * MiB holds the file type identifier, two headers (64 KiB, 128 KiB) and two region
 * tables (192 KiB, 256 KiB); the region table locates the BAT and the metadata
 * region, whose table locates every metadata item by GUID. The header locates the log.
 */
public final class VhdxProbe implements FormatProbe {
    // No lambdas or streams here: this class runs on every command's start-up path (see ReadWatch / issue 20).

    /** How a field's value is shown, beyond FieldReader's decimal and hex. */
    private enum Shown implements LongFunction<String> {
        SIGNATURE, REGION_REQUIRED, ITEM_FLAGS, FILE_PARAMETERS_FLAGS, CHECKSUM_VALID, CHECKSUM_NOT_VALID;

        @Override
        public String apply(long v) {
            switch (this) {
                case SIGNATURE:
                    return FieldReader.hex(v) + " '" + FieldReader.printable(le32(v)) + "'";
                case REGION_REQUIRED:
                    return FieldReader.hex(v) + ((v & 1) != 0 ? " (required)" : "");
                case ITEM_FLAGS:
                    return itemFlags(v);
                case FILE_PARAMETERS_FLAGS:
                    return FieldReader.hex(v) + ((v & 1) != 0 ? " leave_blocks_allocated" : "")
                            + ((v & 2) != 0 ? " has_parent" : "");
                case CHECKSUM_VALID:
                    return FieldReader.hex(v) + " (valid)";
                case CHECKSUM_NOT_VALID:
                    return FieldReader.hex(v) + " (invalid or not checked)";
                default:
                    throw new IllegalStateException("no rendering for " + this);
            }
        }
    }

    // Offsets, signatures, GUIDs, limits, CRC-32C and BAT arithmetic: VhdxLayout (imported statically).
    /** Log entries shown field by field; the rest are only counted. */
    static final int MAX_LOG_ENTRIES_SHOWN = 16;
    private static final int LOG_CHUNK = 1 << 20;
    private static final int BAT_CHUNK_ENTRIES = 1 << 20;
    static final int MAX_DATA_RUNS = 4000;
    @Override
    public ImageFormat format() {
        return ImageFormat.VHDX;
    }

    @Override
    public ProbedImage probe(Path path, ImageReader reader) throws ProbeException {
        long fileSize = reader.size();
        List<HeaderField> fields = new ArrayList<>();
        List<String> flags = new ArrayList<>();
        RegionMap layout = new RegionMap(fileSize);

        // File type identifier.
        if (fileSize < FILE_ID_SIGNATURE.length + FILE_ID_CREATOR_SIZE) {
            throw new ProbeException(ErrorCode.PARSE_FAILED, "signature", 0, "VHDX file type identifier at offset 0: "
                    + "the file (" + fileSize + " bytes) is too small for a VHDX image");
        }
        byte[] id = reader.read(FILE_ID_OFFSET, FILE_ID_CREATOR + FILE_ID_CREATOR_SIZE, "file type identifier");
        if (!Arrays.equals(id, 0, 8, FILE_ID_SIGNATURE, 0, 8)) {
            throw new ProbeException(ErrorCode.PARSE_FAILED, "signature", 0,
                    "VHDX file type identifier field signature at offset 0: expected 'vhdxfile'");
        }
        FieldReader fid = new FieldReader("file type identifier", FILE_ID_OFFSET, id, ByteOrder.LITTLE_ENDIAN, fields);
        fid.ascii("signature", 0, 8, "'vhdxfile' identifies a VHDX file");
        String creator = utf16le(id, FILE_ID_CREATOR, FILE_ID_CREATOR_SIZE);
        fid.bytes("creator", FILE_ID_CREATOR, FILE_ID_CREATOR_SIZE, "'" + creator + "'",
                "program that created the file, UTF-16LE, NUL padded");
        layout.structure(RegionKind.HEADER, FILE_ID_OFFSET, FILE_ID_SIZE, "file type identifier");
        if (!creator.isEmpty()) {
            flags.add("creator: " + creator);
        }

        // Headers.
        ParsedHeader h1 = readHeader(reader, HEADER1_OFFSET, "header 1", fields);
        ParsedHeader h2 = readHeader(reader, HEADER2_OFFSET, "header 2", fields);
        int current;
        if (h1.valid && h2.valid) {
            int cmp = Long.compareUnsigned(h1.sequence, h2.sequence);
            current = cmp >= 0 ? 0 : 1;
            if (cmp == 0 && !Arrays.equals(h1.raw, h2.raw)) {
                flags.add("corrupt: both headers have sequence number " + Long.toUnsignedString(h1.sequence)
                        + " but differ (qemu refuses to open)");
            }
        } else if (h1.valid) {
            current = 0;
            flags.add("header 2 is invalid (signature, version or CRC-32C)");
        } else if (h2.valid) {
            current = 1;
            flags.add("header 1 is invalid (signature, version or CRC-32C)");
        } else {
            throw new ProbeException(ErrorCode.PARSE_FAILED, "header", HEADER1_OFFSET, "VHDX header at offset "
                    + HEADER1_OFFSET + " and at offset " + HEADER2_OFFSET
                    + ": neither has a valid signature, version 1 and CRC-32C (No valid VHDX header found)");
        }
        ParsedHeader cur = current == 0 ? h1 : h2;
        ParsedHeader other = current == 0 ? h2 : h1;
        layout.structure(RegionKind.HEADER, cur.offset, HEADER_BLOCK, "header " + (current + 1) + " (current, sequence "
                + Long.toUnsignedString(cur.sequence) + ")");
        layout.structure(RegionKind.HEADER, other.offset, HEADER_BLOCK, "header " + (2 - current)
                + (other.valid ? " (sequence " + Long.toUnsignedString(other.sequence) + ")" : " (invalid)"));

        // Log.
        long logOffset = cur.logOffset;
        long logLength = cur.logLength;
        LogScan log = scanLog(reader, cur, fields, flags);
        if (logLength > 0) {
            layout.structure(RegionKind.LOG, logOffset, logLength, "log (" + logLength + " bytes, " + log.entries
                    + " entries)");
        }

        // A log that needs replay: every structure below is read as it will be once replayed
        // (qemu replays on a read-write open, Hyper-V on any open).
        java.util.Optional<VhdxLog.Replay> replay = cur.logGuidZero || logLength == 0 ? java.util.Optional.empty()
                : VhdxLog.search(reader, logOffset, logLength, Arrays.copyOfRange(cur.raw, H_LOG_GUID, H_LOG_GUID + 16));
        if (replay.isPresent()) {
            for (VhdxLog.Entry e : replay.get().entries()) {
                // [MS-VHDX] 2.3.1.1; qemu's vhdx_log_flush refuses the same (EINVAL)
                if (Long.compareUnsigned(e.flushedFileOffset(), fileSize) > 0) {
                    flags.add("corrupt: log entry field flushed_file_offset at offset "
                            + (logOffset + e.logPosition() + VhdxLog.E_FLUSHED_FILE_OFFSET) + ": "
                            + Long.toUnsignedString(e.flushedFileOffset()) + " is past the end of the file ("
                            + fileSize + " bytes): the file lost its tail after the entry was written; the log "
                            + "cannot be replayed (qemu refuses too)");
                }
                if (Long.compareUnsigned(e.lastFileOffset(), VhdxLog.MAX_FILE_LENGTH) > 0) {
                    flags.add("corrupt: log entry field last_file_offset at offset "
                            + (logOffset + e.logPosition() + VhdxLog.E_LAST_FILE_OFFSET) + ": "
                            + Long.toUnsignedString(e.lastFileOffset()) + " is past any VHDX file ("
                            + VhdxLog.MAX_FILE_LENGTH + " bytes)");
                }
            }
            long replayedLength = replay.get().fileLength(fileSize);
            if (replayedLength > fileSize) {
                flags.add("log replay extends the file to " + replayedLength + " bytes (last_file_offset "
                        + Long.toUnsignedString(replay.get().lastFileOffset()) + ")");
            }
            reader = replay.get().overlay(reader);
            flags.add("shown as replayed: " + replay.get().entries().size() + " log entr"
                    + (replay.get().entries().size() == 1 ? "y" : "ies") + " (sequence "
                    + Long.toUnsignedString(replay.get().entries().get(0).sequence()) + ") change "
                    + replay.get().changes().size() + " ranges");
        }

        // Region tables.
        RegionTable rt1 = readRegionTable(reader, REGION_TABLE1_OFFSET, "region table 1", fields);
        RegionTable rt2 = readRegionTable(reader, REGION_TABLE2_OFFSET, "region table 2", fields);
        layout.structure(RegionKind.TABLE, REGION_TABLE1_OFFSET, REGION_TABLE_SIZE, "region table 1");
        layout.structure(RegionKind.TABLE, REGION_TABLE2_OFFSET, REGION_TABLE_SIZE, "region table 2");
        RegionTable rt;
        if (rt1.valid) {
            rt = rt1;
            if (!rt2.valid) {
                flags.add("region table 2 is invalid (signature, entry count or CRC-32C)");
            } else if (!Arrays.equals(rt1.raw, rt2.raw)) {
                flags.add("region tables 1 and 2 differ");
            }
        } else if (rt2.valid) {
            rt = rt2;
            flags.add("corrupt: region table 1 is invalid; qemu reads only table 1 and refuses to open");
        } else {
            throw new ProbeException(ErrorCode.PARSE_FAILED, "region table", REGION_TABLE1_OFFSET,
                    "VHDX region table at offset " + REGION_TABLE1_OFFSET + " and at offset " + REGION_TABLE2_OFFSET
                            + ": neither has a valid signature 'regi', entry count ≤ 2047 and CRC-32C");
        }
        VhdxHeader.RegionEntry bat = null;
        VhdxHeader.RegionEntry meta = null;
        for (VhdxHeader.RegionEntry e : rt.entries) {
            if (e.guid().equals(BAT_GUID)) {
                if (bat != null) {
                    flags.add("corrupt: two BAT region entries (qemu refuses to open)");
                } else {
                    bat = e;
                }
            } else if (e.guid().equals(METADATA_GUID)) {
                if (meta != null) {
                    flags.add("corrupt: two metadata region entries (qemu refuses to open)");
                } else {
                    meta = e;
                }
            } else if (e.required()) {
                flags.add("unknown required region " + e.guid() + " (qemu refuses to open)");
            }
            if (e.fileOffset() % MIB != 0 || e.length() % MIB != 0) {
                flags.add("region " + e.name() + " is not 1 MiB aligned");
            }
        }
        // qemu's vhdx_open registers the log, then each region table entry in table order,
        // refusing one that overlaps what is registered ("VHDX region A-B overlaps with region
        // C-D"). DiskPlan also keeps them off the five 64 KiB structures of the header section
        // (qemu does not check those; a resize rewrites them).
        List<Span> spans = new ArrayList<>();
        spans.add(new Span("header section (file identifier, headers, region tables)", 0,
                REGION_TABLE2_OFFSET + REGION_TABLE_SIZE));
        spans.add(new Span("log", logOffset, logOffset + logLength));
        for (VhdxHeader.RegionEntry e : rt.entries) {
            Span region = new Span(e.name() + " region", e.fileOffset(), e.fileOffset() + e.length());
            Span hit = region.firstOverlap(spans);
            if (hit != null) {
                flags.add("corrupt: region table entry field file_offset at offset " + (rt.entryOffset(e) + 16)
                        + ": the " + region + " overlaps the " + hit + " (qemu refuses to open)");
            }
            spans.add(region);
        }
        if (bat == null || meta == null) {
            throw new ProbeException(ErrorCode.PARSE_FAILED, "region table entries", rt.offset + R_ENTRIES,
                    "VHDX region table at offset " + rt.offset + ": the " + (bat == null ? "BAT" : "metadata")
                            + " region entry is missing");
        }

        // Metadata region.
        long metaOffset = meta.fileOffset();
        if (metaOffset < 0 || metaOffset > fileSize - METADATA_TABLE_SIZE) {
            long at = rt.entryOffset(meta) + 16;
            throw new ProbeException(ErrorCode.PARSE_FAILED, "metadata region file_offset", at,
                    "VHDX region table entry field file_offset at offset " + at + ": metadata table at "
                            + Long.toUnsignedString(metaOffset) + " (64 KiB) lies beyond the end of the file ("
                            + fileSize + " bytes)");
        }
        byte[] mt = reader.read(metaOffset, METADATA_TABLE_SIZE, "metadata table");
        if (!Arrays.equals(mt, 0, 8, METADATA_SIGNATURE, 0, 8)) {
            throw new ProbeException(ErrorCode.PARSE_FAILED, "signature", metaOffset, "VHDX metadata table field "
                    + "signature at offset " + metaOffset + ": expected 'metadata'");
        }
        FieldReader m = new FieldReader("metadata table", metaOffset, mt, ByteOrder.LITTLE_ENDIAN, fields);
        m.ascii("signature", 0, 8, "'metadata' marks the metadata table");
        m.u16("reserved", 8, "reserved, zero");
        int metaCount = (int) m.u16("entry_count", M_ENTRY_COUNT, "number of metadata entries (at most 2047)");
        m.bytes("reserved2", 12, 20, zeroSummary(mt, 12, 20), "reserved, zero");
        if (metaCount > MAX_METADATA_ENTRIES) {
            long at = metaOffset + M_ENTRY_COUNT;
            throw new ProbeException(ErrorCode.PARSE_FAILED, "entry_count", at, "VHDX metadata table field "
                    + "entry_count at offset " + at + ": " + metaCount + " entries exceed the limit of 2047");
        }
        layout.structure(RegionKind.METADATA, metaOffset, meta.length(), "metadata region (" + metaCount + " items)");
        Metadata md = readMetadata(reader, mt, metaOffset, meta.length(), metaCount, fields, flags);

        long fileParamsAt = md.require(FILE_PARAMETERS_GUID, "file parameters", metaOffset);
        long vdsAt = md.require(VIRTUAL_DISK_SIZE_GUID, "virtual disk size", metaOffset);
        long lssAt = md.require(LOGICAL_SECTOR_SIZE_GUID, "logical sector size", metaOffset);
        long pssAt = md.offsetOf(PHYSICAL_SECTOR_SIZE_GUID);
        long p83At = md.offsetOf(PAGE83_GUID);
        long plAt = md.offsetOf(PARENT_LOCATOR_GUID);
        if (pssAt < 0) {
            flags.add("corrupt: physical sector size item missing (qemu refuses to open)");
        }
        if (p83At < 0) {
            flags.add("corrupt: page 83 data item missing (qemu refuses to open)");
        }

        long blockSize = md.blockSize;
        if (blockSize < MIN_BLOCK_SIZE || blockSize > MAX_BLOCK_SIZE || Long.bitCount(blockSize) != 1) {
            throw new ProbeException(ErrorCode.PARSE_FAILED, "block_size", fileParamsAt, "VHDX file parameters field "
                    + "block_size at offset " + fileParamsAt + ": " + blockSize
                    + " is not a power of two between 1 MiB and 256 MiB");
        }
        long lss = md.logicalSectorSize;
        if (lss != 512 && lss != 4096) {
            throw new ProbeException(ErrorCode.PARSE_FAILED, "logical_sector_size", lssAt, "VHDX metadata item "
                    + "logical_sector_size at offset " + lssAt + ": " + lss + " is neither 512 nor 4096");
        }
        if (pssAt >= 0 && md.physicalSectorSize != 512 && md.physicalSectorSize != 4096) {
            flags.add("physical sector size " + md.physicalSectorSize + " is neither 512 nor 4096");
        }
        long vds = md.virtualDiskSize;
        if (vds < 0 || vds > MAX_VIRTUAL_SIZE) {
            throw new ProbeException(ErrorCode.PARSE_FAILED, "virtual_disk_size", vdsAt, "VHDX metadata item "
                    + "virtual_disk_size at offset " + vdsAt + ": " + Long.toUnsignedString(vds)
                    + " bytes exceed the 64 TiB VHDX maximum");
        }
        if (vds % lss != 0) {
            flags.add("virtual disk size " + vds + " is not a multiple of the logical sector size " + lss);
        }
        if (md.hasParent && plAt < 0) {
            flags.add("corrupt: has_parent set but no parent locator item (qemu refuses to open)");
        }

        // BAT.
        long chunkRatio = VhdxLayout.chunkRatio(lss, blockSize);
        long payloadBlocks = VhdxLayout.payloadBlocks(vds, blockSize);
        long batEntries = VhdxLayout.batEntries(payloadBlocks, chunkRatio, md.hasParent);
        long batOffset = bat.fileOffset();
        long batLength = bat.length();
        if (batEntries > batLength / 8) {
            flags.add("corrupt: BAT region holds " + batLength / 8 + " entries, the virtual size needs " + batEntries
                    + " (qemu refuses to open)");
        }
        layout.structure(RegionKind.TABLE, batOffset, batLength, "BAT (" + batEntries + " entries used)");
        long fit = batOffset < 0 || batOffset > fileSize ? 0 : (fileSize - batOffset) / 8;
        long entriesRead = Math.min(batEntries, Math.min(batLength / 8, fit));
        if (entriesRead < Math.min(batEntries, batLength / 8)) {
            flags.add("truncated: the BAT region runs past the end of the file; " + entriesRead + " entries read");
        }
        long[] payloadStates = new long[8];
        long[] bitmapStates = new long[8];
        long[] pastEnd = new long[1];
        List<String> overlapping = new ArrayList<>();
        long[] blocks = readBat(reader, batOffset, entriesRead, chunkRatio, blockSize, vds, payloadStates,
                bitmapStates, pastEnd, spans, overlapping);
        if (pastEnd[0] > 0) {
            flags.add("corrupt: " + pastEnd[0] + " BAT entries point past the end of the file");
        }
        if (!overlapping.isEmpty()) {
            flags.add("corrupt: " + overlapping.get(0) + " (qemu refuses to open)");
        }
        addBlocks(layout, blocks, blockSize);
        fields.add(new HeaderField("BAT", "summary", batOffset, 0, new byte[0], entriesRead + " of " + batEntries
                + " entries read at " + batOffset + " (" + payloadBlocks + " payload blocks, chunk ratio " + chunkRatio
                + "); payload: " + describeStates(payloadStates, true) + "; sector bitmaps: "
                + describeStates(bitmapStates, false),
                "block allocation table: u64 entries, state in bits 0-2, file offset in MiB in bits 20-63; every "
                        + "chunk ratio payload entries are followed by one sector bitmap entry"));

        // "fixed" is exactly the file parameters flag LeaveBlockAllocated ([MS-VHDX] 2.6.2.1; qemu sets it
        // for subformat=fixed, libvhdi reads it): a dynamic image whose blocks happen to be all present
        // (Windows writes such files) stays dynamic.
        String subformat = md.hasParent ? "differencing" : md.leaveBlocksAllocated ? "fixed" : "dynamic";
        if (md.hasParent) {
            flags.add("has parent" + (md.parentPath.isEmpty() ? "" : ": " + md.parentPath));
        }
        if (md.leaveBlocksAllocated) {
            flags.add("leave blocks allocated");
        }
        if (replay.isPresent()) {
            flags.add("log needs replay (" + log.matching + " valid log entr" + (log.matching == 1 ? "y" : "ies")
                    + " for log GUID " + cur.logGuid + "): qemu opens the image read-only only once it is replayed "
                    + "(qemu-img check -r all); a DiskPlan resize replays it first");
        }

        // qemu 7.2 counts whole 512-byte sectors (total_sectors = size >> 9 for its only supported logical
        // sector size, 512); it refuses 4096-byte logical sectors, where libvhdi and Hyper-V show the full size.
        long virtualSize = vds & ~511L;
        if (lss != 512) {
            flags.add("logical sector size " + lss + ": qemu 7.2 refuses to open the image (Operation not supported)");
        }

        List<VhdxHeader.HeaderCopy> copies = List.of(
                new VhdxHeader.HeaderCopy(HEADER1_OFFSET, h1.valid, h1.sequence),
                new VhdxHeader.HeaderCopy(HEADER2_OFFSET, h2.valid, h2.sequence));
        List<Long> ps = new ArrayList<>();
        List<Long> bs = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            ps.add(payloadStates[i]);
            bs.add(bitmapStates[i]);
        }
        VhdxHeader header = new VhdxHeader(creator, copies, current, cur.sequence, cur.fileWriteGuid,
                cur.dataWriteGuid, cur.logGuid, cur.logVersion, cur.version, logOffset, logLength, rt.offset,
                rt.entries, batOffset, batLength, metaOffset, meta.length(), md.items, fileParamsAt, vdsAt, lssAt,
                pssAt, p83At, plAt, blockSize, md.leaveBlocksAllocated, md.hasParent, vds, lss,
                md.physicalSectorSize, chunkRatio, payloadBlocks, batEntries, entriesRead, ps, bs, log.entries,
                replay.isPresent());
        return new ProbedImage(path, ImageFormat.VHDX, subformat, virtualSize, fileSize, blockSize, flags, fields,
                layout.build(RegionKind.FREE, "unused"), header);
    }

    // ---------------------------------------------------------------- headers

    private record ParsedHeader(long offset, byte[] raw, boolean valid, long sequence, String fileWriteGuid,
                                String dataWriteGuid, String logGuid, boolean logGuidZero, int logVersion,
                                int version, long logLength, long logOffset) {
    }

    private static ParsedHeader readHeader(ImageReader reader, long at, String group, List<HeaderField> fields)
            throws ProbeException {
        if (reader.size() - at < HEADER_SIZE) {
            throw new ProbeException(ErrorCode.PARSE_FAILED, group, at, "VHDX " + group + " at offset " + at
                    + " lies beyond the end of the file (" + reader.size() + " bytes)");
        }
        byte[] raw = reader.read(at, HEADER_SIZE, group);
        FieldReader f = new FieldReader(group, at, raw, ByteOrder.LITTLE_ENDIAN, fields);
        long sig = f.u32("signature", H_SIGNATURE, "'head' (0x64616568) marks a header",
                Shown.SIGNATURE);
        long stored = f.u32("checksum", H_CHECKSUM, "CRC-32C of the 4 KiB header with this field as zero",
                FieldReader.HEX);
        long computed = crc32c(raw, H_CHECKSUM);
        fields.add(new HeaderField(group, "checksum (computed)", at + H_CHECKSUM, 4, le32(computed),
                FieldReader.hex(computed) + (stored == computed ? " (valid)" : " (MISMATCH)"),
                "CRC-32C recomputed from the header bytes"));
        long seq = f.u64("sequence_number", H_SEQUENCE, "the valid header with the higher number is current",
                FieldReader.DECIMAL);
        String fw = guid(f, raw, "file_write_guid", H_FILE_WRITE_GUID, "changes on the first write to the file after open");
        String dw = guid(f, raw, "data_write_guid", H_DATA_WRITE_GUID, "changes on the first guest-visible write");
        String lg = guid(f, raw, "log_guid", H_LOG_GUID, "identifies valid log entries; zero = the log is empty");
        int lv = (int) f.u16("log_version", H_LOG_VERSION, "log format version, 0");
        int v = (int) f.u16("version", H_VERSION, "header version, 1");
        long ll = f.u32("log_length", H_LOG_LENGTH, "bytes of the log, a multiple of 1 MiB");
        long lo = f.u64("log_offset", H_LOG_OFFSET, "file offset of the log, a multiple of 1 MiB");
        f.bytes("reserved", H_RESERVED, HEADER_SIZE - H_RESERVED, zeroSummary(raw, H_RESERVED,
                HEADER_SIZE - H_RESERVED), "reserved, zero");
        boolean valid = sig == HEADER_SIGNATURE && stored == computed && v == 1;
        boolean zero = true;
        for (int i = H_LOG_GUID; i < H_LOG_GUID + 16; i++) {
            zero &= raw[i] == 0;
        }
        return new ParsedHeader(at, raw, valid, seq, fw, dw, lg, zero, lv, v, ll, lo);
    }

    // ---------------------------------------------------------------- region tables

    private record RegionTable(long offset, byte[] raw, boolean valid, List<VhdxHeader.RegionEntry> entries) {
        long entryOffset(VhdxHeader.RegionEntry e) {
            return offset + R_ENTRIES + (long) entries.indexOf(e) * R_ENTRY_SIZE;
        }
    }

    private static RegionTable readRegionTable(ImageReader reader, long at, String group, List<HeaderField> fields)
            throws ProbeException {
        if (reader.size() - at < REGION_TABLE_SIZE) {
            throw new ProbeException(ErrorCode.PARSE_FAILED, group, at, "VHDX " + group + " at offset " + at
                    + " (64 KiB) lies beyond the end of the file (" + reader.size() + " bytes)");
        }
        byte[] raw = reader.read(at, REGION_TABLE_SIZE, group);
        FieldReader f = new FieldReader(group, at, raw, ByteOrder.LITTLE_ENDIAN, fields);
        long sig = f.u32("signature", R_SIGNATURE, "'regi' (0x69676572) marks a region table",
                Shown.SIGNATURE);
        long stored = f.u32("checksum", R_CHECKSUM, "CRC-32C of the 64 KiB table with this field as zero",
                FieldReader.HEX);
        long computed = crc32c(raw, R_CHECKSUM);
        fields.add(new HeaderField(group, "checksum (computed)", at + R_CHECKSUM, 4, le32(computed),
                FieldReader.hex(computed) + (stored == computed ? " (valid)" : " (MISMATCH)"),
                "CRC-32C recomputed from the table bytes"));
        long count = f.u32("entry_count", R_ENTRY_COUNT, "number of region entries (at most 2047)");
        f.u32("reserved", R_RESERVED, "reserved, zero");
        boolean valid = sig == REGION_SIGNATURE && stored == computed && count <= MAX_REGION_ENTRIES;
        List<VhdxHeader.RegionEntry> entries = new ArrayList<>();
        int shown = (int) Math.min(count, MAX_REGION_ENTRIES);
        for (int i = 0; i < shown; i++) {
            int rel = R_ENTRIES + i * R_ENTRY_SIZE;
            String g = group + " entry " + i;
            FieldReader e = new FieldReader(g, at + rel, Arrays.copyOfRange(raw, rel, rel + R_ENTRY_SIZE),
                    ByteOrder.LITTLE_ENDIAN, fields);
            String guid = Guids.mixedEndianText(raw, rel);
            e.bytes("guid", 0, 16, guid, "region type: " + regionName(guid));
            long off = e.u64("file_offset", 16, "file offset of the region, a multiple of 1 MiB");
            long len = e.u32("length", 24, "length of the region in bytes, a multiple of 1 MiB");
            long req = e.u32("required", 28, "bit 0: a reader that does not know this region must refuse the file",
                    Shown.REGION_REQUIRED);
            entries.add(new VhdxHeader.RegionEntry(guid, regionName(guid), off, len, (req & 1) != 0));
        }
        if (count > MAX_REGION_ENTRIES) {
            fields.add(new HeaderField(group, "entry_count (limit)", at + R_ENTRY_COUNT, 4, le32(count),
                    count + " > 2047", "the table is invalid: more entries than the format allows"));
        }
        return new RegionTable(at, raw, valid, entries);
    }

    private static String regionName(String guid) {
        return switch (guid) {
            case BAT_GUID -> "BAT";
            case METADATA_GUID -> "metadata";
            default -> "unknown region " + guid;
        };
    }

    // ---------------------------------------------------------------- metadata

    private static final class Metadata {
        final List<VhdxHeader.MetadataItem> items = new ArrayList<>();
        long blockSize = -1;
        boolean leaveBlocksAllocated;
        boolean hasParent;
        long virtualDiskSize = -1;
        long logicalSectorSize = -1;
        long physicalSectorSize = -1;
        String parentPath = "";

        long offsetOf(String guid) {
            for (VhdxHeader.MetadataItem i : items) {
                if (i.guid().equals(guid)) {
                    return i.offset();
                }
            }
            return -1;
        }

        long require(String guid, String name, long tableOffset) throws ProbeException {
            long at = offsetOf(guid);
            if (at < 0) {
                throw new ProbeException(ErrorCode.PARSE_FAILED, name, tableOffset, "VHDX metadata table at offset "
                        + tableOffset + ": the " + name + " item (" + guid + ") is missing or unreadable");
            }
            return at;
        }
    }

    private static Metadata readMetadata(ImageReader reader, byte[] mt, long metaOffset, long metaLength, int count,
                                         List<HeaderField> fields, List<String> flags) throws ProbeException {
        Metadata md = new Metadata();
        long fileSize = reader.size();
        for (int i = 0; i < count; i++) {
            int rel = M_ENTRIES + i * M_ENTRY_SIZE;
            String g = "metadata table entry " + i;
            FieldReader e = new FieldReader(g, metaOffset + rel, Arrays.copyOfRange(mt, rel, rel + M_ENTRY_SIZE),
                    ByteOrder.LITTLE_ENDIAN, fields);
            String guid = Guids.mixedEndianText(mt, rel);
            String name = itemName(guid);
            e.bytes("item_id", 0, 16, guid, "metadata item: " + name);
            long off = e.u32("offset", 16, "item offset from the start of the metadata region (≥ 64 KiB)");
            long len = e.u32("length", 20, "item length in bytes");
            long fl = e.u32("flags", 24, "bit 0 is_user, bit 1 is_virtual_disk, bit 2 is_required",
                    Shown.ITEM_FLAGS);
            e.u32("reserved", 28, "reserved, zero");
            long abs = metaOffset + off;
            boolean seen = md.offsetOf(guid) >= 0;
            if (seen) {
                flags.add("corrupt: metadata item " + name + " appears twice (qemu refuses to open)");
                continue;
            }
            if (off + len > metaLength) {
                flags.add("metadata item " + name + " (offset " + off + ", " + len + " bytes) extends past the "
                        + "metadata region");
            }
            if (len > 0 && (abs > fileSize || fileSize - abs < len)) {
                flags.add("corrupt: metadata item " + name + " at " + abs + " lies beyond the end of the file");
                continue;
            }
            if (name.startsWith("unknown") && (fl & 4) != 0) {
                flags.add("unknown required metadata item " + guid + " (qemu refuses to open)");
            }
            md.items.add(new VhdxHeader.MetadataItem(guid, name, abs, len, (fl & 1) != 0, (fl & 2) != 0,
                    (fl & 4) != 0, metaOffset + rel));
            readItem(reader, md, guid, name, abs, len, fields, flags);
        }
        return md;
    }

    /**
     * A reader over the first {@code need} bytes of a known item, or null when the item is shorter
     * (flagged by {@link #fits}, and dropped from the item list so that nothing relies on it).
     */
    private static FieldReader item(ImageReader reader, Metadata md, String group, String name, long at, long len,
                                    int need, List<HeaderField> fields, List<String> flags) throws ProbeException {
        if (!fits(len, need, name, flags)) {
            md.items.remove(md.items.size() - 1);
            return null;
        }
        return new FieldReader(group, at, reader.read(at, need, name), ByteOrder.LITTLE_ENDIAN, fields);
    }

    private static void readItem(ImageReader reader, Metadata md, String guid, String name, long at, long len,
                                 List<HeaderField> fields, List<String> flags) throws ProbeException {
        String g = "metadata item: " + name;
        switch (guid) {
            case FILE_PARAMETERS_GUID -> {
                FieldReader f = item(reader, md, g, name, at, len, 8, fields, flags);
                if (f == null) {
                    return;
                }
                md.blockSize = f.u32("block_size", 0, "payload block size in bytes, a power of two, 1-256 MiB");
                long bits = f.u32("flags", 4, "bit 0 leave_blocks_allocated (fixed), bit 1 has_parent (differencing)",
                        Shown.FILE_PARAMETERS_FLAGS);
                md.leaveBlocksAllocated = (bits & 1) != 0;
                md.hasParent = (bits & 2) != 0;
            }
            case VIRTUAL_DISK_SIZE_GUID -> {
                FieldReader f = item(reader, md, g, name, at, len, 8, fields, flags);
                if (f == null) {
                    return;
                }
                md.virtualDiskSize = f.u64("virtual_disk_size", 0, "size of the virtual disk in bytes");
            }
            case LOGICAL_SECTOR_SIZE_GUID -> {
                FieldReader f = item(reader, md, g, name, at, len, 4, fields, flags);
                if (f == null) {
                    return;
                }
                md.logicalSectorSize = f.u32("logical_sector_size", 0, "sector size the guest sees: 512 or 4096");
            }
            case PHYSICAL_SECTOR_SIZE_GUID -> {
                FieldReader f = item(reader, md, g, name, at, len, 4, fields, flags);
                if (f == null) {
                    return;
                }
                md.physicalSectorSize = f.u32("physical_sector_size", 0, "physical sector size reported: 512 or 4096");
            }
            case PAGE83_GUID -> {
                FieldReader f = item(reader, md, g, name, at, len, 16, fields, flags);
                if (f == null) {
                    return;
                }
                f.guid("page83_data", 0, "SCSI page 83 unique id of the virtual disk");
            }
            case PARENT_LOCATOR_GUID -> readParentLocator(reader, md, at, len, g, fields, flags);
            default -> {
                if (len == 0) {
                    return;
                }
                byte[] raw = reader.read(at, (int) Math.min(len, 16), name);
                fields.add(new HeaderField(g, "data", at, raw.length, raw, len + " bytes (first "
                        + raw.length + " shown)", "an item DiskPlan does not interpret"));
            }
        }
    }

    private static boolean fits(long len, int need, String name, List<String> flags) {
        if (len < need) {
            flags.add("corrupt: metadata item " + name + " is " + len + " bytes, needs " + need);
            return false;
        }
        return true;
    }

    private static void readParentLocator(ImageReader reader, Metadata md, long at, long len, String g,
                                          List<HeaderField> fields, List<String> flags) throws ProbeException {
        if (len < 20 || len > MAX_PARENT_LOCATOR_SIZE) {
            flags.add("corrupt: parent locator item length " + len + " is outside 20..65536");
            return;
        }
        byte[] raw = reader.read(at, (int) len, "parent locator");
        FieldReader f = new FieldReader(g, at, raw, ByteOrder.LITTLE_ENDIAN, fields);
        f.guid("locator_type", 0, "B04AEFB7-D19E-4A81-B789-25B8E9445913 = VHDX parent locator");
        f.u16("reserved", 16, "reserved, zero");
        long kv = f.u16("key_value_count", 18, "number of key/value entries");
        long max = (len - 20) / 12;
        if (kv > max) {
            flags.add("corrupt: parent locator claims " + kv + " entries, room for " + max);
            kv = max;
        }
        for (int i = 0; i < kv; i++) {
            int rel = 20 + i * 12;
            String eg = g + " entry " + i;
            FieldReader e = new FieldReader(eg, at + rel, Arrays.copyOfRange(raw, rel, rel + 12),
                    ByteOrder.LITTLE_ENDIAN, fields);
            long ko = e.u32("key_offset", 0, "key offset from the start of the item");
            long vo = e.u32("value_offset", 4, "value offset from the start of the item");
            long kl = e.u16("key_length", 8, "key length in bytes (UTF-16LE)");
            long vl = e.u16("value_length", 10, "value length in bytes (UTF-16LE)");
            if (ko + kl > len || vo + vl > len) {
                flags.add("corrupt: parent locator entry " + i + " points outside the item");
                continue;
            }
            String key = new String(raw, (int) ko, (int) kl, StandardCharsets.UTF_16LE);
            String value = new String(raw, (int) vo, (int) vl, StandardCharsets.UTF_16LE);
            fields.add(new HeaderField(eg, "key", at + ko, (int) kl, Arrays.copyOfRange(raw, (int) ko, (int) (ko + kl)),
                    "'" + key + "'", "parent locator key"));
            fields.add(new HeaderField(eg, "value", at + vo, (int) vl,
                    Arrays.copyOfRange(raw, (int) vo, (int) (vo + vl)), "'" + value + "'", "value for " + key));
            if (md.parentPath.isEmpty() && (key.equals("relative_path") || key.equals("absolute_win32_path")
                    || key.equals("volume_path"))) {
                md.parentPath = value;
            }
        }
    }

    private static String itemName(String guid) {
        return switch (guid) {
            case FILE_PARAMETERS_GUID -> "file parameters";
            case VIRTUAL_DISK_SIZE_GUID -> "virtual disk size";
            case PAGE83_GUID -> "page 83 data";
            case LOGICAL_SECTOR_SIZE_GUID -> "logical sector size";
            case PHYSICAL_SECTOR_SIZE_GUID -> "physical sector size";
            case PARENT_LOCATOR_GUID -> "parent locator";
            default -> "unknown item " + guid;
        };
    }

    private static String itemFlags(long v) {
        List<String> s = new ArrayList<>();
        if ((v & 1) != 0) {
            s.add("is_user");
        }
        if ((v & 2) != 0) {
            s.add("is_virtual_disk");
        }
        if ((v & 4) != 0) {
            s.add("is_required");
        }
        return FieldReader.hex(v) + (s.isEmpty() ? "" : " (" + String.join(", ", s) + ")");
    }

    // ---------------------------------------------------------------- log

    private record LogScan(long entries, long matching, boolean needsReplay) {
    }

    /**
     * Walks the log 4 KiB at a time looking for "loge" entry headers. A plausible entry
     * (length a multiple of 4 KiB, inside the log) is checked with CRC-32C and skipped
     * whole, so the work stays proportional to the log length.
     */
    private static LogScan scanLog(ImageReader reader, ParsedHeader h, List<HeaderField> fields, List<String> flags)
            throws ProbeException {
        long fileSize = reader.size();
        long off = h.logOffset;
        long len = h.logLength;
        if (len == 0) {
            return new LogScan(0, 0, false);
        }
        if (off < 0 || off > fileSize || fileSize - off < len) {
            flags.add("corrupt: the log (" + len + " bytes at " + Long.toUnsignedString(off)
                    + ") lies beyond the end of the file");
            len = off < 0 || off > fileSize ? 0 : fileSize - off;
        }
        long entries = 0;
        long matching = 0;
        long pos = 0;
        while (pos + LOG_HEADER_SIZE <= len) {
            long chunkLen = Math.min(LOG_CHUNK, len - pos);
            byte[] chunk = reader.read(off + pos, (int) chunkLen, "log");
            ByteBuffer b = ByteBuffer.wrap(chunk).order(ByteOrder.LITTLE_ENDIAN);
            long next = pos + chunkLen;
            long r = 0;
            for (; r + LOG_HEADER_SIZE <= chunkLen; r += LOG_SECTOR) {
                int ri = (int) r;
                if (Integer.toUnsignedLong(b.getInt(ri)) != LOG_ENTRY_SIGNATURE) {
                    continue;
                }
                long entryAt = off + pos + r;
                entries++;
                long entryLen = Integer.toUnsignedLong(b.getInt(ri + 8));
                byte[] head = Arrays.copyOfRange(chunk, ri, ri + LOG_HEADER_SIZE);
                boolean plausible = entryLen >= LOG_SECTOR && entryLen % LOG_SECTOR == 0
                        && entryLen <= len - (pos + r);
                boolean crcOk = false;
                if (plausible) {
                    crcOk = logEntryCrc(reader, entryAt, entryLen) == Integer.toUnsignedLong(b.getInt(ri + 4));
                }
                boolean guidMatch = Arrays.equals(head, 32, 48, h.raw, H_LOG_GUID, H_LOG_GUID + 16);
                if (crcOk && guidMatch && !h.logGuidZero) {
                    matching++;
                }
                if (entries <= MAX_LOG_ENTRIES_SHOWN) {
                    showLogEntry(fields, entries, entryAt, head, crcOk, guidMatch);
                }
                if (plausible) {
                    // skip the whole entry; it does not hold further entry headers
                    if (r + entryLen >= chunkLen) {
                        next = pos + r + entryLen;
                        break;
                    }
                    r += entryLen - LOG_SECTOR;
                }
            }
            pos = next;
        }
        if (entries > MAX_LOG_ENTRIES_SHOWN) {
            fields.add(new HeaderField("log", "entries (not shown)", off, 0, new byte[0],
                    (entries - MAX_LOG_ENTRIES_SHOWN) + " more", "further log entries, counted only"));
        }
        fields.add(new HeaderField("log", "summary", off, 0, new byte[0], entries + " 'loge' entries, " + matching
                + " valid with the current log GUID" + (h.logGuidZero ? " (log GUID is zero: the log is empty)" : ""),
                "write-ahead log: metadata changes to replay after a crash"));
        if (!h.logGuidZero && matching == 0) {
            flags.add("log GUID is set but no valid log entry carries it (nothing to replay)");
        }
        return new LogScan(entries, matching, !h.logGuidZero && matching > 0);
    }

    private static long logEntryCrc(ImageReader reader, long at, long len) throws ProbeException {
        CRC32C crc = new CRC32C();
        long done = 0;
        while (done < len) {
            int n = (int) Math.min(LOG_CHUNK, len - done);
            byte[] part = reader.read(at + done, n, "log entry");
            if (done == 0) {
                Arrays.fill(part, 4, 8, (byte) 0);
            }
            crc.update(part, 0, n);
            done += n;
        }
        return crc.getValue();
    }

    private static void showLogEntry(List<HeaderField> fields, long index, long at, byte[] head, boolean crcOk,
                                     boolean guidMatch) {
        String g = "log entry " + index;
        FieldReader f = new FieldReader(g, at, head, ByteOrder.LITTLE_ENDIAN, fields);
        f.u32("signature", 0, "'loge' (0x65676f6c) marks a log entry", FieldReader.HEX);
        f.u32("checksum", 4, "CRC-32C of the whole entry with this field as zero",
                crcOk ? Shown.CHECKSUM_VALID : Shown.CHECKSUM_NOT_VALID);
        f.u32("entry_length", 8, "bytes in this entry, a multiple of 4 KiB");
        f.u32("tail", 12, "offset (in the log) of the oldest entry still needed");
        f.u64("sequence_number", 16, "increases by one per entry");
        f.u32("descriptor_count", 24, "zero and data descriptors that follow");
        f.u32("reserved", 28, "reserved, zero");
        f.guid("log_guid", 32, guidMatch ? "matches the header's log GUID" : "differs from the header's log GUID");
        f.u64("flushed_file_offset", 48, "file size when this entry was written");
        f.u64("last_file_offset", 56, "file size needed to hold all the data this entry touches");
    }

    // ---------------------------------------------------------------- BAT

    /**
     * Reads the BAT, counts entry states and returns the allocated blocks sorted by
     * offset, each as {@code offsetMiB << 1 | isSectorBitmap}.
     */
    /** A byte range of the file, end exclusive, compared unsigned as qemu compares them. */
    private record Span(String name, long start, long end) {
        /** qemu's vhdx_region_check: overlap unless this starts at or past its end or ends at or before its start. */
        Span firstOverlap(List<Span> spans) {
            return firstOverlap(spans, start, end);
        }

        static Span firstOverlap(List<Span> spans, long start, long end) {
            for (Span r : spans) {
                if (!(Long.compareUnsigned(start, r.end) >= 0 || Long.compareUnsigned(end, r.start) <= 0)) {
                    return r;
                }
            }
            return null;
        }

        @Override
        public String toString() {
            return name + " (" + Long.toUnsignedString(start) + " to " + Long.toUnsignedString(end) + ")";
        }
    }

    private static long[] readBat(ImageReader reader, long batOffset, long entries, long chunkRatio, long blockSize,
                                  long virtualDiskSize, long[] payloadStates, long[] bitmapStates, long[] pastEnd,
                                  List<Span> regions, List<String> overlapping)
            throws ProbeException {
        long fileSize = reader.size();
        long[] out = new long[16];
        int n = 0;
        for (long done = 0; done < entries; done += BAT_CHUNK_ENTRIES) {
            int count = (int) Math.min(BAT_CHUNK_ENTRIES, entries - done);
            ByteBuffer b = reader.readBuffer(batOffset + 8 * done, count * 8, ByteOrder.LITTLE_ENDIAN, "BAT");
            for (int i = 0; i < count; i++) {
                long index = done + i;
                long e = b.getLong(i * 8);
                int state = batEntryState(e);
                boolean bitmap = isSectorBitmapEntry(index, chunkRatio);
                long mib = batEntryOffsetMiB(e);
                if (bitmap) {
                    bitmapStates[state]++;
                } else {
                    payloadStates[state]++;
                }
                if (state == STATE_FULLY_PRESENT && overlapping.isEmpty()) {
                    // qemu checks each fully present entry's block (block_size bytes, wherever it
                    // is, a sector bitmap entry as well) against the registered regions
                    Span hit = Span.firstOverlap(regions, mib << 20, (mib << 20) + blockSize);
                    if (hit != null) {
                        overlapping.add("BAT entry " + index + " at offset " + (batOffset + 8 * index)
                                + " places its block (" + (mib << 20) + " to " + ((mib << 20) + blockSize)
                                + ") over the " + hit);
                    }
                }
                boolean allocated = bitmap ? state == STATE_FULLY_PRESENT
                        : state == STATE_FULLY_PRESENT || state == STATE_PARTIALLY_PRESENT;
                if (allocated && mib != 0) {
                    // The file only needs the part of the last block that the virtual size covers
                    // (qemu ends a fixed image there).
                    long payloadIndex = payloadBlockOf(index, chunkRatio);
                    long needed = bitmap ? MIB : Math.max(1, Math.min(blockSize,
                            virtualDiskSize - payloadIndex * blockSize));
                    if (mib > (Long.MAX_VALUE >>> 20) - 1 || (mib << 20) > fileSize - needed) {
                        pastEnd[0]++;
                    }
                    if (n == out.length) {
                        out = Arrays.copyOf(out, (int) Math.min(entries, (long) n * 2));
                    }
                    out[n++] = mib << 1 | (bitmap ? 1 : 0);
                }
            }
        }
        long[] r = Arrays.copyOf(out, n);
        Arrays.sort(r);
        return r;
    }

    private static void addBlocks(RegionMap layout, long[] blocks, long blockSize) {
        List<long[]> runs = new ArrayList<>();
        long start = -1;
        long end = -1;
        long kind = -1;
        long count = 0;
        for (long v : blocks) {
            long at = (v >>> 1) * MIB;
            long k = v & 1;
            long len = k == 1 ? MIB : blockSize;
            if (start >= 0 && k == kind && at == end) {
                end = at + len;
                count++;
                continue;
            }
            if (start >= 0) {
                runs.add(new long[] {start, end, kind, count});
            }
            start = at;
            end = at + len;
            kind = k;
            count = 1;
        }
        if (start >= 0) {
            runs.add(new long[] {start, end, kind, count});
        }
        if (runs.size() > MAX_DATA_RUNS) {
            long s = runs.get(0)[0];
            long e = runs.get(runs.size() - 1)[1];
            layout.structure(RegionKind.DATA, s, e - s, "payload blocks and sector bitmaps (" + blocks.length
                    + " blocks in " + runs.size() + " runs, with gaps)");
            return;
        }
        for (long[] r : runs) {
            boolean bitmap = r[2] == 1;
            String what = bitmap ? (r[3] == 1 ? "sector bitmap block" : r[3] + " sector bitmap blocks")
                    : (r[3] == 1 ? "payload block" : r[3] + " payload blocks");
            layout.structure(bitmap ? RegionKind.METADATA : RegionKind.DATA, r[0], r[1] - r[0], what);
        }
    }

    private static String describeStates(long[] s, boolean payload) {
        String[] names = payload
                ? new String[] {"not present", "undefined", "zero", "unmapped", "state 4", "state 5",
                    "fully present", "partially present"}
                : new String[] {"not present", "state 1", "state 2", "state 3", "state 4", "state 5", "present",
                    "state 7"};
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            if (s[i] != 0) {
                parts.add(s[i] + " " + names[i]);
            }
        }
        return parts.isEmpty() ? "none" : String.join(", ", parts);
    }

    // ---------------------------------------------------------------- helpers

    /** Records a GUID field (Microsoft mixed-endian layout) of the structure {@code struct}. */
    private static String guid(FieldReader f, byte[] struct, String name, int rel, String meaning) {
        String text = Guids.mixedEndianText(struct, rel);
        f.bytes(name, rel, 16, text, meaning);
        return text;
    }

    private static byte[] le32(long v) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) v).array();
    }

    private static String utf16le(byte[] b, int at, int len) {
        int end = at;
        while (end + 1 < at + len && (b[end] != 0 || b[end + 1] != 0)) {
            end += 2;
        }
        return new String(b, at, end - at, StandardCharsets.UTF_16LE);
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
