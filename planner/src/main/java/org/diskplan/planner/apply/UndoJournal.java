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

// No lambdas or streams here: this class runs on the command line's start-up path (see ReadWatch / issue 20).
/**
 * The undo journal: for every file a plan touches, its original length, its planned
 * final length and the original bytes of every range the plan overwrites, plus the
 * files the plan creates. It lies beside the image as {@code <image>.diskplan-journal}
 * while a resize runs.
 *
 * <p>Layout (version 4), little-endian:
 * <pre>
 * offset  size  field
 *      0     8  magic "DPJRNL04"
 *      8     4  header length (192)
 *     12     4  range count
 *     16     8  original length of the image
 *     24     8  planned final length of the image
 *     32   112  ResizeConfig of the resize (abi.md)
 *    144     4  target count (the image is target 0)
 *    148     8  device number (st_dev) of the image
 *    156     8  inode number (st_ino) of the image
 *    164     2  length of the image's real path
 *    166    26  reserved, zero
 *    192     …  the image's real path (UTF-8, every symbolic link resolved)
 *      …     …  targets: flags u8 (bit 0: created by the plan; bit 1: removed by the plan,
 *               renamed to {@code <name>.diskplan-removed} at the final step), role u8, path length u16,
 *               original length u64, final length u64, path (UTF-8: relative to the
 *               image's folder when inside it, else absolute; the image's own name for target 0)
 *      …     …  ranges: target u32, offset u64, length u32, the original bytes
 *    end-8   4  CRC-32C of the saved bytes alone (every range's data, in order)
 *    end-4   4  CRC-32C of everything before it
 * </pre>
 * The journal lies beside the image's real file, and names the file it belongs to
 * (real path, device, inode), so it is found whatever name is given and refused for any
 * other file. Version 3 ("DPJRNL03") is version 4 without flag bit 1 (no plan removed a
 * file before version 4); versions 2 ("DPJRNL02": a 160-byte header, no identity, no saved-bytes
 * CRC) and 1 ("DPJRNL01", one file: no target table, ranges without a target) are still
 * read, so a resize interrupted before an upgrade can be recovered after it.
 *
 * <p>It is written to a temporary name, synced, renamed into place and the folder
 * synced before any file is touched, so a journal that exists is complete.
 */
public final class UndoJournal {
    public static final String SUFFIX = ".diskplan-journal";
    static final byte[] MAGIC = "DPJRNL04".getBytes(StandardCharsets.US_ASCII);
    static final byte[] MAGIC_V3 = "DPJRNL03".getBytes(StandardCharsets.US_ASCII);
    static final byte[] MAGIC_V2 = "DPJRNL02".getBytes(StandardCharsets.US_ASCII);
    static final byte[] MAGIC_V1 = "DPJRNL01".getBytes(StandardCharsets.US_ASCII);
    /** The header length of versions 1 and 2. */
    static final int HEADER_LENGTH = 160;
    static final int HEADER_LENGTH_V3 = 192;
    static final int OFFSET_DEVICE = 148;
    static final int OFFSET_INODE = 156;
    static final int OFFSET_REAL_PATH_LENGTH = 164;
    static final int OFFSET_RANGE_COUNT = 12;
    static final int OFFSET_ORIGINAL_LENGTH = 16;
    static final int OFFSET_FINAL_LENGTH = 24;
    static final int OFFSET_CONFIG = 32;
    static final int OFFSET_TARGET_COUNT = 144;
    static final int TARGET_HEADER = 20;
    static final int RANGE_HEADER = 16;
    static final int RANGE_HEADER_V1 = 12;
    static final int FLAG_CREATED = 1;
    static final int FLAG_REMOVED = 2;
    /** The most original bytes one journal may hold; bigger plans are refused. */
    public static final long MAX_SAVED_BYTES = 256L << 20;
    /**
     * The longest journal read: the saved bytes and, generously, the headers of every file
     * and range. A longer file is no journal DiskPlan wrote and is refused unread.
     */
    static final long MAX_JOURNAL_BYTES = MAX_SAVED_BYTES + (64L << 20);
    /** The most ranges a journal may list (each range header alone is 16 bytes). */
    static final int MAX_RANGES = 1 << 22;

