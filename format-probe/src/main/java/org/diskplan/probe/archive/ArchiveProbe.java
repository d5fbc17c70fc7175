package org.diskplan.probe.archive;

import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.diskplan.abi.ErrorCode;
import org.diskplan.abi.ImageFormat;
import org.diskplan.probe.FieldReader;
import org.diskplan.probe.FormatProbe;
import org.diskplan.probe.HeaderField;
import org.diskplan.probe.ImageReader;
import org.diskplan.probe.ProbeException;
import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.RegionKind;
import org.diskplan.probe.Sectors;
import org.diskplan.probe.RunLayout;

/**
 * Shows a compressed file or archive for what it is: its header fields, header and data in the
 * layout map, and a flag that it is no disk image. The virtual size is what qemu-img, taking it
 * for raw, reports: the file size rounded up to whole 512-byte sectors. A resize is refused before any planning with one
 * line: "'x.img.xz' is an xz-compressed file; decompress it first".
 */
public final class ArchiveProbe implements FormatProbe {
    static final int HEAD = 512;

    /** The first of {@link #formats()}; this probe serves them all. */
    @Override
    public ImageFormat format() {
        return Archive.values()[0].format();
    }

    /**
     * Asked by ImageProber on every command's start-up: no lambdas or streams here (see ReadWatch /
     * issue 20). The rest of this probe runs only for compressed files and archives.
     */
    @Override
    public Set<ImageFormat> formats() {
        List<ImageFormat> formats = new ArrayList<>();
        for (Archive a : Archive.values()) {
            formats.add(a.format());
        }
        return Set.copyOf(formats);
    }

    @Override
    public ProbedImage probeForResize(Path path, ImageReader reader) throws ProbeException {
        Archive a = kind(reader);
        throw new ProbeException(ErrorCode.UNSUPPORTED_FORMAT, "format", 0, a.refusal(path.toString()));
    }

    private static Archive kind(ImageReader reader) throws ProbeException {
        byte[] head = reader.read(0, (int) Math.min(HEAD, reader.size()), "file start");
        return Archive.detect(head).orElseThrow(() -> new ProbeException(ErrorCode.PARSE_FAILED, "signature", 0,
                "archive signature at offset 0: the file starts with no compressed-file or archive signature"));
    }

