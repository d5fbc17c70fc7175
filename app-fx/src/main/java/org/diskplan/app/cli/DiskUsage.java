package org.diskplan.app.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import org.diskplan.planner.apply.FileFacts;

/**
 * qemu-img's "disk size" for {@code info}: the bytes the file system has allocated for the
 * image and its extent files ({@code st_blocks}), which no JDK 17 API exposes.
 *
 * <p>On Linux it asks coreutils' {@code stat -L -c '%b %B'} in a child process, started
 * before the probe from a thread of its own so that it runs beside it (starting a child
 * costs a JVM about a tenth of {@code info}'s start-up; on that thread it overlaps the
 * probe, and a {@code stat} hung on its storage cannot hold the command): loading JNA for
 * {@link FileFacts} costs {@code info} about as much CPU as a whole hello-world start
 * (measured with bench/startup.sh's image), a child process about half as much. Any other answer (no
 * {@code stat}, an error, output that is not one {@code BLOCKS UNIT} line per file, no
 * answer within {@value #WAIT_SECONDS} s) falls back to {@link FileFacts} (JNA), which
 * answers the same where it can; where neither can, the size is unknown ({@code -1}) and
 * {@code info} leaves the line out, as before.
 */
final class DiskUsage {
    static final long WAIT_SECONDS = 10;
    private static final boolean LINUX = System.getProperty("os.name", "").startsWith("Linux");

    private final List<Path> files;
    /** Asks {@code stat} on its own thread (null where nothing is asked): info's thread never waits for the child's start. */
    private final Thread asker;
    private volatile Process process;
    private volatile OptionalLong answer = OptionalLong.empty();

    private DiskUsage(List<Path> files, boolean ask) {
        this.files = files;
        this.asker = ask ? new Thread(new Runnable() {
            @Override
            public void run() {
                ask();
            }
        }, "diskplan-disk-usage") : null;
    }

    /** Starts asking for the allocated bytes of {@code files} (none: 0). */
    static DiskUsage start(List<Path> files) {
        DiskUsage u = new DiskUsage(List.copyOf(files), LINUX && !files.isEmpty());
        if (u.asker != null) {
            u.asker.setDaemon(true);
            u.asker.start();
        }
        return u;
    }

    /** The sum of the files' allocated bytes, or -1 where one of them cannot be asked. */
    long total() {
        OptionalLong fromStat = fromStat();
        if (fromStat.isPresent()) {
            return fromStat.getAsLong();
        }
        long sum = 0;
        for (Path f : files) {
            OptionalLong a = FileFacts.allocatedBytes(f);
            if (a.isEmpty()) {
                return -1;
            }
            sum += a.getAsLong();
        }
        return sum;
    }

    private OptionalLong fromStat() {
        if (asker == null) {
            return OptionalLong.empty();
        }
        try {
            asker.join(TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (asker.isAlive()) {
            Process p = process;
            if (p != null) {
                p.destroy(); // a stat hung on its storage: FileFacts answers, or the size stays unknown
            }
            return OptionalLong.empty();
        }
        return answer;
    }

    /** The asker thread: coreutils' stat for every file, its output parsed; no answer on any failure. */
    private void ask() {
        List<String> cmd = new ArrayList<>(List.of("stat", "-L", "-c", "%b %B", "--"));
        for (Path f : files) {
            cmd.add(f.toString());
        }
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD)
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        } catch (IOException | RuntimeException e) {
            return; // no stat here: FileFacts answers
        }
        process = p;
        try {
            byte[] out = p.getInputStream().readNBytes(64 * 1024 + files.size() * 64);
            if (p.waitFor(WAIT_SECONDS, TimeUnit.SECONDS) && p.exitValue() == 0) {
                answer = parse(new String(out, StandardCharsets.US_ASCII), files.size());
            } else {
                p.destroy();
            }
        } catch (IOException e) {
            p.destroy();
        } catch (InterruptedException e) {
            p.destroy();
        }
    }

    /** The sum of {@code count} lines "BLOCKS UNIT" (decimal, unit > 0), or empty for anything else. */
    static OptionalLong parse(String out, int count) {
        String[] lines = out.split("\n", -1);
        if (lines.length != count + 1 || !lines[count].isEmpty()) {
            return OptionalLong.empty();
        }
        long sum = 0;
        for (int i = 0; i < count; i++) {
            String[] w = lines[i].split(" ", -1);
            if (w.length != 2 || !digits(w[0]) || !digits(w[1])) {
                return OptionalLong.empty();
            }
            try {
                long unit = Long.parseLong(w[1]);
                if (unit == 0) {
                    return OptionalLong.empty();
                }
                sum = Math.addExact(sum, Math.multiplyExact(Long.parseLong(w[0]), unit));
            } catch (ArithmeticException | NumberFormatException e) {
                return OptionalLong.empty();
            }
        }
        return OptionalLong.of(sum);
    }

    private static boolean digits(String s) {
        if (s.isEmpty() || s.length() > 18) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) < '0' || s.charAt(i) > '9') {
                return false;
            }
        }
        return true;
    }
}
