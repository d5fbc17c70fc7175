package org.diskplan.e2e;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The qemu oracles, run as subprocesses (callers are guarded by {@link RequiresOracle}). */
public final class Qemu {

    private Qemu() {
    }

    /** {@code qemu-img ARGS} in {@code dir}. */
    public static ProcessRunner.Result img(Path dir, List<String> args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Oracles.require("qemu-img").toString());
        cmd.addAll(args);
        return ProcessRunner.of(cmd).in(dir).run();
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
