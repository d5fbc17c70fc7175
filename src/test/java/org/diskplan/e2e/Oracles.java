package org.diskplan.e2e;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.platform.commons.support.AnnotationSupport;

/**
 * Reference tools ("oracles") the end-to-end suites compare DiskPlan with, and the
 * JUnit condition behind {@link RequiresOracle}.
 */
public final class Oracles {

    /** System property that makes a missing oracle a failure instead of a skip. */
    public static final String REQUIRED_PROPERTY = "diskplan.oracles.required";

    private static final Map<String, Optional<Path>> CACHE = new ConcurrentHashMap<>();

    /** Debian package that ships each tool, for the hint in the skip/failure reason. */
    private static final Map<String, String> PACKAGES = Map.of(
            "qemu-img", "qemu-utils",
            "qemu-io", "qemu-utils",
            "qemu-nbd", "qemu-utils",
            "vhdiinfo", "libvhdi-utils",
            "vmdkinfo", "libvmdk-utils",
            "qcowinfo", "libqcow-utils",
            "xvfb-run", "xvfb",
            "xwininfo", "x11-utils",
            "xprop", "x11-utils");

    private Oracles() {
    }

    /** The executable {@code tool} as found on {@code PATH}, if any. */
    public static Optional<Path> find(String tool) {
        return CACHE.computeIfAbsent(tool, Oracles::lookUp);
    }

    /** The executable {@code tool}; throws if it is not on {@code PATH}. */
    public static Path require(String tool) {
        return find(tool).orElseThrow(() -> new IllegalStateException(missingMessage(tool)));
    }

    private static Optional<Path> lookUp(String tool) {
        String path = System.getenv("PATH");
        if (path == null || path.isEmpty()) {
            return Optional.empty();
        }
        for (String dir : path.split(File.pathSeparator)) {
            if (dir.isEmpty()) {
                continue;
            }
            Path candidate = Path.of(dir, tool);
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    /**
     * True when a missing oracle must fail the build: environment variable {@code CI=true}
     * or system property {@code diskplan.oracles.required=true}.
     */
    public static boolean required() {
        String ci = System.getenv("CI");
        return (ci != null && ci.trim().toLowerCase(Locale.ROOT).equals("true"))
                || Boolean.parseBoolean(System.getProperty(REQUIRED_PROPERTY, "false"));
    }

    static String packageFor(String tool) {
        return PACKAGES.getOrDefault(tool, "the package that provides " + tool);
    }

    static String missingMessage(String tool) {
        return tool + " not found: oracle suite skipped; install " + packageFor(tool);
    }

    /** Names of the tools in {@code tools} that are not on {@code PATH}, in order. */
    static List<String> missing(String... tools) {
        List<String> out = new ArrayList<>();
        for (String t : tools) {
            if (find(t).isEmpty()) {
                out.add(t);
            }
        }
        return out;
    }

    /**
     * Disables (developer machine) or fails (CI) a test whose oracles are missing.
     * A failure is raised by throwing from the condition, which JUnit reports as a
     * failed test or container, never as a skip.
     */
    public static final class Condition implements ExecutionCondition {

        @Override
        public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
            Optional<RequiresOracle> annotation = context.getElement()
                    .flatMap(e -> AnnotationSupport.findAnnotation(e, RequiresOracle.class));
            if (annotation.isEmpty()) {
                return ConditionEvaluationResult.enabled("no oracle needed");
            }
            List<String> missing = missing(annotation.get().value());
            if (missing.isEmpty()) {
                return ConditionEvaluationResult.enabled("oracles present: "
                        + String.join(", ", annotation.get().value()));
            }
            String tools = String.join(", ", missing);
            String packages = String.join(" ", missing.stream().map(Oracles::packageFor).distinct().toList());
            if (required()) {
                throw new ExtensionConfigurationException(tools + " not found: oracle suite required "
                        + "(CI=true or -D" + REQUIRED_PROPERTY + "=true) and cannot run; install " + packages);
            }
            String reason = tools + " not found: oracle suite skipped; install " + packages;
            return ConditionEvaluationResult.disabled(reason);
        }
    }
}
