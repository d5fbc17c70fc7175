package org.diskplan.probe;

import java.nio.ByteBuffer;
import java.util.UUID;

/**
 * GUIDs in Microsoft's mixed-endian layout, as VHDX stores them and VirtualBox stores its
 * RTUUIDs (VDI): the first three fields (4, 2 and 2 bytes) little-endian, the last eight
 * bytes in text order. (VHD stores its GUIDs big-endian, in text order.)
 */
public final class Guids {
    private static final char[] HEX = "0123456789abcdef".toCharArray();
    /** Where each text position's byte is stored; -1 for a dash. */
    private static final int[] TEXT_ORDER = {3, 2, 1, 0, -1, 5, 4, -1, 7, 6, -1, 8, 9, -1, 10, 11, 12, 13, 14, 15};

    private Guids() {
    }

    /** The 16 bytes of {@code id} in the mixed-endian layout. */
    public static byte[] mixedEndian(UUID id) {
        byte[] be = ByteBuffer.allocate(16).putLong(id.getMostSignificantBits())
                .putLong(id.getLeastSignificantBits()).array();
        byte[] out = new byte[16];
        for (int i = 0, t = 0; i < TEXT_ORDER.length; i++) {
            if (TEXT_ORDER[i] >= 0) {
                out[TEXT_ORDER[i]] = be[t++];
            }
        }
        return out;
    }

    /**
     * The text (lower case, with dashes) of the mixed-endian GUID stored at {@code b[at..at+16)};
     * built without {@code String.format}, as the mutation tests probe tens of thousands of images.
     */
    public static String mixedEndianText(byte[] b, int at) {
        StringBuilder sb = new StringBuilder(36);
        for (int i : TEXT_ORDER) {
            if (i < 0) {
                sb.append('-');
            } else {
                int v = b[at + i] & 0xff;
                sb.append(HEX[v >>> 4]).append(HEX[v & 15]);
            }
        }
        return sb.toString();
    }
}
