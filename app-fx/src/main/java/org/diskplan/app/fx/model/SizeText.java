package org.diskplan.app.fx.model;

import java.util.Locale;
import org.diskplan.app.cli.Sizes;

/** Sizes as the window shows them. */
public final class SizeText {
    private static final String[] SUFFIX = {"E", "P", "T", "G", "M", "K"};
    private static final int[] SHIFT = {60, 50, 40, 30, 20, 10};

    private SizeText() {
    }

    /** The shortest exact form in the CLI's grammar: 21474836480 → "20G", 1536 → "1536". */
    public static String grammar(long bytes) {
        for (int i = 0; i < SHIFT.length; i++) {
            long unit = 1L << SHIFT[i];
            if (bytes != 0 && bytes % unit == 0 && SHIFT[i] >= 20) {
                return (bytes / unit) + SUFFIX[i];
            }
        }
        return Long.toString(bytes);
    }

    /** "10 GiB" (qemu's words, as the CLI prints them). */
    public static String human(long bytes) {
        return Sizes.human(bytes);
    }

    /** "10 GiB (10,737,418,240 bytes)". */
    public static String exact(long bytes) {
        return String.format(Locale.ROOT, "%s (%,d bytes)", Sizes.human(bytes), bytes);
    }

    public static String hex(long offset) {
        return String.format(Locale.ROOT, "0x%x", offset);
    }
}