    /** A range of an original file saved in the journal. */
    public record Range(int target, long offset, int length) {
    }

    /**
     * A file of the resize as the journal records it.
     *
     * @param path where it is: relative to the image's folder, or absolute
     */
    public record Target(Path path, int role, boolean created, boolean removed, long originalLength,
                         long finalLength) {
        /** A file the plan keeps. */
        public Target(Path path, int role, boolean created, long originalLength, long finalLength) {
            this(path, role, created, false, originalLength, finalLength);
        }
    }

    /**
     * What a journal says (its saved bytes are read again when restoring).
     *
     * @param version  1, 2, 3 or 4
     * @param identity the image it belongs to (versions 3 and 4; empty before)
     */
    public record Contents(Path journal, int version, java.util.Optional<FileIdentity> identity, ResizeConfig config,
                           List<Target> targets, List<Range> ranges, List<Long> dataOffsets) {
        public long originalLength() {
            return targets.get(0).originalLength();
        }

        public long finalLength() {
            return targets.get(0).finalLength();
        }
    }

    private UndoJournal() {
    }

    /**
     * Where the journal of {@code image} lies: beside its real file (symbolic links
     * resolved), so every name of one file finds the same journal. A block device's
     * journal cannot lie beside it: {@code /dev} is a tmpfs, gone after the power cut the
     * journal is there for. It lies in {@link #deviceJournalDirectory()} instead, named
     * after the device's real path ({@code /dev/sdb} gives {@code dev!sdb.diskplan-journal}).
     */
    public static Path pathFor(Path image) {
        return journalOf(realOrGiven(image));
    }

    /** System property, then environment variable, naming the folder of block devices' journals. */
    public static final String DEVICE_JOURNAL_DIR_PROPERTY = "diskplan.journal.dir";
    public static final String DEVICE_JOURNAL_DIR_ENV = "DISKPLAN_JOURNAL_DIR";

    /**
     * The folder of block devices' journals, on persistent storage: {@code diskplan.journal.dir}
     * or {@code DISKPLAN_JOURNAL_DIR} if set; {@code /var/lib/diskplan/journals} for root;
     * otherwise {@code $XDG_STATE_HOME/diskplan/journals} ({@code ~/.local/state/...}).
     */
    public static Path deviceJournalDirectory() {
        String configured = System.getProperty(DEVICE_JOURNAL_DIR_PROPERTY);
        if (configured == null || configured.isBlank()) {
            configured = System.getenv(DEVICE_JOURNAL_DIR_ENV);
        }
        if (configured != null && !configured.isBlank()) {
            return Path.of(configured);
        }
        if ("root".equals(System.getProperty("user.name"))) {
            return Path.of("/var/lib/diskplan/journals");
        }
        String state = System.getenv("XDG_STATE_HOME");
        Path base = state != null && state.startsWith("/") ? Path.of(state)
                : Path.of(System.getProperty("user.home"), ".local", "state");
        return base.resolve("diskplan").resolve("journals");
    }

    /** The journal of the real file {@code real}: beside it, or for a block device in the journal folder. */
    static Path journalOf(Path real) {
        if (org.diskplan.probe.FileKind.of(real) == org.diskplan.probe.FileKind.BLOCK_DEVICE) {
            String name = real.toAbsolutePath().toString().substring(1).replace('/', '!');
            return deviceJournalDirectory().resolve(name + SUFFIX);
        }
        return besideName(real);
    }