    @Override
    public ProbedImage probe(Path path, ImageReader reader) throws ProbeException {
        long size = reader.size();
        Archive a = kind(reader);
        byte[] h = reader.read(0, (int) Math.min(HEAD, size), "file start");
        String group = a.format().displayName().replace("-compressed file", "") + " header";
        List<HeaderField> fields = new ArrayList<>();
        FieldReader f = new FieldReader(group, 0, h, ByteOrder.LITTLE_ENDIAN, fields);
        RunLayout layout = new RunLayout(size);
        List<String> flags = new ArrayList<>();
        String entry = "";
        int header = a.headerSize();
        long tail = 0;
        switch (a) {
            case GZIP -> {
                f.bytes("magic", 0, 2, "1f 8b", "identifies gzip");
                f.u8("method", 2, "8 = deflate");
                long flg = f.u8("flags", 3, "bit 0 text, 1 header CRC, 2 extra field, 3 file name, 4 comment");
                f.u32("mtime", 4, "modification time of the original file (Unix time)", FieldReader::decimal);
                f.u8("xfl", 8, "2 = best compression, 4 = fastest");
                f.u8("os", 9, "operating system that wrote it (3 = Unix)");
                if ((flg & 0x04) == 0 && (flg & 0x08) != 0) {
                    int end = indexOf(h, 10, (byte) 0);
                    if (end > 10) {
                        entry = f.ascii("name", 10, end - 10, "name of the original file");
                        header = end + 1;
                    }
                }
                if (size >= 18) {
                    byte[] t = reader.read(size - 8, 8, "gzip trailer");
                    FieldReader tr = new FieldReader("gzip trailer", size - 8, t, ByteOrder.LITTLE_ENDIAN, fields);
                    tr.u32("crc32", 0, "CRC-32 of the uncompressed data", FieldReader::hex);
                    long isize = tr.u32("isize", 4, "uncompressed size modulo 4 GiB", FieldReader::decimal);
                    layout.add(size - 8, 8, RegionKind.FOOTER, "gzip trailer");
                    tail = 8;
                    flags.add("uncompressed size (modulo 4 GiB): " + isize + " bytes");
                }
            }
            case XZ -> {
                f.bytes("magic", 0, 6, "fd 37 7a 58 5a 00", "identifies xz");
                f.u16("stream_flags", 6, "check type in the low 4 bits of the second byte: 0 none, 1 CRC32,"
                        + " 4 CRC64, 10 SHA-256");
                f.u32("crc32", 8, "CRC-32 of the stream flags", FieldReader::hex);
                if (size >= 24 && Arrays.equals(reader.read(size - 2, 2, "xz footer magic"), new byte[] {'Y', 'Z'})) {
                    layout.add(size - 12, 12, RegionKind.FOOTER, "xz stream footer");
                    tail = 12;
                }
            }
            case BZIP2 -> {
                f.ascii("magic", 0, 3, "'BZh'");
                f.record("level", 3, 1, h[3] - '0', v -> v + " (blocks of " + v * 100 + " kB)",
                        "block size, in 100 kB");
            }
            case ZSTD -> {
                f.u32("magic", 0, "0xfd2fb528", FieldReader::hex);
                f.u8("frame_header_descriptor", 4, "content size flag (bits 7-6), single segment (5),"
                        + " checksum (2), dictionary id flag (1-0)");
            }
            case ZIP -> {
                f.bytes("signature", 0, 4, "'PK\\x03\\x04'", "local file header of the first member");
                f.u16("version_needed", 4, "zip version needed to extract (×10)");
                f.u16("flags", 6, "general purpose flags");
                f.u16("method", 8, "0 stored, 8 deflate, 12 bzip2, 14 lzma, 93 zstd");
                f.u32("crc32", 14, "CRC-32 of the member", FieldReader::hex);
                f.u32("compressed_size", 18, "bytes of the member in the archive", FieldReader::decimal);
                f.u32("uncompressed_size", 22, "bytes of the member extracted (0xffffffff: zip64)",
                        FieldReader::decimal);
                long nameLen = f.u16("name_length", 26, "length of the member's name");
                long extraLen = f.u16("extra_length", 28, "length of the extra field");
                int n = (int) Math.min(nameLen, h.length - 30);
                if (n > 0) {
                    entry = f.ascii("name", 30, n, "the first member's name");
                }
                header = (int) Math.min(h.length, 30 + nameLen + extraLen);
            }
            case TAR -> {
                int end = indexOf(h, 0, (byte) 0);
                entry = f.ascii("name", 0, Math.min(100, end < 0 ? 100 : Math.max(1, end)), "the first member's name");
                f.ascii("size", 124, 12, "the first member's size, octal");
                f.ascii("chksum", 148, 8, "header checksum, octal");
                f.ascii("typeflag", 156, 1, "'0' file, '5' directory, ...");
                f.ascii("magic", 257, 6, "'ustar' (POSIX) or 'ustar ' (GNU)");
                Archive.octal(h, 124, 12).ifPresent(s -> flags.add("first member: " + s + " bytes"));
            }
            case SEVEN_ZIP -> {
                f.bytes("signature", 0, 6, "37 7a bc af 27 1c", "identifies 7z");
                f.u8("major_version", 6, "format version (0)");
                f.u8("minor_version", 7, "format version");
                f.u32("start_header_crc", 8, "CRC-32 of the next 20 bytes", FieldReader::hex);
                f.u64("next_header_offset", 12, "where the archive's header is, after these 32 bytes");
                f.u64("next_header_size", 20, "size of the archive's header");
                f.u32("next_header_crc", 28, "CRC-32 of the archive's header", FieldReader::hex);
            }
            default -> throw new IllegalStateException("unknown archive kind " + a);
        }
        if (!entry.isEmpty()) {
            entry = FieldReader.printable(entry.getBytes(StandardCharsets.ISO_8859_1));
        }
        long headerEnd = Math.min(header, size - tail);
        layout.add(0, headerEnd, RegionKind.HEADER, group);
        String content = a == Archive.ZIP || a == Archive.TAR || a == Archive.SEVEN_ZIP ? "archive content"
                : "compressed data";
        layout.add(headerEnd, size - tail - headerEnd, RegionKind.DATA, content);
        flags.add(0, "not a disk image: " + a.description() + " (qemu-img would take it for raw); " + a.advice());
        return new ProbedImage(path, a.format(), "", Sectors.roundUp(size), size, 0, flags, fields,
                layout.build(RegionKind.DATA, content), new ArchiveHeader(a, entry));
    }

    private static int indexOf(byte[] b, int from, byte v) {
        for (int i = from; i < b.length; i++) {
            if (b[i] == v) {
                return i;
            }
        }
        return -1;
    }
}
