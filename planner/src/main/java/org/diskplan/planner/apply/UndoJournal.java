package org.diskplan.planner.apply;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;
import org.diskplan.abi.AbiException;
import org.diskplan.abi.ErrorCode;
import org.diskplan.abi.ResizeConfig;
import org.diskplan.planner.ResizeError;

/**
 * The undo journal: the original bytes of every range a plan overwrites, the
 * original file length and the planned final length, kept beside the image as
 * {@code <image>.diskplan-journal} while a resize runs.
 *
 * <p>Layout, little-endian:
 * <pre>
 * offset  size  field
 *      0     8  magic "DPJRNL01"
 *      8     4  header length (160)
 *     12     4  range count
 *     16     8  original file length
 *     24     8  planned final file length
 *     32   112  ResizeConfig of the resize (abi.md)
 *    144    16  reserved, zero
 *    160     …  ranges: offset u64, length u32, the original bytes
 *    end-4   4  CRC-32C of everything before it
 * </pre>
 * It is written to a temporary name, synced, renamed into place and the folder
 * synced before the image is touched, so a journal that exists is complete.
 */
public final class UndoJournal {
    public static final String SUFFIX = ".diskplan-journal";
    static final byte[] MAGIC = "DPJRNL01".getBytes(StandardCharsets.US_ASCII);
    static final int HEADER_LENGTH = 160;
    static final int OFFSET_RANGE_COUNT = 12;
    static final int OFFSET_ORIGINAL_LENGTH = 16;
    static final int OFFSET_FINAL_LENGTH = 24;
    static final int OFFSET_CONFIG = 32;
    static final int RANGE_HEADER = 12;
    /** The most original bytes one journal may hold; bigger plans are refused. */
    public static final long MAX_SAVED_BYTES = 256L << 20;

    /** A range of the original file saved in the journal. */
    public record Range(long offset, int length) {
    }

    /** What a journal says (its saved bytes are read again when restoring). */
    public record Contents(Path journal, ResizeConfig config, long originalLength, long finalLength,
                           List<Range> ranges, List<Long> dataOffsets) {
    }

    private UndoJournal() {
    }

    public static Path pathFor(Path image) {
        return image.resolveSibling(image.getFileName() + SUFFIX);
    }

    static Path tempPathFor(Path image) {
        return image.resolveSibling(image.getFileName() + SUFFIX + ".tmp");
    }

    /** Refuses (code 17) when an interrupted resize left a journal beside {@code image}. */
    public static void refuseIfPresent(Path image) throws ResizeError {
        Path journal = pathFor(image);
        if (Files.exists(journal)) {
            throw new ResizeError(ErrorCode.INTERRUPTED_RESIZE, "an interrupted resize left the undo journal '"
                    + journal + "'; run `diskplan recover " + image + "` to roll it back first");
        }
        // A leftover temporary journal means a crash before the image was touched.
        try {
            Files.deleteIfExists(tempPathFor(image));
        } catch (IOException ignored) {
            // harmless: it is rewritten before the next resize
        }
    }

