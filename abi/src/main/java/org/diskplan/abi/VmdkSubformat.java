package org.diskplan.abi;

import java.util.Optional;

/**
 * VMDK create type, the u8 {@code vmdk_subformat} of {@code ResizeConfig} (offset 37);
 * see {@code docs/abi.md}.
 */
public enum VmdkSubformat {
    MONOLITHIC_SPARSE(0, "monolithicSparse"),
    STREAM_OPTIMIZED(1, "streamOptimized"),
    MONOLITHIC_FLAT(2, "monolithicFlat"),
    TWO_GB_MAX_EXTENT_SPARSE(3, "twoGbMaxExtentSparse"),
    TWO_GB_MAX_EXTENT_FLAT(4, "twoGbMaxExtentFlat");

    private final int code;
    private final String createType;

    VmdkSubformat(int code, String createType) {
        this.code = code;
        this.createType = createType;
    }

    /** The wire code (abi.md). */
    public int code() {
        return code;
    }

    /** The {@code createType} value of the VMDK descriptor. */
    public String createType() {
        return createType;
    }

    /** The subformat with this wire code, or empty if the code is unknown. */
    public static Optional<VmdkSubformat> fromCode(long code) {
        for (VmdkSubformat s : values()) {
            if (s.code == code) {
                return Optional.of(s);
            }
        }
        return Optional.empty();
    }

    /** The subformat with this exact (case-sensitive) descriptor create type, or empty. */
    public static Optional<VmdkSubformat> fromCreateType(String createType) {
        for (VmdkSubformat s : values()) {
            if (s.createType.equals(createType)) {
                return Optional.of(s);
            }
        }
        return Optional.empty();
    }
}
