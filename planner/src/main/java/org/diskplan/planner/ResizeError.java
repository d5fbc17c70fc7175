package org.diskplan.planner;

import java.util.List;
import org.diskplan.abi.ErrorCode;

/**
 * A refused or failed resize: an abi error code and a message a user can act on,
 * plus any warnings that belong with it (qemu prints a warning after some errors).
 */
public final class ResizeError extends Exception {
    private static final long serialVersionUID = 1L;

    private final ErrorCode code;
    private final transient List<String> warnings;

    public ResizeError(ErrorCode code, String message) {
        this(code, message, List.of());
    }

    public ResizeError(ErrorCode code, String message, List<String> warnings) {
        super(message);
        this.code = code;
        this.warnings = List.copyOf(warnings);
    }

    public ErrorCode code() {
        return code;
    }

    /** Warnings to print after the message. */
    public List<String> warnings() {
        return warnings;
    }
}
