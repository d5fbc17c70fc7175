package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 of a real {@code diskplan resize} at random moments while it writes (issue 18):
 * a qcow2 grown with {@code --preallocation=full}, the process killed a random 0-300 ms
 * after its journal appears. Every outcome must be the old file (byte for byte), the
 * new file ({@code qemu-img check} clean, guest data intact, the same bytes as an
 * uninterrupted resize), or a journal that {@code recover} turns back into the old file.
 * {@code -Ddiskplan.kill.trials=N} runs more (default 6); the seed is printed.
 */
@RequiresOracle({"qemu-img", "qemu-io"})
class KillDuringResizeTest {
    enum Outcome { OLD_FILE, NEW_FILE, RECOVERED_OLD, RECOVERED_NEW }

    @TempDir
    Path dir;

    @Test
    void everyKillLeavesTheOldFileTheNewFileOrARecoverableJournal() throws Exception {
        int trials = Integer.getInteger("diskplan.kill.trials", 6);
        long seed = Long.getLong("diskplan.kill.seed", System.nanoTime());
        Random random = new Random(seed);
        String qemuIo = Oracles.require("qemu-io").toString();
        assertThat(Qemu.img(dir, "create", "-f", "qcow2", "base.qcow2", "64M").exitCode()).isZero();
        assertThat(ProcessRunner.of(qemuIo, "-c", "write -P 0x5a 0 4M", "base.qcow2").in(dir).run().exitCode())
                .isZero();
        byte[] original = Files.readAllBytes(dir.resolve("base.qcow2"));
        List<String> resize = List.of("resize", "--preallocation=full", "disk.qcow2", "+64M");

        Files.copy(dir.resolve("base.qcow2"), dir.resolve("disk.qcow2"), StandardCopyOption.REPLACE_EXISTING);
        ProcessRunner.Result clean = Diskplan.runner(dir, resize).run();
        assertThat(clean.exitCode()).as(clean.describe()).isZero();
        byte[] resized = Files.readAllBytes(dir.resolve("disk.qcow2"));

        Map<Outcome, Integer> outcomes = new EnumMap<>(Outcome.class);
        Path disk = dir.resolve("disk.qcow2");
        Path journal = Diskplan.journalOf(disk);
        for (int t = 0; t < trials; t++) {
            String what = "trial " + t + " (seed " + seed + ")";
            Files.copy(dir.resolve("base.qcow2"), disk, StandardCopyOption.REPLACE_EXISTING);
            Process p = Diskplan.runner(dir, resize).startInBackground(dir.resolve("out"), dir.resolve("err"));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (p.isAlive() && !Files.exists(journal) && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            Thread.sleep(random.nextInt(301));
            p.destroyForcibly(); // SIGKILL
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();

            Outcome o;
            if (Files.exists(journal)) {
                ProcessRunner.Result info = Diskplan.run(dir, "info", "disk.qcow2");
                assertThat(info.stderr()).as(what + " refused until recovered\n" + info.describe())
                        .contains("diskplan recover");
                ProcessRunner.Result rec = Diskplan.run(dir, "recover", "disk.qcow2");
                assertThat(rec.exitCode()).as(what + "\n" + rec.describe()).isZero();
                o = rec.stdout().contains("Rolled back") ? Outcome.RECOVERED_OLD : Outcome.RECOVERED_NEW;
            } else {
                o = Files.size(disk) == original.length ? Outcome.OLD_FILE : Outcome.NEW_FILE;
            }
            byte[] now = Files.readAllBytes(disk);
            boolean isNew = o == Outcome.NEW_FILE || o == Outcome.RECOVERED_NEW;
            assertThat(java.util.Arrays.mismatch(now, isNew ? resized : original)).as(what + ": " + o).isEqualTo(-1);
            ProcessRunner.Result check = Qemu.img(dir, "check", "-f", "qcow2", "disk.qcow2");
            assertThat(check.exitCode()).as(what + "\n" + check.describe()).isZero();
            ProcessRunner.Result read = ProcessRunner.of(qemuIo, "-f", "qcow2", "-c", "read -P 0x5a 0 4M",
                    "disk.qcow2").in(dir).run();
            assertThat(read.stdout()).as(what + " guest data").doesNotContain("Pattern verification failed");
            outcomes.merge(o, 1, Integer::sum);
        }
        System.out.println("KillDuringResizeTest: " + trials + " kill -9 trials (seed " + seed + "): " + outcomes);
    }
}
