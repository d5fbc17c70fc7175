package org.diskplan.e2e;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs a command as a subprocess and captures its stdout, stderr and exit status.
 * Standard input is empty ({@code /dev/null}); both output streams are drained on
 * their own threads so a chatty process never blocks; a process still running at
 * the timeout is killed (with its descendants) and the run fails with what it had
 * printed so far.
 */
public final class ProcessRunner {

    /** Default time limit for one command. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);

    private final List<String> command = new ArrayList<>();
    private Path directory;
    private final Map<String, String> setEnv = new LinkedHashMap<>();
    private final List<String> removeEnv = new ArrayList<>();
    private Duration timeout = DEFAULT_TIMEOUT;

    private ProcessRunner(List<String> command) {
        this.command.addAll(command);
    }

    public static ProcessRunner of(List<String> command) {
        return new ProcessRunner(command);
    }

    public static ProcessRunner of(String... command) {
        return new ProcessRunner(List.of(command));
    }

    /** Working directory of the subprocess. */
    public ProcessRunner in(Path dir) {
        this.directory = dir;
        return this;
    }

    public ProcessRunner env(String name, String value) {
        setEnv.put(name, value);
        removeEnv.remove(name);
        return this;
    }

    public ProcessRunner withoutEnv(String name) {
        setEnv.remove(name);
        removeEnv.add(name);
        return this;
    }

    public ProcessRunner timeout(Duration t) {
        this.timeout = t;
        return this;
    }

    /** Starts the process without waiting (for servers such as qemu-nbd); stdout/stderr go to files. */
    public Process startInBackground(Path stdoutFile, Path stderrFile) {
        ProcessBuilder pb = builder();
        pb.redirectOutput(stdoutFile.toFile());
        pb.redirectError(stderrFile.toFile());
        try {
            return pb.start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + command, e);
        }
    }

    private ProcessBuilder builder() {
        ProcessBuilder pb = new ProcessBuilder(command);
        if (directory != null) {
            pb.directory(directory.toFile());
        }
        Map<String, String> env = pb.environment();
        removeEnv.forEach(env::remove);
        env.putAll(setEnv);
        pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        return pb;
    }

    /** Runs to completion (or timeout) and returns what happened. */
    public Result run() {
        long start = System.nanoTime();
        Process p;
        try {
            p = builder().start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + command, e);
        }
        CompletableFuture<byte[]> out = drain(p.getInputStream());
        CompletableFuture<byte[]> err = drain(p.getErrorStream());
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
                String so = text(out, 2);
                String se = text(err, 2);
                throw new AssertionError("timed out after " + timeout.toSeconds() + " s: "
                        + String.join(" ", command) + "\n--- stdout ---\n" + so + "\n--- stderr ---\n" + se);
            }
            byte[] so = out.get(30, TimeUnit.SECONDS);
            byte[] se = err.get(30, TimeUnit.SECONDS);
            return new Result(List.copyOf(command), directory, p.exitValue(),
                    new String(so, StandardCharsets.UTF_8), new String(se, StandardCharsets.UTF_8),
                    Duration.ofNanos(System.nanoTime() - start));
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while running " + command, e);
        } catch (ExecutionException | TimeoutException e) {
            p.destroyForcibly();
            throw new AssertionError("cannot read the output of " + command, e);
        }
    }

    private static String text(CompletableFuture<byte[]> f, int seconds) {
        try {
            return new String(f.get(seconds, TimeUnit.SECONDS), StandardCharsets.UTF_8);
        } catch (Exception e) {
            return "<unavailable: " + e + ">";
        }
    }

    private static CompletableFuture<byte[]> drain(InputStream in) {
        CompletableFuture<byte[]> f = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try (in) {
                f.complete(in.readAllBytes());
            } catch (IOException e) {
                f.completeExceptionally(e);
            }
        }, "drain");
        t.setDaemon(true);
        t.start();
        return f;
    }

    /** What one run produced. */
    public record Result(List<String> command, Path directory, int exitCode, String stdout, String stderr,
                         Duration elapsed) {

        /** A readable account for assertion messages. */
        public String describe() {
            return "$ " + String.join(" ", command) + (directory == null ? "" : "   (in " + directory + ")")
                    + "\nexit " + exitCode + " after " + elapsed.toMillis() + " ms"
                    + "\n--- stdout ---\n" + stdout + "--- stderr ---\n" + stderr + "--------------";
        }

        @Override
        public String toString() {
            return describe();
        }
    }
}
