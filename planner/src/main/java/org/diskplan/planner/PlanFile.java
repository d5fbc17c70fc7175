package org.diskplan.planner;

import java.nio.file.Path;
import java.util.Objects;

/**
 * A file a plan touches: the image (always file 0), a descriptor, an extent, a data
 * file, or a file the plan creates.
 *
 * @param path      where it is (relative paths resolve against the working folder, as the image's)
 * @param role      what it is to the image
 * @param oldLength its length when planned; 0 for a file the plan creates
 * @param newLength its length once the plan is applied
 * @param created   the plan creates it (it must not exist; {@code recover} removes it)
 */
public record PlanFile(Path path, Role role, long oldLength, long newLength, boolean created) {
    /** What a file is to the image. */
    public enum Role {
        IMAGE("image"),
        DESCRIPTOR("descriptor"),
        EXTENT("extent"),
        DATA_FILE("data-file");

        private final String jsonName;

        Role(String jsonName) {
            this.jsonName = jsonName;
        }

        public String jsonName() {
            return jsonName;
        }
    }

    public PlanFile {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(role, "role");
        if (oldLength < 0 || newLength < 0 || created && oldLength != 0) {
            throw new IllegalArgumentException("bad lengths for " + path + ": " + oldLength + " -> " + newLength);
        }
    }

    public PlanFile withNewLength(long length) {
        return new PlanFile(path, role, oldLength, length, created);
    }
}
