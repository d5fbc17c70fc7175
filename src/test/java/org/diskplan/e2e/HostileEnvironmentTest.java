package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The environment around an image, through the real command line (issue 18): a symbolic
 * link, a FIFO as image, as journal and as a qcow2's backing file (each command must answer,
 * never hang), a device, and a file system that fills up during a resize.
 */
@RequiresOracle({"qemu-img", "qemu-io", "mkfifo"})
class HostileEnvironmentTest {
    /** Any command here answers well within this; a FIFO opened for reading would block forever. */
    private static final Duration ANSWER = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    private Path mounted;

    @AfterEach
    void unmount() throws Exception {
        if (mounted != null) {
            ProcessRunner.of("umount", mounted.toString()).run();
        }
    }

    private ProcessRunner.Result diskplan(Path in, String... args) {
        return Diskplan.runner(in, List.of(args)).timeout(ANSWER).run();
    }

    private void mkfifo(Path p) {
        assertThat(ProcessRunner.of("mkfifo", p.toString()).run().exitCode()).isZero();
    }

    private void check(Path in, String image) {
        ProcessRunner.Result c = Qemu.img(in, "check", "-f", "qcow2", image);
        assertThat(c.exitCode()).as(c.describe()).isZero();
    }

    @Test
    void throughASymlinkTheRealFilesNameSeesTheInterruptedResizeAndRecoverRestoresIt() throws Exception {
        Path real = Files.createDirectory(dir.resolve("real"));
        assertThat(Qemu.img(real, "create", "-f", "qcow2", "disk.qcow2", "64M").exitCode()).isZero();
        assertThat(ProcessRunner.of(Oracles.require("qemu-io").toString(), "-c", "write -P 0x5a 0 1M",
                "disk.qcow2").in(real).run().exitCode()).isZero();
        byte[] original = Files.readAllBytes(real.resolve("disk.qcow2"));
        Files.createSymbolicLink(dir.resolve("link.qcow2"), real.resolve("disk.qcow2"));

        ProcessRunner.Result crashed = Diskplan.runner(dir, List.of("resize", "link.qcow2", "+1G"))
                .env(Diskplan.CRASH_ENV, "1").timeout(ANSWER).run();
        assertThat(crashed.exitCode()).as(crashed.describe()).isEqualTo(Diskplan.CRASH_EXIT);
        assertThat(real.resolve("disk.qcow2" + Diskplan.JOURNAL_SUFFIX)).exists();
        assertThat(dir.resolve("link.qcow2" + Diskplan.JOURNAL_SUFFIX)).doesNotExist();

        for (String command : List.of("info", "resize")) {
            ProcessRunner.Result r = command.equals("info") ? diskplan(real, "info", "disk.qcow2")
                    : diskplan(real, "resize", "disk.qcow2", "+1G");
            assertThat(r.exitCode()).as(r.describe()).isEqualTo(1);
            assertThat(r.stderr()).as(r.describe()).contains("diskplan recover");
        }
        ProcessRunner.Result rec = diskplan(real, "recover", "disk.qcow2");
        assertThat(rec.exitCode()).as(rec.describe()).isZero();
        assertThat(Files.readAllBytes(real.resolve("disk.qcow2"))).isEqualTo(original);
        check(real, "disk.qcow2");
    }

    @Test
    void aFifoIsNeverOpenedAsImageOrJournal() throws Exception {
        mkfifo(dir.resolve("pipe.img"));
        for (String[] args : List.of(new String[] {"info", "pipe.img"}, new String[] {"plan", "pipe.img", "+1M"},
                new String[] {"resize", "pipe.img", "+1M"}, new String[] {"resize", "-f", "raw", "pipe.img", "+1M"})) {
            ProcessRunner.Result r = diskplan(dir, args);
            assertThat(r.exitCode()).as(r.describe()).isEqualTo(1);
            assertThat(r.stderr()).as(r.describe()).contains("FIFO").doesNotContain("Exception");
        }
        assertThat(dir.resolve("pipe.img" + Diskplan.JOURNAL_SUFFIX)).doesNotExist();

        assertThat(Qemu.img(dir, "create", "-f", "raw", "disk.raw", "1M").exitCode()).isZero();
        mkfifo(dir.resolve("disk.raw" + Diskplan.JOURNAL_SUFFIX));
        ProcessRunner.Result r = diskplan(dir, "recover", "disk.raw");
        assertThat(r.exitCode()).as(r.describe()).isEqualTo(1);
        assertThat(r.stderr()).as(r.describe()).contains("is a FIFO");
    }

