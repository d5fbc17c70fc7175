package org.diskplan.planner.apply;

import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Platform;
import com.sun.jna.Pointer;
import java.nio.file.Path;
import java.util.OptionalLong;

/**
 * Facts about an image file that the JDK does not expose: the bytes the file
 * system has allocated for it ({@code st_blocks × 512}, qemu's "actual-size").
 */
public final class FileFacts {
    private interface LibC extends Library {
        int stat(String path, Pointer buf);
    }

    /** {@code st_blocks} lies at offset 64 of {@code struct stat} on x86-64 and aarch64 Linux. */
    private static final int ST_BLOCKS_OFFSET = 64;
    private static final int STAT_SIZE = 256;
    private static final LibC LIBC = load();

    private FileFacts() {
    }

    private static LibC load() {
        if (!Platform.isLinux() || !Platform.is64Bit() || !(Platform.isIntel() || Platform.isARM())) {
            return null;
        }
        try {
            return NativeLibc.load(LibC.class);
        } catch (Throwable e) { // no libc through JNA here
            return null;
        }
    }

    /** Allocated bytes of {@code path}, or empty where it cannot be asked. */
    public static OptionalLong allocatedBytes(Path path) {
        if (LIBC == null) {
            return OptionalLong.empty();
        }
        try (Memory buf = new Memory(STAT_SIZE)) {
            buf.clear();
            if (LIBC.stat(path.toString(), buf) != 0) {
                return OptionalLong.empty();
            }
            return OptionalLong.of(buf.getLong(ST_BLOCKS_OFFSET) * 512);
        } catch (Throwable e) {
            return OptionalLong.empty();
        }
    }
}
