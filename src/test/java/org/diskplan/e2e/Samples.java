package org.diskplan.e2e;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Disk images made by the tools DiskPlan must interoperate with (Hyper-V, Virtual PC,
 * disk2vhd, VMware ESXi, ...): qemu's own iotest sample images, which
 * {@code src/test/fetch-samples.sh} takes from Debian's qemu source package into the
 * git-ignored directory named by the system property {@code diskplan.samples.dir}. They
 * are never committed. Without them a test is skipped, visibly; where the oracles are
 * required (CI) it fails.
 */
public final class Samples {

    /** System property naming the directory that fetch-samples.sh fills. */
    public static final String DIR_PROPERTY = "diskplan.samples.dir";

    private Samples() {
    }

    /**
     * A fresh, decompressed copy of qemu's sample image {@code name} (without ".bz2") in
     * {@code dir}, for a test to change as it likes.
     */
    public static Path qemu(String name, Path dir) throws IOException, InterruptedException {
        Path compressed = directory().resolve("qemu").resolve(name + ".bz2");
        if (!Files.isRegularFile(compressed)) {
            String why = "sample image " + compressed + " is missing: run bash src/test/fetch-samples.sh";
            if (Oracles.required()) {
                fail(why);
            }
            assumeTrue(false, why);
        }
        Path out = dir.resolve(name);
        Process p = new ProcessBuilder(List.of("bunzip2", "-c", compressed.toString()))
                .redirectOutput(out.toFile())
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("bunzip2 of " + compressed + " took more than 120 s");
        }
        if (p.exitValue() != 0) {
            fail("bunzip2 of " + compressed + " exited " + p.exitValue());
        }
        return out;
    }

    /**
     * qemu's sample {@code name} decompressed into {@code dir} as a sparse file (the samples
     * are mostly zeros: disk2vhd's 260 MiB file holds 36 KiB of data), so that each case's
     * copy ({@link #sparseCopy}) costs next to nothing. Done once per {@code dir}: a later call
     * returns the same file (a class keeps its masters in a static temporary folder).
     */
    public static synchronized Path qemuOnce(String name, Path dir) throws IOException, InterruptedException {
        Path sparse = dir.resolve(name);
        if (Files.exists(sparse)) {
            return sparse;
        }
        Path dense = qemu(name, Files.createDirectories(dir.resolve("dense")));
        try {
            return SparseCopy.copy(dense, sparse);
        } finally {
            Files.delete(dense);
        }
    }

    /** A copy of {@code from} as {@code to} with zero blocks as holes (see {@link SparseCopy}); returns {@code to}. */
    public static Path sparseCopy(Path from, Path to) throws IOException {
        return SparseCopy.copy(from, to);
    }

    private static Path directory() {
        String dir = System.getProperty(DIR_PROPERTY);
        return dir == null || dir.isBlank() ? Path.of("samples") : Path.of(dir);
    }
}
