package org.diskplan.probe;

import java.util.HexFormat;
import java.util.Objects;

/**
 * One parsed field as shown to users: the structure it belongs to, its name, where
 * its bytes are, the raw bytes, the decoded value and a one-line meaning.
 */
public record HeaderField(String group, String name, long offset, int length, byte[] raw, String value,
                          String meaning) {
    public HeaderField {
        Objects.requireNonNull(group, "group");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(value, "value");
        Objects.requireNonNull(meaning, "meaning");
        raw = raw.clone();
    }

    @Override
    public byte[] raw() {
        return raw.clone();
    }

    public String hex() {
        return HexFormat.ofDelimiter(" ").formatHex(raw);
    }
}
