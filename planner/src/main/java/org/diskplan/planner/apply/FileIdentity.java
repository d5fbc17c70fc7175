package org.diskplan.planner.apply;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Which file a name really is: its real path (every symbolic link resolved) and its
 * device and inode numbers, so a journal can be tied to its image whatever name — a
 * symbolic link, a hard link, a relative path — the user gives.
 *
 * @param realPath the path with every symbolic link resolved
 * @param device   {@code st_dev}, 0 where the platform does not say
 * @param inode    {@code st_ino}, 0 where the platform does not say
 */
public record FileIdentity(Path realPath, long device, long inode) {

    /** The identity of the file {@code path} names (following symbolic links). */
    public static FileIdentity of(Path path) throws IOException {
        Path real = path.toRealPath();
        try {
            Map<String, Object> a = Files.readAttributes(real, "unix:dev,ino");
            return new FileIdentity(real, ((Number) a.get("dev")).longValue(), ((Number) a.get("ino")).longValue());
        } catch (UnsupportedOperationException | IllegalArgumentException e) {
            return new FileIdentity(real, 0, 0);
        }
    }

    /** Whether device and inode are known (both 0 means the platform could not say). */
    public boolean known() {
        return device != 0 || inode != 0;
    }

    /** Whether {@code other} names the same file (same device and inode when known, else the same real path). */
    public boolean sameFile(FileIdentity other) {
        if (known() && other.known()) {
            return device == other.device && inode == other.inode;
        }
        return realPath.equals(other.realPath);
    }
}
