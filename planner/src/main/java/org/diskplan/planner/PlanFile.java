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
 * @param removed   the plan removes it (an extent wholly past a shrink's new end): at the
 *                  final step, after every patch, the applier renames it to
 *                  {@link #removedName} beside it and deletes it only once the resize is
 *                  complete; {@code recover} renames it back byte-identical when it rolls
 *                  back, and deletes it when it rolls forward. {@code newLength} is then
 *                  its old length (nothing cuts it).
 */
public record PlanFile(Path path, Role role, long oldLength, long newLength, boolean created, boolean removed) {
    /** What the name of a file the plan removes gets while the resize is not complete. */
    public static final String REMOVED_SUFFIX = ".diskplan-removed";

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
        if (removed && (created || role == Role.IMAGE || newLength != oldLength)) {
            throw new IllegalArgumentException("a plan removes only another existing file, uncut: " + path);
        }
    }

    /** A file the plan keeps. */
    public PlanFile(Path path, Role role, long oldLength, long newLength, boolean created) {
        this(path, role, oldLength, newLength, created, false);
    }

    public PlanFile withNewLength(long length) {
        return new PlanFile(path, role, oldLength, length, created, removed);
    }

    /** This file, removed by the plan (its new length is its old one). */
    public PlanFile asRemoved() {
        return new PlanFile(path, role, oldLength, oldLength, created, true);
    }

    /** Where a file the plan removes lies between the final step and the end of the resize. */
    public static Path removedName(Path file) {
        return file.resolveSibling(file.getFileName() + REMOVED_SUFFIX);
    }
}
