package org.diskplan.planner;

import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.diskplan.abi.ErrorCode;

/**
 * A refused or failed resize: an abi error code and a message a user can act on,
 * plus any warnings that belong with it (qemu prints a warning after some errors),
 * and where the planner set one, what kind of refusal it is and the field it names
 * ({@link #location()}), so that a caller never has to read them out of the message.
 */
public final class ResizeError extends Exception {
    private static final long serialVersionUID = 1L;

    /** What a refusal says about the image. */
    public enum Kind {
        /** The image's structures are damaged (what the probe flags as corrupt): it is shown, never resized. */
        CORRUPT,
        /** The image is sound but in a state to repair first (dirty, a stale count, a log without room). */
        NEEDS_REPAIR,
        /** A sound image of a kind DiskPlan does not resize (a subformat, a feature, a child disk). */
        UNSUPPORTED,
        /** This request is refused (the new size, the room it needs), not the image. */
        REFUSED
    }

    /**
     * The kind of a refusal and the field it names: {@code field} empty and {@code offset} -1
     * when it names none.
     *
     * @param offset the field's byte offset in the file, as the message says it
     */
    public record Location(Kind kind, String field, long offset) {
        public Location {
            Objects.requireNonNull(kind, "kind");
            Objects.requireNonNull(field, "field");
            if (field.isEmpty() != (offset < 0)) {
                throw new IllegalArgumentException("a field needs an offset and an offset a field: " + field + " "
                        + offset);
            }
        }

        /** A refusal of this kind that names no field. */
        public static Location of(Kind kind) {
            return new Location(kind, "", -1);
        }

        /** Whether it names a field (and its offset). */
        public boolean namesField() {
            return !field.isEmpty();
        }
    }

    private final ErrorCode code;
    private final transient List<String> warnings;
    private final transient Location location;

    public ResizeError(ErrorCode code, String message) {
        this(code, message, List.of());
    }

    public ResizeError(ErrorCode code, String message, List<String> warnings) {
        this(code, message, warnings, null);
    }

    public ResizeError(ErrorCode code, String message, Location location) {
        this(code, message, List.of(), location);
    }

    public ResizeError(ErrorCode code, String message, List<String> warnings, Location location) {
        super(message);
        this.code = code;
        this.warnings = List.copyOf(warnings);
        this.location = location;
    }

    /**
     * A refusal naming a field: its message is {@code "<what> field <field> at offset <offset><rest>"}
     * ("VHD footer field disk_type at offset 60: unknown disk type 7"), its location the same
     * field and offset.
     */
    public static ResizeError atField(ErrorCode code, Kind kind, String what, String field, long offset,
                                      String rest) {
        return new ResizeError(code, what + " field " + field + " at offset " + offset + rest,
                new Location(kind, field, offset));
    }

    public ErrorCode code() {
        return code;
    }

    /** Warnings to print after the message. */
    public List<String> warnings() {
        return warnings;
    }

    /** The kind of refusal and the field it names, where the planner that made it said. */
    public Optional<Location> location() {
        return Optional.ofNullable(location);
    }
}
