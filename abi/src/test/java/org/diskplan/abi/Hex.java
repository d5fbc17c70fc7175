package org.diskplan.abi;

import java.io.ByteArrayOutputStream;

/** Parses hand-written hex dumps ("49 53 45 52 ...", whitespace ignored) for golden vectors. */
final class Hex {
    private Hex() {
    }

    static byte[] bytes(String hex) {
        String digits = hex.replaceAll("\\s+", "");
        if (digits.length() % 2 != 0) {
            throw new IllegalArgumentException("odd number of hex digits");
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < digits.length(); i += 2) {
            out.write(Integer.parseInt(digits.substring(i, i + 2), 16));
        }
        return out.toByteArray();
    }
}
