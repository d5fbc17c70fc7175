package org.diskplan.planner.apply;

import com.sun.jna.Library;
import java.io.FileDescriptor;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.reflect.Field;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.OptionalInt;

/**
 * posix_fallocate and sync_file_range through JNA (the JDK has neither). Used on the file
 * descriptor the applier already holds: opening a second descriptor and closing
 * it would drop the process's POSIX lock on the image. Reaching that descriptor
 * is done in Linux's {@code /proc/self/fd}, by the file's device and inode (DiskPlan's
 * jars open no JDK package: a manifest Add-Opens costs every start about a tenth of a
 * small command's time, and {@code --add-opens} switches off the archived module
 * graph); elsewhere through the private {@code FileDescriptor.fd} where the JVM was
 * started with {@code --add-opens java.base/java.io=ALL-UNNAMED}. Where neither works,
 * or without libc, callers fall back to writing zeros.
 */
final class Fallocate {
    private interface LibC extends Library {
        int posix_fallocate(int fd, long offset, long len);

        int sync_file_range(int fd, long offset, long nbytes, int flags);
    }

    /** sync_file_range: start writing back the dirty pages of the range, do not wait. */
    private static final int SYNC_FILE_RANGE_WRITE = 2;

    private static final LibC LIBC = load();
    private static final Field FD_FIELD = fdField();

    private Fallocate() {
    }

    private static LibC load() {
        try {
            return NativeLibc.load(LibC.class);
        } catch (Throwable e) { // UnsatisfiedLinkError, no JNA native for this platform
            return null;
        }
    }

    private static Field fdField() {
        try {
            Field f = FileDescriptor.class.getDeclaredField("fd");
            f.setAccessible(true);
            return f;
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }

    /**
     * Reserves {@code [offset, offset + length)}; returns false when it cannot
     * (no libc, no descriptor, or the call failed), so the caller writes zeros.
     */
    static boolean reserve(RandomAccessFile file, Path path, long offset, long length) {
        return reserve(descriptor(file, path), offset, length);
    }

    static boolean reserve(OptionalInt fd, long offset, long length) {
        if (LIBC == null || fd.isEmpty()) {
            return false;
        }
        return LIBC.posix_fallocate(fd.getAsInt(), offset, length) == 0;
    }

    /**
     * Starts the write-back of {@code [offset, offset + length)} without waiting for it
     * (Linux sync_file_range), so that the device writes a long zero fill while the rest is
     * still being copied, and the barrier's fdatasync finds little left to do. Does nothing
     * where that is not available; durability still comes from the fdatasync.
     */
    static void startWriteBack(RandomAccessFile file, Path path, long offset, long length) {
        OptionalInt fd = descriptor(file, path);
        if (LIBC == null || fd.isEmpty()) {
            return;
        }
        try {
            LIBC.sync_file_range(fd.getAsInt(), offset, length, SYNC_FILE_RANGE_WRITE);
        } catch (UnsatisfiedLinkError e) {
            // not Linux: the fdatasync at the barrier does it all
        }
    }

    private static OptionalInt descriptor(RandomAccessFile file, Path path) {
        OptionalInt fd = heldDescriptor(path);
        return fd.isPresent() ? fd : descriptor(file);
    }

    /**
     * A descriptor this process already holds open for writing on the file at {@code path}:
     * the entry of {@code /proc/self/fd} whose file has the same device and inode, with
     * write access in {@code /proc/self/fdinfo} (nothing is opened on the file itself, so no
     * lock is dropped). Empty where there is none or no /proc.
     */
    static OptionalInt heldDescriptor(Path path) {
        try {
            Object key = Files.readAttributes(path, BasicFileAttributes.class).fileKey();
            if (key == null) {
                return OptionalInt.empty();
            }
            try (DirectoryStream<Path> fds = Files.newDirectoryStream(Path.of("/proc/self/fd"))) {
                for (Path link : fds) {
                    int fd = Integer.parseInt(link.getFileName().toString());
                    BasicFileAttributes a;
                    try {
                        a = Files.readAttributes(link, BasicFileAttributes.class); // follows it: the open file
                    } catch (IOException e) {
                        continue; // closed since the listing (the listing's own descriptor, say)
                    }
                    if (key.equals(a.fileKey()) && openForWriting(fd)) {
                        return OptionalInt.of(fd);
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            // no /proc (not Linux) or an entry that is no number: zeros are written instead
        }
        return OptionalInt.empty();
    }

    /** O_WRONLY or O_RDWR in the octal "flags:" line of /proc/self/fdinfo/FD. */
    private static boolean openForWriting(int fd) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/fdinfo/" + fd))) {
            if (line.startsWith("flags:")) {
                return (Integer.parseInt(line.substring("flags:".length()).trim(), 8) & 3) != 0;
            }
        }
        return false;
    }

    private static OptionalInt descriptor(RandomAccessFile file) {
        if (FD_FIELD == null) {
            return OptionalInt.empty();
        }
        try {
            int fd = FD_FIELD.getInt(file.getFD());
            return fd >= 0 ? OptionalInt.of(fd) : OptionalInt.empty();
        } catch (ReflectiveOperationException | java.io.IOException e) {
            return OptionalInt.empty();
        }
    }
}
