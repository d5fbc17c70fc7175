package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Images on a block device (a loop device over a 64 MiB file), as qemu allows: a qcow2 grows
 * and shrinks inside the device, which keeps its length, and the result is what the same
 * resize makes of a regular-file copy; raw is refused with qemu-img's words for every size
 * change and preallocation mode, the device unchanged. Needs root and losetup: skipped when
 * they are missing, except under {@code CI=true} with losetup present, where it must run.
 */
@RequiresOracle({"qemu-img", "qemu-io"})
class BlockDeviceTest {
    private static final long DEVICE = 64L << 20;

    @TempDir
    Path dir;

    private final List<String> attached = new ArrayList<>();

    @AfterEach
    void detach() {
        for (String d : attached) {
            ProcessRunner.of("losetup", "-d", d).run();
        }
    }

    /** A loop device over {@code file}; the test is skipped where loop devices cannot be made. */
    private String loop(Path file) {
        ProcessRunner.Result r;
        try {
            r = ProcessRunner.of("losetup", "-f", "--show", file.toString()).run();
        } catch (RuntimeException noLosetup) {
            Assumptions.assumeTrue(false, "no losetup here: " + noLosetup.getMessage());
            throw noLosetup;
        }
        if (r.exitCode() != 0) {
            boolean ci = "true".equals(System.getenv("CI"));
            assertThat(ci).as("CI=true and losetup is present, so a loop device must be made\n" + r.describe())
                    .isFalse();
            Assumptions.assumeTrue(false, "cannot make a loop device here (needs root): " + r.stderr());
        }
        String device = r.stdout().trim();
        attached.add(device);
        return device;
    }

    private Path backing() throws Exception {
        Path file = dir.resolve("device.img");
        try (var raf = new java.io.RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(DEVICE);
        }
        return file;
    }

    private String qcow2OnDevice() throws Exception {
        String dev = loop(backing());
        assertThat(Qemu.img(dir, "create", "-q", "-f", "qcow2", dev, "1G").exitCode()).isZero();
        ProcessRunner.Result w = ProcessRunner.of(Oracles.require("qemu-io").toString(), "-f", "qcow2",
                "-c", "write -P 0x5a 0 4M", "-c", "write -P 0x33 700M 1M", dev).run();
        assertThat(w.exitCode()).as(w.describe()).isZero();
        return dev;
    }

    private void checkClean(String dev, long virtualSize) {
        ProcessRunner.Result check = Qemu.img(dir, "check", "-f", "qcow2", dev);
        assertThat(check.exitCode()).as(check.describe()).isZero();
        assertThat(check.stdout()).contains("No errors were found");
        ProcessRunner.Result read = ProcessRunner.of(Oracles.require("qemu-io").toString(), "-f", "qcow2",
                "-c", "read -P 0x5a 0 4M", "-c", "read -P 0x33 700M 1M", dev).run();
        assertThat(read.stdout()).as(read.describe()).doesNotContain("Pattern verification failed")
                .contains("read 4194304/4194304").contains("read 1048576/1048576");
        ProcessRunner.Result info = Qemu.img(dir, "info", "-f", "qcow2", dev);
        assertThat(info.stdout()).contains("(" + virtualSize + " bytes)");
        assertThat(Path.of(dev + Diskplan.JOURNAL_SUFFIX)).as("no journal left in /dev").doesNotExist();
    }

    /** The same resize of a regular-file copy of the device: the device must end with the same bytes. */
    private void sameAsOnARegularFile(Path copy, String size) throws Exception {
        ProcessRunner.Result r = Diskplan.run(dir, "resize", copy.getFileName().toString(), size);
        assertThat(r.exitCode()).as(r.describe()).isZero();
        byte[] onFile = Files.readAllBytes(copy);
        byte[] onDevice = Files.readAllBytes(dir.resolve("device.img"));
        assertThat(onDevice.length).as("the device keeps its length").isEqualTo(DEVICE);
        int n = Math.min(onFile.length, onDevice.length);
        assertThat(java.util.Arrays.mismatch(java.util.Arrays.copyOf(onDevice, n), java.util.Arrays.copyOf(onFile, n)))
                .as("the device holds what the resize makes of a regular file").isEqualTo(-1);
        for (int i = n; i < onDevice.length; i += 4096) {
            assertThat(onDevice[i]).as("past a regular file's end the device is as it was (zeros)").isZero();
        }
    }

    @Test
    void aQcow2OnABlockDeviceGrowsInsideIt() throws Exception {
        String dev = qcow2OnDevice();
        Path copy = dir.resolve("copy.qcow2");
        Files.copy(dir.resolve("device.img"), copy);
        ProcessRunner.Result r = Diskplan.run(dir, "resize", dev, "10G");
        assertThat(r.exitCode()).as(r.describe()).isZero();
        assertThat(r.stdout()).isEqualTo("Image resized.\n");
        checkClean(dev, 10L << 30);
        sameAsOnARegularFile(copy, "10G");
    }

