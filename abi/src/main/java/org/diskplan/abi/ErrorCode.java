package org.diskplan.abi;

import java.util.Optional;

/**
 * Resize error codes, the u32 {@code error} field of {@code ResizeResult}; table "Error codes"
 * of {@code docs/abi.md}. Append only, never renumber.
 */
public enum ErrorCode {
    OK(0, ""),
    INVALID_OPTION(1, "bad flag combination or malformed config"),
    INVALID_NEW_SIZE(2, "zero, misaligned for the format, above the format's maximum, or overflow"),
    SHRINK_WITHOUT_FLAG(3, "smaller size asked without `--shrink`"),
    SHRINK_BELOW_ALLOCATED(4, "the format cannot discard allocated data past the new end"),
    UNSUPPORTED_FORMAT(5, "format recognised but not resizable"),
    UNSUPPORTED_SUBFORMAT(6, "e.g. differencing VHD, an unsupported VMDK create type"),
    UNSUPPORTED_SHRINK(7, "format cannot shrink"),
    PREALLOCATION_UNSUPPORTED(8, "mode not available for this format or direction"),
    SCRATCH_TOO_SMALL(9,
            "kept for compatibility; DiskPlan uses it when a plan exceeds a safety bound"),
    READ_FAILED(10, "I/O error reading"),
    WRITE_FAILED(11, "I/O error writing"),
    PARSE_FAILED(12, "header or table cannot be parsed"),
    HEADER_MISMATCH(13, "metadata inconsistent, or the file changed since it was probed"),
    BITMAPS_UNSUPPORTED(14, "persistent bitmaps present and not handled"),
    IMAGE_LOCKED(15, "another process holds the image lock"),
    NEEDS_REPAIR(16,
            "dirty/corrupt flag or dirty VHDX log that must be repaired/replayed first"),
    INTERRUPTED_RESIZE(17,
            "an undo journal from an interrupted resize exists; recover first");

    private final int code;
    private final String meaning;

    ErrorCode(int code, String meaning) {
        this.code = code;
        this.meaning = meaning;
    }

    /** The wire code (abi.md). */
    public int code() {
        return code;
    }

    /** The "meaning" column of abi.md; empty for {@link #OK}. */
    public String meaning() {
        return meaning;
    }

    /** The error with this wire code, or empty if the code is unknown. */
    public static Optional<ErrorCode> fromCode(long code) {
        for (ErrorCode e : values()) {
            if (e.code == code) {
                return Optional.of(e);
            }
        }
        return Optional.empty();
    }
}
