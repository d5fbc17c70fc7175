package org.diskplan.abi;

import java.util.Optional;

/**
 * Preallocation mode, bits 4–5 of the {@code ResizeConfig} flags (mask {@code 0x30});
 * see {@code docs/abi.md}. Names are qemu-img's {@code --preallocation} values.
 */
public enum Preallocation {
    OFF(0, "off"),
    METADATA(1, "metadata"),
    FALLOC(2, "falloc"),
    FULL(3, "full");

    private final int code;
    private final String qemuName;

    Preallocation(int code, String qemuName) {
        this.code = code;
        this.qemuName = qemuName;
    }

    /** The 2-bit wire code (abi.md). */
    public int code() {
        return code;
    }

    /** The qemu-img option value, e.g. {@code "falloc"}. */
    public String qemuName() {
        return qemuName;
    }

    /** The mode with this exact (case-sensitive) qemu-img name, or empty. */
    public static Optional<Preallocation> fromQemuName(String name) {
        for (Preallocation p : values()) {
            if (p.qemuName.equals(name)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    /** The mode with this wire code, or empty if the code is unknown. */
    public static Optional<Preallocation> fromCode(long code) {
        for (Preallocation p : values()) {
            if (p.code == code) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }
}
