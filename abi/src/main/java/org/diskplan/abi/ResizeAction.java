package org.diskplan.abi;

import java.util.Optional;

/**
 * What a resize did, the u32 {@code action} of {@code ResizeResult} (offset 32);
 * see {@code docs/abi.md}.
 */
public enum ResizeAction {
    NOOP(0, "noop"),
    GROW(1, "grow"),
    SHRINK(2, "shrink");

    private final int code;
    private final String jsonName;

    ResizeAction(int code, String jsonName) {
        this.code = code;
        this.jsonName = jsonName;
    }

    /** The wire code (abi.md). */
    public int code() {
        return code;
    }

    /** The name used in JSON output. */
    public String jsonName() {
        return jsonName;
    }

    /** The action with this wire code, or empty if the code is unknown. */
    public static Optional<ResizeAction> fromCode(long code) {
        for (ResizeAction a : values()) {
            if (a.code == code) {
                return Optional.of(a);
            }
        }
        return Optional.empty();
    }
}