    /** Writes and syncs the journal for a resize of {@code image}; returns its path. */
    static Path write(Path image, FileChannel imageChannel, ResizeConfig config, long originalLength,
                      long finalLength, List<Range> ranges) throws IOException {
        Path tmp = tempPathFor(image);
        CRC32C crc = new CRC32C();
        try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer header = ByteBuffer.allocate(HEADER_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
            header.put(0, MAGIC);
            header.putInt(8, HEADER_LENGTH);
            header.putInt(OFFSET_RANGE_COUNT, ranges.size());
            header.putLong(OFFSET_ORIGINAL_LENGTH, originalLength);
            header.putLong(OFFSET_FINAL_LENGTH, finalLength);
            header.put(OFFSET_CONFIG, config.encode());
            long pos = append(out, 0, header.array(), crc);
            for (Range r : ranges) {
                ByteBuffer rh = ByteBuffer.allocate(RANGE_HEADER).order(ByteOrder.LITTLE_ENDIAN);
                rh.putLong(0, r.offset()).putInt(8, r.length());
                pos = append(out, pos, rh.array(), crc);
                byte[] chunk = new byte[Math.min(r.length(), Io.CHUNK)];
                for (long done = 0; done < r.length(); ) {
                    int n = (int) Math.min(chunk.length, r.length() - done);
                    Io.readFully(imageChannel, r.offset() + done, chunk, n);
                    byte[] piece = n == chunk.length ? chunk : java.util.Arrays.copyOf(chunk, n);
                    pos = append(out, pos, piece, crc);
                    done += n;
                }
            }
            ByteBuffer tail = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
            tail.putInt(0, (int) crc.getValue());
            Io.writeFully(out, pos, tail);
            out.force(false); // a new file: fdatasync writes its length too
        }
        Path journal = pathFor(image);
        Files.move(tmp, journal, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        Io.syncDirectory(directoryOf(journal));
        return journal;
    }

    private static long append(FileChannel out, long pos, byte[] bytes, CRC32C crc) throws IOException {
        crc.update(bytes);
        Io.writeFully(out, pos, ByteBuffer.wrap(bytes));
        return pos + bytes.length;
    }

    /** Reads and verifies a journal; a damaged one is refused and left in place. */
    public static Contents read(Path journal) throws ResizeError {
        try (FileChannel in = FileChannel.open(journal, StandardOpenOption.READ)) {
            long size = in.size();
            if (size < HEADER_LENGTH + 4) {
                throw damaged(journal, "it is " + size + " bytes long, shorter than its " + HEADER_LENGTH
                        + "-byte header");
            }
            CRC32C crc = new CRC32C();
            byte[] chunk = new byte[Io.CHUNK];
            for (long pos = 0; pos < size - 4; ) {
                int n = (int) Math.min(chunk.length, size - 4 - pos);
                Io.readFully(in, pos, chunk, n);
                crc.update(chunk, 0, n);
                pos += n;
            }
            byte[] tail = new byte[4];
            Io.readFully(in, size - 4, tail, 4);
            int stored = ByteBuffer.wrap(tail).order(ByteOrder.LITTLE_ENDIAN).getInt();
            if (stored != (int) crc.getValue()) {
                throw damaged(journal, "its CRC-32C at offset " + (size - 4) + " does not match");
            }
            byte[] headerBytes = new byte[HEADER_LENGTH];
            Io.readFully(in, 0, headerBytes, HEADER_LENGTH);
            ByteBuffer header = ByteBuffer.wrap(headerBytes).order(ByteOrder.LITTLE_ENDIAN);
            if (!java.util.Arrays.equals(headerBytes, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
                throw damaged(journal, "its magic at offset 0 is not DPJRNL01");
            }
            int count = header.getInt(OFFSET_RANGE_COUNT);
            long original = header.getLong(OFFSET_ORIGINAL_LENGTH);
            long finalLength = header.getLong(OFFSET_FINAL_LENGTH);
            ResizeConfig config;
            try {
                config = ResizeConfig.decode(java.util.Arrays.copyOfRange(headerBytes, OFFSET_CONFIG,
                        OFFSET_CONFIG + ResizeConfig.SIZE));
            } catch (AbiException e) {
                throw damaged(journal, "its ResizeConfig at offset " + OFFSET_CONFIG + " is invalid: "
                        + e.getMessage());
            }
            if (count < 0 || original < 0 || finalLength < 0) {
                throw damaged(journal, "its header holds a negative count or length");
            }
            List<Range> ranges = new ArrayList<>();
            List<Long> dataOffsets = new ArrayList<>();
            long pos = HEADER_LENGTH;
            byte[] rh = new byte[RANGE_HEADER];
            for (int i = 0; i < count; i++) {
                if (pos + RANGE_HEADER > size - 4) {
                    throw damaged(journal, "range " + i + " at offset " + pos + " runs past its end");
                }
                Io.readFully(in, pos, rh, RANGE_HEADER);
                ByteBuffer b = ByteBuffer.wrap(rh).order(ByteOrder.LITTLE_ENDIAN);
                long offset = b.getLong(0);
                int length = b.getInt(8);
                if (offset < 0 || length < 0 || pos + RANGE_HEADER + length > size - 4) {
                    throw damaged(journal, "range " + i + " at offset " + pos + " is invalid");
                }
                ranges.add(new Range(offset, length));
                dataOffsets.add(pos + RANGE_HEADER);
                pos += RANGE_HEADER + length;
            }
            return new Contents(journal, config, original, finalLength, ranges, dataOffsets);
        } catch (IOException e) {
            throw new ResizeError(ErrorCode.READ_FAILED, "cannot read the undo journal '" + journal + "': "
                    + e.getMessage());
        }
    }

    /** Writes the saved bytes back and sets the original length. */
    static void restore(Contents contents, FileChannel image, java.io.RandomAccessFile file) throws IOException {
        try (FileChannel in = FileChannel.open(contents.journal(), StandardOpenOption.READ)) {
            byte[] chunk = new byte[Io.CHUNK];
            for (int i = 0; i < contents.ranges().size(); i++) {
                Range r = contents.ranges().get(i);
                long src = contents.dataOffsets().get(i);
                for (long done = 0; done < r.length(); ) {
                    int n = (int) Math.min(chunk.length, r.length() - done);
                    Io.readFully(in, src + done, chunk, n);
                    Io.writeFully(image, r.offset() + done, ByteBuffer.wrap(chunk, 0, n));
                    done += n;
                }
            }
        }
        if (image.size() != contents.originalLength()) {
            file.setLength(contents.originalLength()); // an unneeded ftruncate would touch the mtime
        }
        image.force(true);
    }

    static void delete(Path journal) throws IOException {
        Files.deleteIfExists(journal);
        Io.syncDirectory(directoryOf(journal));
    }

    private static Path directoryOf(Path file) {
        Path parent = file.toAbsolutePath().getParent();
        return parent == null ? file.toAbsolutePath() : parent;
    }

    private static ResizeError damaged(Path journal, String why) {
        return new ResizeError(ErrorCode.PARSE_FAILED, "the undo journal '" + journal + "' is damaged: " + why
                + "; the image was left as it is");
    }
}