    @Test
    void aQcow2OnABlockDeviceShrinksAndTheDeviceKeepsItsLength() throws Exception {
        String dev = qcow2OnDevice();
        ProcessRunner.Result plan = Diskplan.run(dir, "plan", "--shrink", dev, "800M");
        assertThat(plan.exitCode()).as(plan.describe()).isZero();
        assertThat(plan.stdout()).contains("is a block device: its length stays " + DEVICE + " bytes");
        ProcessRunner.Result r = Diskplan.run(dir, "resize", "--shrink", dev, "800M");
        assertThat(r.exitCode()).as(r.describe()).isZero();
        checkClean(dev, 800L << 20);
    }

    @Test
    void aCrashOnADeviceLeavesItsJournalOnPersistentStorageAndRecoverRestoresTheDevice() throws Exception {
        String dev = qcow2OnDevice();
        byte[] before = Files.readAllBytes(dir.resolve("device.img"));
        Path journals = dir.resolve("journals");
        ProcessRunner.Result crash = Diskplan.run(dir, java.util.Map.of("DISKPLAN_JOURNAL_DIR", journals.toString(),
                "DISKPLAN_TEST_CRASH_AFTER_PATCH", "1"), List.of("resize", dev, "10G"));
        assertThat(crash.exitCode()).as(crash.describe()).isEqualTo(137);
        assertThat(Path.of(dev + Diskplan.JOURNAL_SUFFIX)).as("no journal in /dev, a tmpfs").doesNotExist();
        Path journal = journals.resolve(Path.of(dev).toRealPath().toString().substring(1).replace('/', '!')
                + Diskplan.JOURNAL_SUFFIX);
        assertThat(journal).exists();
        assertThat(Files.readAllBytes(dir.resolve("device.img"))).as("the crash came after a write").isNotEqualTo(before);

        java.util.Map<String, String> env = java.util.Map.of("DISKPLAN_JOURNAL_DIR", journals.toString());
        ProcessRunner.Result again = Diskplan.run(dir, env, List.of("resize", dev, "10G"));
        assertThat(again.exitCode()).as(again.describe()).isNotZero();
        assertThat(again.stderr()).contains(journal.toString()).contains("diskplan recover " + dev);

        ProcessRunner.Result recover = Diskplan.run(dir, env, List.of("recover", dev));
        assertThat(recover.exitCode()).as(recover.describe()).isZero();
        assertThat(Files.readAllBytes(dir.resolve("device.img"))).as("restored byte for byte").isEqualTo(before);
        assertThat(journal).doesNotExist();
        checkClean(dev, 1L << 30);
    }

    @Test
    void whatQemuRefusesOnADeviceIsRefusedAndTheDeviceIsUntouched() throws Exception {
        String dev = qcow2OnDevice();
        byte[] before = Files.readAllBytes(dir.resolve("device.img"));
        ProcessRunner.Result full = Diskplan.run(dir, "resize", "--preallocation=full", dev, "+64M");
        assertThat(full.exitCode()).isEqualTo(1);
        assertThat(full.stderr()).isEqualTo("diskplan: Failed to resize underlying file: Preallocation mode 'full' "
                + "unsupported for this non-regular file\n");
        // metadata for 2 GiB of data clusters needs more than the 64 MiB device
        ProcessRunner.Result big = Diskplan.run(dir, "resize", "--preallocation=metadata", dev, "2G");
        assertThat(big.exitCode()).isEqualTo(1);
        assertThat(big.stderr()).isEqualTo("diskplan: Cannot grow device files\n");
        assertThat(Files.readAllBytes(dir.resolve("device.img"))).as("the device is untouched").isEqualTo(before);
        assertThat(Path.of(dev + Diskplan.JOURNAL_SUFFIX)).doesNotExist();
    }

    @Test
    void rawOnADeviceIsResizedExactlyAsQemuImgDoes() throws Exception {
        String dev = loop(backing());
        ProcessRunner.Result w = ProcessRunner.of(Oracles.require("qemu-io").toString(), "-f", "raw",
                "-c", "write -P 0x11 0 1M", dev).run();
        assertThat(w.exitCode()).as(w.describe()).isZero();
        byte[] before = Files.readAllBytes(dir.resolve("device.img"));
        List<List<String>> cases = List.of(List.of("128M"), List.of("64M"), List.of("--shrink", "32M"),
                List.of("--preallocation=full", "128M"), List.of("--preallocation=falloc", "128M"),
                List.of("--preallocation=metadata", "128M"), List.of("--preallocation=full", "64M"));
        for (List<String> c : cases) {
            List<String> args = new ArrayList<>(List.of("resize", "-f", "raw"));
            args.addAll(c.subList(0, c.size() - 1));
            args.add(dev);
            args.add(c.get(c.size() - 1));
            ProcessRunner.Result q = Qemu.img(dir, args);
            ProcessRunner.Result d = Diskplan.run(dir, args);
            String both = "\n" + q.describe() + "\n" + d.describe();
            assertThat(d.exitCode()).as("exit" + both).isEqualTo(q.exitCode());
            assertThat(d.stdout()).as("stdout" + both).isEqualTo(q.stdout());
            assertThat(d.stderr()).as("stderr" + both).isEqualTo(Qemu.asDiskplan(q.stderr()));
            assertThat(Files.readAllBytes(dir.resolve("device.img"))).as("device unchanged" + both).isEqualTo(before);
        }
    }
}
