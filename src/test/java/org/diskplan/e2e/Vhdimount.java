package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * libvhdi's {@code vhdimount} (FUSE) as a guest-data oracle for VHD/VHDX images qemu cannot
 * open: the image's guest is mounted as one read-only file, read, and unmounted again.
 */
final class Vhdimount {
    private Vhdimount() {
    }

    /** What to read from the mounted guest. */
    interface Reader<T> {
        T read(RandomAccessFile guest) throws Exception;
    }

    /** Mounts {@code image} in a fresh folder of {@code dir}, runs {@code reader} on its guest, unmounts. */
    static <T> T read(Path dir, Path image, Reader<T> reader) throws Exception {
        Path mnt = Files.createTempDirectory(dir, "mnt");
        Path log = dir.resolve(mnt.getFileName() + ".log");
        Process fuse = new ProcessBuilder(Oracles.require("vhdimount").toString(), "-v", image.toString(),
                mnt.toString()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            Path disk = mnt.resolve("vhdi1");
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (!Files.exists(disk) && fuse.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertThat(disk).as("vhdimount " + Files.readString(log)).exists();
            try (RandomAccessFile raf = new RandomAccessFile(disk.toFile(), "r")) {
                return reader.read(raf);
            }
        } finally {
            // the kernel may hold the file a moment after close ("target is busy"): retry, then detach
            ProcessRunner.Result u = null;
            for (int attempt = 0; attempt < 20 && (u == null || u.exitCode() != 0); attempt++) {
                if (u != null) {
                    Thread.sleep(250);
                }
                u = ProcessRunner.of(Oracles.require("umount").toString(), mnt.toString()).run();
            }
            if (u.exitCode() != 0) {
                u = ProcessRunner.of(Oracles.require("umount").toString(), "-l", mnt.toString()).run();
            }
            if (!fuse.waitFor(10, TimeUnit.SECONDS)) {
                fuse.destroyForcibly();
            }
            assertThat(u.exitCode()).as("unmounting\n" + u.describe()).isZero();
        }
    }
}
