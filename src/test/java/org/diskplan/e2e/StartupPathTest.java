package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * What the quick command paths load (issue 20, start-up): {@code info}, {@code plan} and
 * {@code resize -q} of a qcow2 and of a raw image, run as {@code java -jar diskplan.jar}
 * with {@code -Xlog:class+load}, must
 * <ul>
 * <li>read no jar but diskplan.jar: the libraries beside it (lib/: JavaFX, Jackson,
 * picocli, JNA) are named in its manifest's Class-Path and opened only when a class of
 * theirs is needed, and opening a jar reads its whole central directory;</li>
 * <li>link no lambda, method reference or JDK API that makes one ({@code $$Lambda} and
 * spun {@code LambdaForm} classes): the first costs about 8 ms of java.lang.invoke set-up
 * and every further one 0.3-0.5 ms in the cold interpreter, even from a class-data
 * archive — bench/startup.sh's figures.</li>
 * </ul>
 * A new lambda on one of these paths fails here with the class that made it. One exception:
 * {@code info} starts coreutils' {@code stat} for its "disk size" on a thread of its own
 * beside the probe ({@code DiskUsage}), and the JDK's process classes link lambdas there;
 * those (and the method-handle forms they spin) are not on the command's own thread.
 */
@RequiresOracle({"qemu-img", "qemu-io"})
class StartupPathTest {
    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({
            "qcow2, info", "qcow2, plan", "qcow2, resize",
            "raw, info", "raw, plan", "raw, resize"})
    void aQuickCommandLoadsOnlyDiskplanJarAndLinksNoLambda(String format, String command) throws Exception {
        Path image = dir.resolve("s." + format);
        assertThat(Qemu.img(dir, List.of("create", "-q", "-f", format, image.getFileName().toString(), "64M"))
                .exitCode()).isZero();
        ProcessRunner.Result io = ProcessRunner.of(Oracles.require("qemu-io").toString(), "-f", format,
                "-c", "write -P 1 0 1M", "-c", "write -P 2 40M 1M", image.getFileName().toString()).in(dir).run();
        assertThat(io.exitCode()).as(io.describe()).isZero();
        List<String> args = new ArrayList<>(List.of(command));
        if (command.equals("resize")) {
            args.add("-q");
        }
        args.addAll(List.of("-f", format, image.getFileName().toString()));
        if (!command.equals("info")) {
            args.add("+1M");
        }
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto", "-Xlog:class+load:file="
                        + dir.resolve("classes.log"), "-jar", Diskplan.jar().toString()));
        cmd.addAll(args);
        ProcessRunner.Result r = ProcessRunner.of(cmd).in(dir).withoutEnv(Diskplan.CRASH_ENV).run();
        assertThat(r.exitCode()).as(r.describe()).isZero();

        List<String> log = Files.readAllLines(dir.resolve("classes.log"));
        assertThat(log).as("the class-load log").anyMatch(l -> l.contains(" org.diskplan.app.Main "));
        String ours = "file:" + Diskplan.jar();
        Map<String, List<String>> otherJars = new TreeMap<>();
        Map<String, Integer> lambdas = new TreeMap<>();
        for (String line : log) {
            int source = line.indexOf(" source: ");
            if (source < 0) {
                continue;
            }
            String name = line.substring(line.indexOf("] ", line.indexOf("class,load")) + 2, source);
            String from = line.substring(source + " source: ".length());
            if (from.startsWith("file:") && !from.equals(ours)) {
                otherJars.computeIfAbsent(from, k -> new ArrayList<>()).add(name);
            }
            int spun = name.indexOf("$$Lambda$");
            boolean beside = command.equals("info") && (name.startsWith("java.lang.ProcessImpl")
                    || name.startsWith("java.lang.ProcessHandleImpl") || name.startsWith("java.lang.invoke.LambdaForm$"));
            if (beside) {
                continue;
            }
            if (spun >= 0) {
                lambdas.merge(name.substring(0, spun), 1, Integer::sum);
            } else if (from.equals("__JVM_LookupDefineClass__") || name.startsWith("java.lang.invoke.LambdaForm$")
                    && !from.startsWith("shared objects file") && !from.startsWith("jrt:/")) {
                lambdas.merge("(java.lang.invoke, spun at run time) " + name.replaceAll("/0x.*", ""), 1, Integer::sum);
            }
        }
        assertThat(otherJars).as("classes loaded from a jar other than diskplan.jar").isEmpty();
        assertThat(lambdas).as("lambdas linked, by the class that made them (a JDK class: one of its APIs"
                + " that uses lambdas was called)").isEmpty();
    }
}
