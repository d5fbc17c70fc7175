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
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;
import org.diskplan.abi.AbiException;
import org.diskplan.abi.ErrorCode;
import org.diskplan.abi.ResizeConfig;
import org.diskplan.planner.ResizeError;

/**
 * The undo journal: for every file a plan touches, its original length, its planned
 * final length and the original bytes of every range the plan overwrites, plus the
 * files the plan creates. It lies beside the image as {@code <image>.diskplan-journal}
 * while a resize runs.
 *
 * <p>Layout (version 2), little-endian:
 * <pre>
 * offset  size  field
 *      0     8  magic "DPJRNL02"
 *      8     4  header length (160)
 *     12     4  range count
 *     16     8  original length of the image
 *     24     8  planned final length of the image
 *     32   112  ResizeConfig of the resize (abi.md)
 *    144     4  target count (the image is target 0)
 *    148    12  reserved, zero
 *    160     …  targets: flags u8 (bit 0: created by the plan), role u8, path length u16,
 *               original length u64, final length u64, path (UTF-8: relative to the
 *               image's folder when inside it, else absolute; the image's own name for target 0)
 *      …     …  ranges: target u32, offset u64, length u32, the original bytes
 *    end-4   4  CRC-32C of everything before it
 * </pre>
 * Version 1 ("DPJRNL01", one file: no target table, ranges without a target) is still
 * read, so a resize interrupted before an upgrade can be recovered after it.
 *
 * <p>It is written to a temporary name, synced, renamed into place and the folder
 * synced before any file is touched, so a journal that exists is complete.
 */
public final class UndoJournal {
    public static final String SUFFIX = ".diskplan-journal";
    static final byte[] MAGIC = "DPJRNL02".getBytes(StandardCharsets.US_ASCII);
    static final byte[] MAGIC_V1 = "DPJRNL01".getBytes(StandardCharsets.US_ASCII);
    static final int HEADER_LENGTH = 160;
    static final int OFFSET_RANGE_COUNT = 12;
    static final int OFFSET_ORIGINAL_LENGTH = 16;
    static final int OFFSET_FINAL_LENGTH = 24;
    static final int OFFSET_CONFIG = 32;
    static final int OFFSET_TARGET_COUNT = 144;
    static final int TARGET_HEADER = 20;
    static final int RANGE_HEADER = 16;
    static final int RANGE_HEADER_V1 = 12;
    static final int FLAG_CREATED = 1;
    /** The most original bytes one journal may hold; bigger plans are refused. */
    public static final long MAX_SAVED_BYTES = 256L << 20;

    /** A range of an original file saved in the journal. */
    public record Range(int target, long offset, int length) {
    }

    /**
     * A file of the resize as the journal records it.
     *
     * @param path where it is: relative to the image's folder, or absolute
     */
    public record Target(Path path, int role, boolean created, long originalLength, long finalLength) {
    }

