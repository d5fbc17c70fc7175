package org.diskplan.app;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/**
 * The one version of DiskPlan: the Maven project's, without -SNAPSHOT: from the runnable
 * jar's manifest ({@code Implementation-Version}, which the JVM has already read when it
 * started the jar, so {@code --version} opens nothing), else from version.properties
 * (filtered by Maven at build time; the classes folder of a build or a test). The CLI's --version, the
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
        String manifest = Version.class.getPackage().getImplementationVersion();
        if (manifest != null && !manifest.isBlank()) {
            return strip(manifest);
        }
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
