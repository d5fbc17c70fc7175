package org.diskplan.planner.apply;

import com.sun.jna.Library;
import com.sun.jna.Native;
import java.io.FileDescriptor;
import java.io.RandomAccessFile;
import java.lang.reflect.Field;
import java.util.OptionalInt;

/**
 * posix_fallocate through JNA (the JDK has no fallocate). Used on the file
 * descriptor the applier already holds: opening a second descriptor and closing
 * it would drop the process's POSIX lock on the image. Reaching that descriptor
 * needs {@code --add-opens java.base/java.io=ALL-UNNAMED} (the jar's manifest
 * grants it); without it, or without libc, callers fall back to writing zeros.
 */
final class Fallocate {
    private interface LibC extends Library {
        int posix_fallocate(int fd, long offset, long len);
    }

    private static final LibC LIBC = load();
    private static final Field FD_FIELD = fdField();

    private Fallocate() {
    }

    private static LibC load() {
        try {
            return Native.load("c", LibC.class);
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
    static boolean reserve(RandomAccessFile file, long offset, long length) {
        OptionalInt fd = descriptor(file);
        if (LIBC == null || fd.isEmpty()) {
            return false;
        }
        return LIBC.posix_fallocate(fd.getAsInt(), offset, length) == 0;
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
