package org.diskplan.app;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/**
 * The one version of DiskPlan: the Maven project's, without -SNAPSHOT, read from
 * version.properties (filtered by Maven at build time). The CLI's --version, the
 * window's About dialog and the package (packaging/build-deb.sh strips the same suffix) agree.
 */
public final class Version {
    private static final String VALUE = load();

    private Version() {
    }

    /** For example "0.1.0". */
    public static String number() {
        return VALUE;
    }

    /** "diskplan 0.1.0", as {@code diskplan --version} prints it. */
    public static String line() {
        return "diskplan " + VALUE;
    }

    private static String load() {
        try (InputStream in = Version.class.getResourceAsStream("version.properties")) {
            if (in == null) {
                return "unknown";
            }
            Properties p = new Properties();
            p.load(in);
            return strip(p.getProperty("version", "unknown"));
        } catch (IOException e) {
            return "unknown";
        }
    }

    static String strip(String raw) {
        String v = raw.strip();
        return v.endsWith("-SNAPSHOT") ? v.substring(0, v.length() - "-SNAPSHOT".length()) : v;
    }
}
