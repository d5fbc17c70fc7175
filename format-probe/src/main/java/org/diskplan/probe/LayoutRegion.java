package org.diskplan.probe;

import java.util.Objects;

/** A stretch of the file: {@code [offset, offset + length)}. */
public record LayoutRegion(RegionKind kind, long offset, long length, String label) {
    public LayoutRegion {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(label, "label");
        if (offset < 0 || length < 0) {
            throw new IllegalArgumentException("negative region " + offset + "+" + length);
        }
    }

    public long end() {
        return offset + length;
    }
}
