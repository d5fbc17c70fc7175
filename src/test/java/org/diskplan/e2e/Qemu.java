package org.diskplan.e2e;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The qemu oracles, run as subprocesses (callers are guarded by {@link RequiresOracle}). */
public final class Qemu {

    private Qemu() {
    }

    /**
     * qemu's LUKS key-slot set-up times PBKDF2 with the thread's CPU clock and gives up with
     * this message when a run of 2^15 iterations measures 0 ms (a fast CPU, a coarse clock).
     * It is qemu's flake, not a result about the image, so a command that failed with it is
     * run again.
     */
    static final String PBKDF_FLAKE = "Unable to get accurate CPU usage";
    private static final int PBKDF_ATTEMPTS = 10;

    /** {@code qemu-img ARGS} in {@code dir}. */
    public static ProcessRunner.Result img(Path dir, List<String> args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Oracles.require("qemu-img").toString());
        cmd.addAll(args);
        return runRetryingPbkdfFlake(ProcessRunner.of(cmd).in(dir));
    }

    /** Runs {@code runner}, again while it fails only with {@link #PBKDF_FLAKE}. */
    public static ProcessRunner.Result runRetryingPbkdfFlake(ProcessRunner runner) {
        ProcessRunner.Result r = runner.run();
        for (int attempt = 1; attempt < PBKDF_ATTEMPTS && r.exitCode() != 0
                && r.stderr().contains(PBKDF_FLAKE); attempt++) {
            r = runner.run();
        }
        return r;
    }

    public static ProcessRunner.Result img(Path dir, String... args) {
        return img(dir, List.of(args));
    }

    /**
     * qemu-img's stderr as DiskPlan must print it: every line prefix {@code qemu-img: }
     * becomes {@code diskplan: }; nothing else changes.
     */
    public static String asDiskplan(String qemuStderr) {
        return qemuStderr.replaceAll("(?m)^qemu-img: ", "diskplan: ");
    }
}
