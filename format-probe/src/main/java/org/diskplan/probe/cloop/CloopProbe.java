package org.diskplan.probe.cloop;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.diskplan.abi.ImageFormat;
import org.diskplan.probe.FieldReader;
import org.diskplan.probe.HeaderField;
import org.diskplan.probe.HeaderProbe;
import org.diskplan.probe.ImageReader;
import org.diskplan.probe.ProbeException;
import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.RegionKind;
import org.diskplan.probe.RunLayout;

/**
 * cloop (compressed loopback) V2.0 images as qemu 7.2 reads them (block/cloop.c, read-only): a
 * 128-byte shell preamble, {@code block_size} and {@code n_blocks} (u32, big-endian) at 128, then
 * {@code n_blocks + 1} u64 offsets delimiting the zlib-compressed blocks. Virtual size =
 * {@code n_blocks × block_size}.
 */
public final class CloopProbe extends HeaderProbe {
    /** The start of every cloop file: a shell script that mounts it. */
    public static final String PREAMBLE_START = "#!/bin/sh\n#V";
    /** The only version qemu reads; its probe compares this whole text. */
    public static final String V2_MAGIC = "#!/bin/sh\n#V2.0 Format\n"
            + "modprobe cloop file=$0 && mount -r -t iso9660 /dev/cloop $1\n";
    static final ByteOrder ORDER = ByteOrder.BIG_ENDIAN;
    static final int PREAMBLE = 128;
    static final int OFF_BLOCK_SIZE = 128;
    static final int OFF_BLOCKS = 132;
    static final int OFF_OFFSETS = 136;
    static final long MAX_BLOCK_SIZE = 64L << 20;
    /** qemu: n_blocks above (UINT32_MAX - 1) / 8 overflows its offsets size. */
    static final long MAX_BLOCKS = (0xffffffffL - 1) / 8;
    /** qemu: an offsets table above 512 MiB is refused ("image requires too many offsets"). */
    static final long MAX_OFFSETS_BYTES = 512L << 20;
    static final int CHUNK = 4 << 20;

    public CloopProbe() {
        super(ImageFormat.CLOOP, "cloop header", true);
    }

    @Override
    protected ProbedImage parse(Path path, ImageReader reader) throws ProbeException {
        long fileSize = reader.size();
        List<HeaderField> fields = new ArrayList<>();
        FieldReader f = fields(reader, OFF_OFFSETS, ORDER, fields);
        String preamble = f.ascii("preamble", 0, PREAMBLE, "shell script that mounts the image; names the version");
        if (!preamble.startsWith(V2_MAGIC)) {
            int nl = preamble.indexOf('\n', PREAMBLE_START.length());
            String version = nl < 0 ? "?" : preamble.substring(PREAMBLE_START.length() - 1, nl);
            throw fail("preamble", 0, "'" + FieldReader.printable(version.getBytes(StandardCharsets.ISO_8859_1))
                    + "' is not the cloop V2.0 format, the only one qemu reads");
        }
        long blockSize = f.u32("block_size", OFF_BLOCK_SIZE, "uncompressed bytes per block");
        long blocks = f.u32("n_blocks", OFF_BLOCKS, "number of blocks", FieldReader::decimal);
        if (blockSize == 0) {
            throw fail("block_size", OFF_BLOCK_SIZE, "block_size cannot be zero");
        }
        if (blockSize % 512 != 0) {
            throw fail("block_size", OFF_BLOCK_SIZE, "block_size " + blockSize + " must be a multiple of 512");
        }
        if (blockSize > MAX_BLOCK_SIZE) {
            throw fail("block_size", OFF_BLOCK_SIZE, "block_size " + blockSize + " must be 64 MB or less");
        }
        if (blocks > MAX_BLOCKS) {
            throw fail("n_blocks", OFF_BLOCKS, "n_blocks " + blocks + " must be " + MAX_BLOCKS + " or less");
        }
        long tableBytes = (blocks + 1) * 8;
        if (tableBytes > MAX_OFFSETS_BYTES) {
            throw fail("n_blocks", OFF_BLOCKS, blocks + " blocks: image requires too many offsets, try increasing"
                    + " block size");
        }
        if (fileSize - OFF_OFFSETS < tableBytes) {
            throw fail("n_blocks", OFF_BLOCKS, "the offsets table (" + tableBytes + " bytes at " + OFF_OFFSETS
                    + ") lies beyond the end of the file (" + fileSize + " bytes)");
        }
        long first = 0;
        long prev = 0;
        for (long done = 0; done < tableBytes; done += CHUNK) {
            int n = (int) Math.min(CHUNK, tableBytes - done);
            ByteBuffer t = reader.readBuffer(OFF_OFFSETS + done, n, ORDER, "offsets table");
            for (int i = 0; i < n; i += 8) {
                long index = (done + i) / 8;
                long off = t.getLong(i);
                if (index == 0) {
                    first = off;
                } else if (Long.compareUnsigned(off, prev) < 0) {
                    throw fail("offsets[" + index + "]", OFF_OFFSETS + done + i, "offsets not monotonically"
                            + " increasing at index " + index + ", image file is corrupt");
                } else if (Long.compareUnsigned(off - prev, 2 * MAX_BLOCK_SIZE) > 0) {
                    throw fail("offsets[" + index + "]", OFF_OFFSETS + done + i, "invalid compressed block size at"
                            + " index " + index + ", image file is corrupt");
                }
                prev = off;
            }
        }
        fields.add(summary("offsets table", "first block", OFF_OFFSETS, Long.toUnsignedString(first),
                "offsets[0]: file offset of the first compressed block"));
        fields.add(summary("offsets table", "end of last block", OFF_OFFSETS + tableBytes - 8,
                Long.toUnsignedString(prev), "offsets[n_blocks]: where the compressed data ends"));

        RunLayout layout = new RunLayout(fileSize);
        layout.add(0, PREAMBLE, RegionKind.HEADER, "shell preamble");
        layout.add(PREAMBLE, OFF_OFFSETS - PREAMBLE, RegionKind.HEADER, group());
        layout.add(OFF_OFFSETS, tableBytes, RegionKind.TABLE, "offsets table");
        if (first >= 0 && prev > first) {
            layout.add(first, prev - first, RegionKind.DATA, "compressed blocks");
        }
        List<String> flags = new ArrayList<>();
        if (prev < 0 || prev > fileSize) {
            flags.add("corrupt: compressed blocks end at " + Long.toUnsignedString(prev) + ", past the end of the file");
        }
        return new ProbedImage(path, ImageFormat.CLOOP, "V2.0", blocks * blockSize, fileSize, blockSize, flags,
                fields, layout.build(RegionKind.FREE, "unused"), new CloopHeader(FieldReader.printable(preamble.getBytes(StandardCharsets.ISO_8859_1)), blockSize,
                blocks, first, prev));
    }
}
