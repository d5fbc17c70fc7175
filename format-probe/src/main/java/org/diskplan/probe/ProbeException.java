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
    private final transient PartialImage partial;

    public ProbeException(ErrorCode code, String field, long offset, String message) {
        super(message);
        this.code = code;
        this.field = field;
        this.offset = offset;
        this.partial = null;
    }

    private ProbeException(ProbeException e, PartialImage partial) {
        super(e.getMessage(), e.getCause());
        this.code = e.code;
        this.field = e.field;
        this.offset = e.offset;
        this.partial = partial;
        setStackTrace(e.getStackTrace());
    }

    /** This failure, carrying what the probe had parsed before it. */
    public ProbeException withPartial(PartialImage parsed) {
        return new ProbeException(this, java.util.Objects.requireNonNull(parsed, "parsed"));
    }

    /**
     * What the probe had parsed before it failed (format, fields, the bad one marked), for an
     * inspector; empty when the format was not detected. Never a resizable image.
     */
    public java.util.Optional<PartialImage> partial() {
        return java.util.Optional.ofNullable(partial);
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
