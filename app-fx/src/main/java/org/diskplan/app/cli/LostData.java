package org.diskplan.app.cli;

import java.util.Locale;
import org.diskplan.probe.GuestAllocation;

/** The one line the window's shrink warning and {@code diskplan plan --shrink} print about the data cut off. */
public final class LostData {
    private LostData() {
    }

    /** How much allocated data lies past the new end, or that the format does not say. */
    public static String sentence(GuestAllocation a) {
        if (a instanceof GuestAllocation.Known k) {
            if (k.bytes() == 0) {
                return "No allocated data lies past the new end: the image maps no data there.";
            }
            return Sizes.human(k.bytes()) + " of data lies past the new end (at " + Sizes.human(k.first())
                    + " \u2026 " + Sizes.human(k.end()) + ", bytes " + grouped(k.first()) + " to "
                    + grouped(k.end() - 1) + ") and will be lost.";
        }
        return "DiskPlan cannot tell which of these bytes hold data, so all "
                + Sizes.human(a.to() - a.from()) + " count as lost.";
    }

    private static String grouped(long n) {
        return String.format(Locale.ROOT, "%,d", n);
    }
}