    /**
     * The image {@code journal} belongs to, the inverse of {@link #pathFor}: the file beside
     * it without the suffix, or, for a journal in {@link #deviceJournalDirectory()} named
     * after a device ({@code dev!sdb.diskplan-journal}), that device ({@code /dev/sdb}).
     * Empty when the name does not end in the suffix (or is nothing but the suffix).
     */
    public static java.util.Optional<Path> imageOf(Path journal) {
        Path name = journal.getFileName();
        String n = name == null ? "" : name.toString();
        if (!n.endsWith(SUFFIX) || n.length() == SUFFIX.length()) {
            return java.util.Optional.empty();
        }
        String image = n.substring(0, n.length() - SUFFIX.length());
        Path folder = journal.toAbsolutePath().normalize().getParent();
        if (image.indexOf('!') >= 0 && folder != null
                && folder.equals(deviceJournalDirectory().toAbsolutePath().normalize())) {
            return java.util.Optional.of(Path.of("/" + image.replace('!', '/')));
        }
        return java.util.Optional.of(journal.resolveSibling(image));
    }

    /** The journal name beside {@code file} as named, links not resolved. */
    static Path besideName(Path file) {
        return file.resolveSibling(file.getFileName() + SUFFIX);
    }

    private static Path realOrGiven(Path image) {
        try {
            return image.toRealPath();
        } catch (IOException e) {
            return image;
        }
    }

    static Path tempPathFor(Path image) {
        Path journal = pathFor(image);
        return journal.resolveSibling(journal.getFileName() + ".tmp");
    }

