package org.diskplan.probe.vmdk;

import java.util.Optional;

/**
 * How qemu reads a descriptor's CID and parentCID when it opens a VMDK (vmdk_read_cid):
 * the first occurrence of the name in the text up to its first NUL (at most 10,239
 * bytes), one character after it (the '='), then a hexadecimal number as sscanf's
 * {@code %x} reads it. A descriptor where either cannot be read makes qemu refuse the image
 * ("Invalid argument").
 */
public final class VmdkCids {
    /** qemu's DESC_SIZE less the NUL it puts at the end. */
    static final int DESC_READ = 20 * 512 - 1;

    private VmdkCids() {
    }

    /** Why qemu cannot read the CIDs of {@code text}, or empty when it can. */
    public static Optional<String> qemuProblem(String text) {
        int nul = text.indexOf('\0');
        String desc = text.substring(0, Math.min(nul < 0 ? text.length() : nul, Math.min(text.length(), DESC_READ)));
        for (String name : new String[] {"CID", "parentCID"}) {
            int at = desc.indexOf(name);
            if (at < 0) {
                return Optional.of("no " + name + " in the descriptor");
            }
            if (!hexFollows(desc, at + name.length() + 1)) {
                return Optional.of("the " + name + " at descriptor byte " + at + " is not followed by a"
                        + " hexadecimal number");
            }
        }
        return Optional.empty();
    }

    /** Whether sscanf("%x") reads a number at {@code i}: blanks, a sign, an optional 0x, a hex digit. */
    static boolean hexFollows(String s, int i) {
        while (i < s.length() && " \t\n\r\f\u000b".indexOf(s.charAt(i)) >= 0) {
            i++;
        }
        if (i < s.length() && (s.charAt(i) == '+' || s.charAt(i) == '-')) {
            i++;
        }
        if (i + 1 < s.length() && s.charAt(i) == '0' && (s.charAt(i + 1) == 'x' || s.charAt(i + 1) == 'X')) {
            return true; // "0x" reads as 0 at least
        }
        return i < s.length() && Character.digit(s.charAt(i), 16) >= 0 && s.charAt(i) < 128;
    }
}
