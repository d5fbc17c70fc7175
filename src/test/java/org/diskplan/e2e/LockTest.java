package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.assertj.core.api.SoftAssertions;
import org.diskplan.e2e.Images.Start;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * While {@code qemu-nbd} serves an image it holds qemu's image locks; {@code diskplan
 * resize} must refuse exactly as {@code qemu-img resize} does and leave the file alone,
 * and must work again once the server is gone.
 */
@RequiresOracle({"qemu-img", "qemu-nbd"})
class LockTest {

    static final String FILE = "disk.raw";

    @Test
    void resizeRefusesAnImageThatQemuNbdServes(@TempDir Path dir) throws Exception {
        Path image = dir.resolve(FILE);
        Start.PATTERN_1M.createAt(image);
        Images.setOldMtime(image);
        Images.Snapshot before = Images.Snapshot.of(image);

        // A unix socket path must stay under ~108 bytes: keep it out of the (deep) build directory.
        Path sockDir = Files.createTempDirectory(Path.of("/tmp"), "dpnbd");
        Path sock = sockDir.resolve("s");
        Process nbd = ProcessRunner.of(Oracles.require("qemu-nbd").toString(), "-f", "raw", "-k", sock.toString(), FILE)
                .in(dir)
                .startInBackground(sockDir.resolve("out"), sockDir.resolve("err"));
        try {
            waitForSocket(nbd, sock, sockDir);

            ProcessRunner.Result q = Qemu.img(dir, "resize", "-f", "raw", FILE, "2M");
            ProcessRunner.Result d = Diskplan.run(dir, "resize", "-f", "raw", FILE, "2M");
            String both = "\nqemu-img:\n" + q.describe() + "\ndiskplan:\n" + d.describe();

            SoftAssertions soft = new SoftAssertions();
            soft.assertThat(q.exitCode()).as("test premise: qemu-img is refused" + both).isEqualTo(1);
            soft.assertThat(d.exitCode()).as("exit status" + both).isEqualTo(1);
            soft.assertThat(d.stdout()).as("stdout" + both).isEmpty();
            soft.assertThat(d.stderr()).as("stderr" + both).isEqualTo(
                    "diskplan: Could not open '" + FILE + "': Failed to get \"resize\" lock\n"
                            + "Is another process using the image [" + FILE + "]?\n");
            soft.assertThat(d.stderr()).as("stderr, as qemu-img's" + both).isEqualTo(Qemu.asDiskplan(q.stderr()));
            soft.assertThat(before.difference()).as("file unchanged" + both).isNull();
            soft.assertThat(Diskplan.journalOf(image)).as("no journal" + both).doesNotExist();
            soft.assertThat(nbd.isAlive()).as("qemu-nbd still serving").isTrue();
            soft.assertAll();
        } finally {
            nbd.destroy();
            if (!nbd.waitFor(10, TimeUnit.SECONDS)) {
                nbd.destroyForcibly();
                nbd.waitFor(10, TimeUnit.SECONDS);
            }
            for (String f : List.of("s", "out", "err")) {
                Files.deleteIfExists(sockDir.resolve(f));
            }
            Files.deleteIfExists(sockDir);
        }

        ProcessRunner.Result after = Diskplan.run(dir, "resize", "-f", "raw", FILE, "2M");
        assertThat(after.exitCode()).as("resize works once qemu-nbd is gone\n" + after.describe()).isZero();
        assertThat(Images.length(image)).isEqualTo(2L * Images.MIB);
    }

    private static void waitForSocket(Process nbd, Path sock, Path sockDir) throws InterruptedException, IOException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (!Files.exists(sock)) {
            if (!nbd.isAlive()) {
                throw new AssertionError("qemu-nbd exited with " + nbd.exitValue() + ": "
                        + Files.readString(sockDir.resolve("err")));
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("qemu-nbd socket " + sock + " did not appear: "
                        + Files.readString(sockDir.resolve("err")));
            }
            Thread.sleep(20);
        }
    }
}
