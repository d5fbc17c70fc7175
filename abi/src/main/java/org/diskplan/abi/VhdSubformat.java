package org.diskplan.abi;

import java.util.Optional;

/**
 * VHD subformat, the u8 {@code vhd_subformat} of {@code ResizeConfig} (offset 38);
 * see {@code docs/abi.md}.
 */
public enum VhdSubformat {
    DYNAMIC(0, "dynamic"),
    FIXED(1, "fixed");

    private final int code;
    private final String qemuName;

    VhdSubformat(int code, String qemuName) {
        this.code = code;
        this.qemuName = qemuName;
    }

    /** The wire code (abi.md). */
    public int code() {
        return code;
    }

    /** The qemu-img {@code subformat} option value. */
    public String qemuName() {
        return qemuName;
    }

    /** The subformat with this wire code, or empty if the code is unknown. */
    public static Optional<VhdSubformat> fromCode(long code) {
        for (VhdSubformat s : values()) {
            if (s.code == code) {
                return Optional.of(s);
            }
        }
        return Optional.empty();
    }
}