    @Test
    void aDeviceIsNeverWritten() {
        ProcessRunner.Result r = diskplan(dir, "resize", "-f", "raw", "/dev/zero", "+1M");
        assertThat(r.exitCode()).as(r.describe()).isEqualTo(1);
        assertThat(r.stderr()).as(r.describe()).contains("character device");
        assertThat(Path.of("/dev/zero" + Diskplan.JOURNAL_SUFFIX)).doesNotExist();
    }

    @Test
    void aQcow2GrowOverAFifoBackingFileDoesNotOpenIt() throws Exception {
        mkfifo(dir.resolve("base.raw"));
        ProcessRunner.Result c = Qemu.img(dir, "create", "-f", "qcow2", "-u", "-b", "base.raw", "-F", "raw",
                "top.qcow2", "4M");
        assertThat(c.exitCode()).as(c.describe()).isZero();
        ProcessRunner.Result p = diskplan(dir, "plan", "top.qcow2", "+4M");
        assertThat(p.exitCode()).as(p.describe()).isZero();
        ProcessRunner.Result r = diskplan(dir, "resize", "top.qcow2", "+4M");
        assertThat(r.exitCode()).as(r.describe()).isZero();

        // Now put a longer backing file with data in the new range there: it must not show through.
        Files.delete(dir.resolve("base.raw"));
        assertThat(Qemu.img(dir, "create", "-f", "raw", "base.raw", "16M").exitCode()).isZero();
        String qemuIo = Oracles.require("qemu-io").toString();
        assertThat(ProcessRunner.of(qemuIo, "-f", "raw", "-c", "write -P 0x77 0 16M", "base.raw").in(dir).run()
                .exitCode()).isZero();
        check(dir, "top.qcow2");
        ProcessRunner.Result read = ProcessRunner.of(qemuIo, "-f", "qcow2", "-c", "read -P 0 4M 4M", "top.qcow2")
                .in(dir).run();
        assertThat(read.exitCode()).as(read.describe()).isZero();
        assertThat(read.stdout()).as(read.describe()).doesNotContain("Pattern verification failed");
        ProcessRunner.Result old = ProcessRunner.of(qemuIo, "-f", "qcow2", "-c", "read -P 0x77 0 4M", "top.qcow2")
                .in(dir).run();
        assertThat(old.stdout()).as("the old range still shows the backing file\n" + old.describe())
                .doesNotContain("Pattern verification failed");
    }

    @Test
    void aResizeThatFillsTheFileSystemLeavesTheOriginalFile() throws Exception {
        Path fs = Files.createDirectory(dir.resolve("small"));
        ProcessRunner.Result m = ProcessRunner.of("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", fs.toString()).run();
        Assumptions.assumeTrue(m.exitCode() == 0, "cannot mount a small tmpfs here (needs root): " + m.stderr());
        mounted = fs;
        assertThat(Qemu.img(fs, "create", "-f", "qcow2", "-o", "cluster_size=4k", "disk.qcow2", "64M").exitCode())
                .isZero();
        assertThat(ProcessRunner.of(Oracles.require("qemu-io").toString(), "-c", "write -P 0x5a 0 512k",
                "disk.qcow2").in(fs).run().exitCode()).isZero();
        byte[] original = Files.readAllBytes(fs.resolve("disk.qcow2"));

        ProcessRunner.Result r = diskplan(fs, "resize", "--preallocation=full", "disk.qcow2", "+64M");

        assertThat(r.exitCode()).as(r.describe()).isEqualTo(1);
        assertThat(r.stderr()).as(r.describe()).contains("No space left on device")
                .doesNotContain("rolling back failed");
        assertThat(fs.resolve("disk.qcow2" + Diskplan.JOURNAL_SUFFIX)).doesNotExist();
        assertThat(Files.readAllBytes(fs.resolve("disk.qcow2"))).isEqualTo(original);
        check(fs, "disk.qcow2");
        ProcessRunner.Result again = diskplan(fs, "resize", "disk.qcow2", "+64M");
        assertThat(again.exitCode()).as("a grow without preallocation fits\n" + again.describe()).isZero();
        check(fs, "disk.qcow2");
    }
}
