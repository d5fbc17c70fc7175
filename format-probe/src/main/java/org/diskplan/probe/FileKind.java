package org.diskplan.probe;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * What kind of file a path names, found with {@code stat} (following symbolic links),
 * which never blocks: a FIFO is recognised without being opened, because opening one
 * for reading waits for a writer that may never come.
 */
public enum FileKind {
    REGULAR("a regular file"),
    DIRECTORY("a directory"),
    FIFO("a FIFO (named pipe)"),
    CHARACTER_DEVICE("a character device"),
    BLOCK_DEVICE("a block device"),
    SOCKET("a socket"),
    MISSING("missing"),
    OTHER("not a regular file");

    /** {@code st_mode & S_IFMT} values (POSIX, octal). */
    private static final int S_IFMT = 0170000;
    private static final int S_IFSOCK = 0140000;
    private static final int S_IFREG = 0100000;
    private static final int S_IFBLK = 0060000;
    private static final int S_IFDIR = 0040000;
    private static final int S_IFCHR = 0020000;
    private static final int S_IFIFO = 0010000;

    private final String words;

    FileKind(String words) {
        this.words = words;
    }

    /** "a FIFO (named pipe)", for messages. */
    public String words() {
        return words;
    }

    /** The kind of {@code path}, following symbolic links; MISSING when it (or a link's target) does not exist. */
    public static FileKind of(Path path) {
        try {
            Object mode = Files.getAttribute(path, "unix:mode");
            return ofMode((Integer) mode);
        } catch (NoSuchFileException e) {
            return MISSING;
        } catch (UnsupportedOperationException | IllegalArgumentException e) {
            return basic(path);
        } catch (IOException e) {
            return Files.exists(path) ? OTHER : MISSING;
        }
    }

    static FileKind ofMode(int mode) {
        return switch (mode & S_IFMT) {
            case S_IFREG -> REGULAR;
            case S_IFDIR -> DIRECTORY;
            case S_IFIFO -> FIFO;
            case S_IFCHR -> CHARACTER_DEVICE;
            case S_IFBLK -> BLOCK_DEVICE;
            case S_IFSOCK -> SOCKET;
            default -> OTHER;
        };
    }

    private static FileKind basic(Path path) {
        if (Files.isRegularFile(path)) {
            return REGULAR;
        }
        if (Files.isDirectory(path)) {
            return DIRECTORY;
        }
        return Files.exists(path, LinkOption.NOFOLLOW_LINKS) ? OTHER : MISSING;
    }

    /** Whether reading it is bounded and cannot wait forever: a regular file or a block device. */
    public boolean readable() {
        return this == REGULAR || this == BLOCK_DEVICE;
    }

    /**
     * Why {@code path} must not be read, or empty: anything but a regular file or a block
     * device is refused (a FIFO would hang, a character device like /dev/zero never ends),
     * a directory with qemu's words. A missing file is left to the open that follows.
     */
    public static java.util.Optional<String> refusalToRead(Path path) {
        FileKind kind = of(path);
        if (kind == DIRECTORY) {
            return java.util.Optional.of("Is a directory");
        }
        if (kind == MISSING || kind.readable()) {
            return java.util.Optional.empty();
        }
        return java.util.Optional.of("'" + path + "' is " + kind.words() + ", not a disk image; DiskPlan reads only "
                + "regular files and block devices");
    }
}