    /** What a journal says (its saved bytes are read again when restoring). */
    public record Contents(Path journal, ResizeConfig config, List<Target> targets, List<Range> ranges,
                           List<Long> dataOffsets) {
        public long originalLength() {
            return targets.get(0).originalLength();
        }

        public long finalLength() {
            return targets.get(0).finalLength();
        }
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

    /** The reader of one target's current bytes, for saving them. */
    interface Source {
        FileChannel channel(int target);
    }

    /** Writes and syncs the journal for a resize of {@code image}; returns its path. */
    static Path write(Path image, ResizeConfig config, List<Target> targets, List<Range> ranges, Source source)
            throws IOException {
        Path tmp = tempPathFor(image);
        CRC32C crc = new CRC32C();
        try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer header = ByteBuffer.allocate(HEADER_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
            header.put(0, MAGIC);
            header.putInt(8, HEADER_LENGTH);
            header.putInt(OFFSET_RANGE_COUNT, ranges.size());
            header.putLong(OFFSET_ORIGINAL_LENGTH, targets.get(0).originalLength());
            header.putLong(OFFSET_FINAL_LENGTH, targets.get(0).finalLength());
            header.put(OFFSET_CONFIG, config.encode());
            header.putInt(OFFSET_TARGET_COUNT, targets.size());
            long pos = append(out, 0, header.array(), crc);
            for (Target t : targets) {
                byte[] name = t.path().toString().getBytes(StandardCharsets.UTF_8);
                ByteBuffer th = ByteBuffer.allocate(TARGET_HEADER + name.length).order(ByteOrder.LITTLE_ENDIAN);
                th.put(0, (byte) (t.created() ? FLAG_CREATED : 0)).put(1, (byte) t.role())
                        .putShort(2, (short) name.length).putLong(4, t.originalLength()).putLong(12, t.finalLength())
                        .put(TARGET_HEADER, name);
                pos = append(out, pos, th.array(), crc);
            }
            for (Range r : ranges) {
                ByteBuffer rh = ByteBuffer.allocate(RANGE_HEADER).order(ByteOrder.LITTLE_ENDIAN);
                rh.putInt(0, r.target()).putLong(4, r.offset()).putInt(12, r.length());
                pos = append(out, pos, rh.array(), crc);
                FileChannel in = source.channel(r.target());
                byte[] chunk = new byte[Math.min(r.length(), Io.CHUNK)];
                for (long done = 0; done < r.length(); ) {
                    int n = (int) Math.min(chunk.length, r.length() - done);
                    Io.readFully(in, r.offset() + done, chunk, n);
                    byte[] piece = n == chunk.length ? chunk : Arrays.copyOf(chunk, n);
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
            boolean v1 = Arrays.equals(headerBytes, 0, MAGIC_V1.length, MAGIC_V1, 0, MAGIC_V1.length);
            if (!v1 && !Arrays.equals(headerBytes, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
                throw damaged(journal, "its magic at offset 0 is not DPJRNL02 (or DPJRNL01)");
            }
            int count = header.getInt(OFFSET_RANGE_COUNT);
            long original = header.getLong(OFFSET_ORIGINAL_LENGTH);
            long finalLength = header.getLong(OFFSET_FINAL_LENGTH);
            ResizeConfig config;
            try {
                config = ResizeConfig.decode(Arrays.copyOfRange(headerBytes, OFFSET_CONFIG,
                        OFFSET_CONFIG + ResizeConfig.SIZE));
            } catch (AbiException e) {
                throw damaged(journal, "its ResizeConfig at offset " + OFFSET_CONFIG + " is invalid: "
                        + e.getMessage());
            }
            if (count < 0 || original < 0 || finalLength < 0) {
                throw damaged(journal, "its header holds a negative count or length");
            }
            long pos = HEADER_LENGTH;
            List<Target> targets = new ArrayList<>();
            if (v1) {
                targets.add(new Target(journal.getFileName(), 0, false, original, finalLength));
            } else {
                int n = header.getInt(OFFSET_TARGET_COUNT);
                if (n < 1 || n > 65536) {
                    throw damaged(journal, "its target count " + n + " at offset " + OFFSET_TARGET_COUNT
                            + " is not 1..65536");
                }
                for (int i = 0; i < n; i++) {
                    Target t = readTarget(in, journal, pos, size, i);
                    targets.add(t);
                    pos += TARGET_HEADER + t.path().toString().getBytes(StandardCharsets.UTF_8).length;
                }
                if (targets.get(0).originalLength() != original || targets.get(0).finalLength() != finalLength
                        || targets.get(0).created()) {
                    throw damaged(journal, "its target 0 does not match its header's lengths");
                }
            }
            int rangeHeader = v1 ? RANGE_HEADER_V1 : RANGE_HEADER;
            List<Range> ranges = new ArrayList<>();
            List<Long> dataOffsets = new ArrayList<>();
            byte[] rh = new byte[rangeHeader];
            for (int i = 0; i < count; i++) {
                if (pos + rangeHeader > size - 4) {
                    throw damaged(journal, "range " + i + " at offset " + pos + " runs past its end");
                }
                Io.readFully(in, pos, rh, rangeHeader);
                ByteBuffer b = ByteBuffer.wrap(rh).order(ByteOrder.LITTLE_ENDIAN);
                int target = v1 ? 0 : b.getInt(0);
                long offset = v1 ? b.getLong(0) : b.getLong(4);
                int length = v1 ? b.getInt(8) : b.getInt(12);
                if (target < 0 || target >= targets.size() || offset < 0 || length < 0
                        || pos + rangeHeader + length > size - 4) {
                    throw damaged(journal, "range " + i + " at offset " + pos + " is invalid");
                }
                ranges.add(new Range(target, offset, length));
                dataOffsets.add(pos + rangeHeader);
                pos += rangeHeader + length;
            }
            return new Contents(journal, config, targets, ranges, dataOffsets);
        } catch (IOException e) {
            throw new ResizeError(ErrorCode.READ_FAILED, "cannot read the undo journal '" + journal + "': "
                    + e.getMessage());
        }
    }

    private static Target readTarget(FileChannel in, Path journal, long pos, long size, int i)
            throws IOException, ResizeError {
        if (pos + TARGET_HEADER > size - 4) {
            throw damaged(journal, "target " + i + " at offset " + pos + " runs past its end");
        }
        byte[] th = new byte[TARGET_HEADER];
        Io.readFully(in, pos, th, TARGET_HEADER);
        ByteBuffer b = ByteBuffer.wrap(th).order(ByteOrder.LITTLE_ENDIAN);
        int flags = b.get(0) & 0xff;
        int role = b.get(1) & 0xff;
        int nameLength = b.getShort(2) & 0xffff;
        long original = b.getLong(4);
        long fin = b.getLong(12);
        if ((flags & ~FLAG_CREATED) != 0 || nameLength == 0 || original < 0 || fin < 0
                || pos + TARGET_HEADER + nameLength > size - 4) {
            throw damaged(journal, "target " + i + " at offset " + pos + " is invalid");
        }
        byte[] name = new byte[nameLength];
        Io.readFully(in, pos + TARGET_HEADER, name, nameLength);
        Path path;
        try {
            path = Path.of(new String(name, StandardCharsets.UTF_8));
        } catch (java.nio.file.InvalidPathException e) {
            throw damaged(journal, "target " + i + " at offset " + pos + " has an invalid path");
        }
        return new Target(path, role, (flags & FLAG_CREATED) != 0, original, fin);
    }

    /** Writes the saved bytes of {@code target} back into {@code channel}. */
    static void restoreRanges(Contents contents, int target, FileChannel channel) throws IOException {
        try (FileChannel in = FileChannel.open(contents.journal(), StandardOpenOption.READ)) {
            byte[] chunk = new byte[Io.CHUNK];
            for (int i = 0; i < contents.ranges().size(); i++) {
                Range r = contents.ranges().get(i);
                if (r.target() != target) {
                    continue;
                }
                long src = contents.dataOffsets().get(i);
                for (long done = 0; done < r.length(); ) {
                    int n = (int) Math.min(chunk.length, r.length() - done);
                    Io.readFully(in, src + done, chunk, n);
                    Io.writeFully(channel, r.offset() + done, ByteBuffer.wrap(chunk, 0, n));
                    done += n;
                }
            }
        }
    }

    static void delete(Path journal) throws IOException {
        Files.deleteIfExists(journal);
        Io.syncDirectory(directoryOf(journal));
    }

    static Path directoryOf(Path file) {
        Path parent = file.toAbsolutePath().getParent();
        return parent == null ? file.toAbsolutePath() : parent;
    }

    private static ResizeError damaged(Path journal, String why) {
        return new ResizeError(ErrorCode.PARSE_FAILED, "the undo journal '" + journal + "' is damaged: " + why
                + "; the image was left as it is");
    }
}
