package org.diskplan.probe;

import org.diskplan.abi.ErrorCode;

/**
 * A typed probe failure: which structure field, at which byte offset, and why.
 * The message is meant for a user; no stack trace is ever shown.
 */
public final class ProbeException extends Exception {
    private static final long serialVersionUID = 1L;

    private final ErrorCode code;
    private final String field;
    private final long offset;

    public ProbeException(ErrorCode code, String field, long offset, String message) {
        super(message);
        this.code = code;
        this.field = field;
        this.offset = offset;
    }

    /** A failure not tied to a field (I/O, missing file). */
    public static ProbeException io(String message) {
        return new ProbeException(ErrorCode.READ_FAILED, "", -1, message);
    }

    public ErrorCode code() {
        return code;
    }

    /** Field name, empty when the failure is not about one field. */
    public String field() {
        return field;
    }

    /** Byte offset of the field, -1 when not applicable. */
    public long offset() {
        return offset;
    }
}
