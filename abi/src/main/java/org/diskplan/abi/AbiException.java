package org.diskplan.abi;

import java.util.Objects;

/**
 * A failure carrying one of the {@link ErrorCode}s of {@code docs/abi.md}, e.g. a
 * {@link ResizeConfig} or {@link ResizeResult} that cannot be decoded.
 */
public final class AbiException extends Exception {
    private static final long serialVersionUID = 1L;

    private final ErrorCode code;

    public AbiException(ErrorCode code, String message) {
        super(message);
        this.code = Objects.requireNonNull(code, "code");
    }

    /** The error code. */
    public ErrorCode code() {
        return code;
    }
}