    /**
     * The journal of the file {@code image} names, if an interrupted resize left one:
     * beside its real file; beside the name given (where a version before 3 put it when
     * given a symbolic link); or, for another hard link to the same file, any version-3
     * journal in the real file's folder that records this file's device and inode.
     */
    public static java.util.Optional<Path> find(Path image) {
        Path beside = pathFor(image);
        if (Files.exists(beside, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return java.util.Optional.of(beside);
        }
        Path asNamed = besideName(image);
        if (Files.exists(asNamed, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return java.util.Optional.of(asNamed);
        }
        FileIdentity id;
        try {
            id = FileIdentity.of(image);
        } catch (IOException e) {
            return java.util.Optional.empty();
        }
        if (!id.known()) {
            return java.util.Optional.empty();
        }
        try (java.nio.file.DirectoryStream<Path> files = Files.newDirectoryStream(directoryOf(id.realPath()))) {
            for (Path p : files) {
                if (!p.getFileName().toString().endsWith(SUFFIX)
                        || org.diskplan.probe.FileKind.of(p) != org.diskplan.probe.FileKind.REGULAR) {
                    continue;
                }
                java.util.Optional<FileIdentity> recorded = recordedIdentity(p);
                if (recorded.isPresent() && id.sameFile(recorded.get())) {
                    return java.util.Optional.of(p);
                }
            }
            return java.util.Optional.empty();
        } catch (IOException | java.io.UncheckedIOException | java.nio.file.DirectoryIteratorException e) {
            return java.util.Optional.empty();
        }
    }

    /** The identity a version-3 journal's header records (its CRC is not checked here). */
    static java.util.Optional<FileIdentity> recordedIdentity(Path journal) {
        try (FileChannel in = Io.openWatched(journal)) {
            if (in.size() < HEADER_LENGTH_V3 + 8) {
                return java.util.Optional.empty();
            }
            byte[] h = new byte[HEADER_LENGTH_V3];
            Io.readFully(journal, in, 0, h, h.length);
            if (!Arrays.equals(h, 0, MAGIC.length, MAGIC, 0, MAGIC.length)
                    && !Arrays.equals(h, 0, MAGIC_V3.length, MAGIC_V3, 0, MAGIC_V3.length)) {
                return java.util.Optional.empty();
            }
            ByteBuffer b = ByteBuffer.wrap(h).order(ByteOrder.LITTLE_ENDIAN);
            return java.util.Optional.of(new FileIdentity(Path.of("/"), b.getLong(OFFSET_DEVICE),
                    b.getLong(OFFSET_INODE)));
        } catch (IOException | RuntimeException e) {
            return java.util.Optional.empty();
        }
    }

    /** Refuses (code 17) when an interrupted resize left a journal for {@code image}, under any of its names. */
    public static void refuseIfPresent(Path image) throws ResizeError {
        java.util.Optional<Path> journal = find(image);
        if (journal.isPresent()) {
            throw new ResizeError(ErrorCode.INTERRUPTED_RESIZE, "an interrupted resize left the undo journal '"
                    + journal.get() + "'; run `diskplan recover " + image + "` to roll it back first");
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
    static Path write(FileIdentity image, ResizeConfig config, List<Target> targets, List<Range> ranges,
                      Source source) throws IOException {
        Path tmp = tempPathFor(image.realPath());
        CRC32C crc = new CRC32C();
        CRC32C savedCrc = new CRC32C();
        byte[] realPath = image.realPath().toString().getBytes(StandardCharsets.UTF_8);
        if (realPath.length > 0xffff) {
            throw new IOException("the image's real path is longer than 65535 bytes");
        }
        // a read of the image that never answers gives the command up: the half-written journal goes
        org.diskplan.probe.ReadWatch.onTimeout(tmp, new Runnable() {
            @Override
            public void run() {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // the next resize truncates it
                }
            }
        });
        Files.createDirectories(directoryOf(tmp));
        // a leftover of an earlier run goes (a link is removed, never followed)
        Files.deleteIfExists(tmp);
        try (FileChannel out = createOwnerOnly(tmp)) {
            ByteBuffer header = ByteBuffer.allocate(HEADER_LENGTH_V3 + realPath.length).order(ByteOrder.LITTLE_ENDIAN);
            header.put(0, MAGIC);
            header.putInt(8, HEADER_LENGTH_V3);
            header.putInt(OFFSET_RANGE_COUNT, ranges.size());
            header.putLong(OFFSET_ORIGINAL_LENGTH, targets.get(0).originalLength());
            header.putLong(OFFSET_FINAL_LENGTH, targets.get(0).finalLength());
            header.put(OFFSET_CONFIG, config.encode());
            header.putInt(OFFSET_TARGET_COUNT, targets.size());
            header.putLong(OFFSET_DEVICE, image.device()).putLong(OFFSET_INODE, image.inode())
                    .putShort(OFFSET_REAL_PATH_LENGTH, (short) realPath.length).put(HEADER_LENGTH_V3, realPath);
            long pos = append(out, 0, header.array(), crc);
            for (Target t : targets) {
                byte[] name = t.path().toString().getBytes(StandardCharsets.UTF_8);
                ByteBuffer th = ByteBuffer.allocate(TARGET_HEADER + name.length).order(ByteOrder.LITTLE_ENDIAN);
                th.put(0, (byte) ((t.created() ? FLAG_CREATED : 0) | (t.removed() ? FLAG_REMOVED : 0)))
                        .put(1, (byte) t.role())
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
                    Io.readFully(targets.get(r.target()).path(), in, r.offset() + done, chunk, n);
                    byte[] piece = n == chunk.length ? chunk : Arrays.copyOf(chunk, n);
                    savedCrc.update(piece);
                    pos = append(out, pos, piece, crc);
                    done += n;
                }
            }
            ByteBuffer saved = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
            saved.putInt(0, (int) savedCrc.getValue());
            pos = append(out, pos, saved.array(), crc);
            ByteBuffer tail = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
            tail.putInt(0, (int) crc.getValue());
            Io.writeFully(out, pos, tail);
            out.force(false); // a new file: fdatasync writes its length too
        }
        Path journal = journalOf(image.realPath());
        Files.move(tmp, journal, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        org.diskplan.probe.ReadWatch.onTimeout(tmp, null);
        Io.syncDirectory(directoryOf(journal));
        return journal;
    }

    private static long append(FileChannel out, long pos, byte[] bytes, CRC32C crc) throws IOException {
        crc.update(bytes);
        Io.writeFully(out, pos, ByteBuffer.wrap(bytes));
        return pos + bytes.length;
    }

    /**
     * Reads and verifies a journal; a damaged one is refused and left in place. Anything
     * but a regular file (a FIFO would block the read forever) and anything longer than
     * a journal can be is refused unread.
     */
    /**
     * A new file only its owner may read or write: a journal holds the bytes the resize
     * overwrites, guest data among them, whatever the umask. Never follows a link there.
     */
    private static FileChannel createOwnerOnly(Path file) throws IOException {
        java.util.Set<StandardOpenOption> options = java.util.EnumSet.of(StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE);
        if (file.getFileSystem().supportedFileAttributeViews().contains("posix")) {
            return FileChannel.open(file, options, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                    java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
        }
        return FileChannel.open(file, options);
    }

    public static Contents read(Path journal) throws ResizeError {
        org.diskplan.probe.FileKind kind = kindOf(journal);
        if (kind != org.diskplan.probe.FileKind.REGULAR && kind != org.diskplan.probe.FileKind.MISSING) {
            throw new ResizeError(ErrorCode.READ_FAILED, "the undo journal '" + journal + "' is " + kind.words()
                    + ", not a regular file; it was not read and the image was left as it is");
        }
        try (FileChannel in = Io.openWatched(journal)) {
            long size = in.size();
            if (size < HEADER_LENGTH + 4) {
                throw damaged(journal, "it is " + size + " bytes long, shorter than its " + HEADER_LENGTH
                        + "-byte header");
            }
            if (size > MAX_JOURNAL_BYTES) {
                throw damaged(journal, "it is " + size + " bytes long, more than any journal holds ("
                        + MAX_JOURNAL_BYTES + ")");
            }
            CRC32C crc = new CRC32C();
            byte[] chunk = new byte[Io.CHUNK];
            for (long pos = 0; pos < size - 4; ) {
                int n = (int) Math.min(chunk.length, size - 4 - pos);
                Io.readFully(journal, in, pos, chunk, n);
                crc.update(chunk, 0, n);
                pos += n;
            }
            byte[] tail = new byte[4];
            Io.readFully(journal, in, size - 4, tail, 4);
            int stored = ByteBuffer.wrap(tail).order(ByteOrder.LITTLE_ENDIAN).getInt();
            if (stored != (int) crc.getValue()) {
                throw damaged(journal, "its CRC-32C at offset " + (size - 4) + " does not match");
            }
            byte[] headerBytes = new byte[HEADER_LENGTH];
            Io.readFully(journal, in, 0, headerBytes, HEADER_LENGTH);
            ByteBuffer header = ByteBuffer.wrap(headerBytes).order(ByteOrder.LITTLE_ENDIAN);
            int version = Arrays.equals(headerBytes, 0, MAGIC.length, MAGIC, 0, MAGIC.length) ? 4
                    : Arrays.equals(headerBytes, 0, MAGIC_V3.length, MAGIC_V3, 0, MAGIC_V3.length) ? 3
                    : Arrays.equals(headerBytes, 0, MAGIC_V2.length, MAGIC_V2, 0, MAGIC_V2.length) ? 2
                    : Arrays.equals(headerBytes, 0, MAGIC_V1.length, MAGIC_V1, 0, MAGIC_V1.length) ? 1 : 0;
            if (version == 0) {
                throw damaged(journal, "its magic at offset 0 is not DPJRNL04 (or DPJRNL03, DPJRNL02, DPJRNL01)");
            }
            boolean v1 = version == 1;
            int headerLength = header.getInt(8);
            int expectedHeader = version >= 3 ? HEADER_LENGTH_V3 : HEADER_LENGTH;
            if (headerLength != expectedHeader) {
                throw damaged(journal, "its header length " + headerLength + " at offset 8 is not " + expectedHeader);
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
            if (count > MAX_RANGES) {
                throw damaged(journal, "its range count " + count + " at offset " + OFFSET_RANGE_COUNT
                        + " is more than " + MAX_RANGES);
            }
            long pos = HEADER_LENGTH;
            long end = size - 4;
            java.util.Optional<FileIdentity> identity = java.util.Optional.empty();
            if (version >= 3) {
                end = size - 8;
                if (size < HEADER_LENGTH_V3 + 8) {
                    throw damaged(journal, "it is " + size + " bytes long, shorter than its " + HEADER_LENGTH_V3
                            + "-byte header");
                }
                byte[] h3 = new byte[HEADER_LENGTH_V3];
                Io.readFully(journal, in, 0, h3, h3.length);
                ByteBuffer b3 = ByteBuffer.wrap(h3).order(ByteOrder.LITTLE_ENDIAN);
                int pathLength = b3.getShort(OFFSET_REAL_PATH_LENGTH) & 0xffff;
                if (pathLength == 0 || HEADER_LENGTH_V3 + pathLength > end) {
                    throw damaged(journal, "its real-path length " + pathLength + " at offset "
                            + OFFSET_REAL_PATH_LENGTH + " is invalid");
                }
                byte[] name = new byte[pathLength];
                Io.readFully(journal, in, HEADER_LENGTH_V3, name, pathLength);
                Path real;
                try {
                    real = Path.of(new String(name, StandardCharsets.UTF_8));
                } catch (java.nio.file.InvalidPathException e) {
                    throw damaged(journal, "its real path at offset " + HEADER_LENGTH_V3 + " is not a path");
                }
                if (!real.isAbsolute()) {
                    throw damaged(journal, "its real path at offset " + HEADER_LENGTH_V3 + " is not absolute");
                }
                identity = java.util.Optional.of(new FileIdentity(real, b3.getLong(OFFSET_DEVICE),
                        b3.getLong(OFFSET_INODE)));
                pos = HEADER_LENGTH_V3 + pathLength;
            }
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
                    Target t = readTarget(in, journal, pos, end + 4, i, version >= 4 ? FLAG_CREATED | FLAG_REMOVED
                            : FLAG_CREATED);
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
            long savedBytes = 0;
            for (int i = 0; i < count; i++) {
                if (pos + rangeHeader > end) {
                    throw damaged(journal, "range " + i + " at offset " + pos + " runs past its end");
                }
                Io.readFully(journal, in, pos, rh, rangeHeader);
                ByteBuffer b = ByteBuffer.wrap(rh).order(ByteOrder.LITTLE_ENDIAN);
                int target = v1 ? 0 : b.getInt(0);
                long offset = v1 ? b.getLong(0) : b.getLong(4);
                int length = v1 ? b.getInt(8) : b.getInt(12);
                if (target < 0 || target >= targets.size() || offset < 0 || length < 0
                        || pos + rangeHeader + length > end) {
                    throw damaged(journal, "range " + i + " at offset " + pos + " is invalid");
                }
                Target t = targets.get(target);
                if (t.created() || offset + length > t.originalLength()) {
                    throw damaged(journal, "range " + i + " at offset " + pos + " saves bytes " + offset + "+" + length
                            + " of target " + target + ", which was " + (t.created() ? "created by the resize"
                            : t.originalLength() + " bytes long"));
                }
                ranges.add(new Range(target, offset, length));
                dataOffsets.add(pos + rangeHeader);
                pos += rangeHeader + length;
                savedBytes += length;
            }
            if (version >= 3) {
                if (pos != end) {
                    throw damaged(journal, "its ranges end at offset " + pos + ", not at " + end);
                }
                CRC32C saved = new CRC32C();
                for (int i = 0; i < ranges.size(); i++) {
                    for (long done = 0; done < ranges.get(i).length(); ) {
                        int n = (int) Math.min(chunk.length, ranges.get(i).length() - done);
                        Io.readFully(journal, in, dataOffsets.get(i) + done, chunk, n);
                        saved.update(chunk, 0, n);
                        done += n;
                    }
                }
                byte[] sc = new byte[4];
                Io.readFully(journal, in, end, sc, 4);
                if (ByteBuffer.wrap(sc).order(ByteOrder.LITTLE_ENDIAN).getInt() != (int) saved.getValue()) {
                    throw damaged(journal, "the CRC-32C of its " + savedBytes + " saved bytes at offset " + end
                            + " does not match them");
                }
            }
            return new Contents(journal, version, identity, config, targets, ranges, dataOffsets);
        } catch (IOException e) {
            throw new ResizeError(ErrorCode.READ_FAILED, "cannot read the undo journal '" + journal + "': "
                    + e.getMessage());
        }
    }

    private static Target readTarget(FileChannel in, Path journal, long pos, long size, int i, int knownFlags)
            throws IOException, ResizeError {
        if (pos + TARGET_HEADER > size - 4) {
            throw damaged(journal, "target " + i + " at offset " + pos + " runs past its end");
        }
        byte[] th = new byte[TARGET_HEADER];
        Io.readFully(journal, in, pos, th, TARGET_HEADER);
        ByteBuffer b = ByteBuffer.wrap(th).order(ByteOrder.LITTLE_ENDIAN);
        int flags = b.get(0) & 0xff;
        int role = b.get(1) & 0xff;
        int nameLength = b.getShort(2) & 0xffff;
        long original = b.getLong(4);
        long fin = b.getLong(12);
        if ((flags & ~knownFlags) != 0 || flags == (FLAG_CREATED | FLAG_REMOVED) || i == 0 && flags != 0
                || nameLength == 0 || original < 0 || fin < 0
                || pos + TARGET_HEADER + nameLength > size - 4) {
            throw damaged(journal, "target " + i + " at offset " + pos + " is invalid");
        }
        byte[] name = new byte[nameLength];
        Io.readFully(journal, in, pos + TARGET_HEADER, name, nameLength);
        Path path;
        try {
            path = Path.of(new String(name, StandardCharsets.UTF_8));
        } catch (java.nio.file.InvalidPathException e) {
            throw damaged(journal, "target " + i + " at offset " + pos + " has an invalid path");
        }
        return new Target(path, role, (flags & FLAG_CREATED) != 0, (flags & FLAG_REMOVED) != 0, original, fin);
    }

    /** The unit in which a rollback compares and rewrites saved bytes. */
    static final int RESTORE_BLOCK = 4096;

    /**
     * Writes the saved bytes of {@code target} back into {@code channel}, only where they
     * differ from what it holds, {@value #RESTORE_BLOCK} bytes at a time: a rollback writes
     * nothing that is already right, so it allocates no blocks it need not.
     */
    static void restoreRanges(Contents contents, int target, Path file, FileChannel channel) throws IOException {
        try (FileChannel in = Io.openWatched(contents.journal())) {
            byte[] saved = new byte[Io.CHUNK];
            byte[] current = new byte[Io.CHUNK];
            for (int i = 0; i < contents.ranges().size(); i++) {
                Range r = contents.ranges().get(i);
                if (r.target() != target) {
                    continue;
                }
                long src = contents.dataOffsets().get(i);
                for (long done = 0; done < r.length(); ) {
                    int n = (int) Math.min(saved.length, r.length() - done);
                    long at = r.offset() + done;
                    Io.readFully(contents.journal(), in, src + done, saved, n);
                    int have = (int) Math.max(0, Math.min(n, channel.size() - at));
                    if (have > 0) {
                        Io.readFully(file, channel, at, current, have);
                    }
                    for (int k = 0; k < n; k += RESTORE_BLOCK) {
                        int len = Math.min(RESTORE_BLOCK, n - k);
                        if (k + len <= have && Arrays.equals(saved, k, k + len, current, k, k + len)) {
                            continue;
                        }
                        Io.writeFully(channel, at + k, ByteBuffer.wrap(saved, k, len));
                    }
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

    /** The journal's kind, its stat watched like an open (a stat on a mount that never answers blocks too). */
    private static org.diskplan.probe.FileKind kindOf(Path journal) throws ResizeError {
        Object watch = org.diskplan.probe.ReadWatch.begin(journal, -1);
        try {
            return org.diskplan.probe.FileKind.of(journal);
        } finally {
            try {
                org.diskplan.probe.ReadWatch.end(watch);
            } catch (IOException e) {
                throw new ResizeError(ErrorCode.READ_FAILED, e.getMessage());
            }
        }
    }

    private static ResizeError damaged(Path journal, String why) {
        return new ResizeError(ErrorCode.PARSE_FAILED, "the undo journal '" + journal + "' is damaged: " + why
                + "; the image was left as it is");
    }
}
