package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.assertj.core.api.SoftAssertions;

/**
 * The oracle checks of a VHDX that DiskPlan resized, shared by the VHDX suites (images made
 * by qemu, by Hyper-V, by disk2vhd): {@code qemu-img check} clean, {@code qemu-img info}
 * and {@code vhdiinfo} show the new size, the new range reads zero (qemu-io), and the last
 * MiB can be written and read back with {@code qemu-img check} still clean after it. The
 * old guest data is each suite's own business (pattern reads, {@code qemu-img compare}).
 */
final class VhdxChecks {
    static final long MIB = 1 << 20;

    private VhdxChecks() {
    }

    /** The new size is what qemu-img and libvhdi read; the image is clean; the range past {@code old} reads zero. */
    static void cleanWithNewSize(Path dir, String file, long old, long size, SoftAssertions soft) {
        ProcessRunner.Result check = Qemu.img(dir, "check", "-f", "vhdx", file);
        soft.assertThat(check.exitCode()).as("qemu-img check\n" + check.describe()).isZero();
        soft.assertThat(check.stdout()).as(check.describe()).contains("No errors were found");
        soft.assertThat(virtualSize(dir, file)).as("qemu-img info").isEqualTo(size);
        ProcessRunner.Result vhdi = ProcessRunner.of(Oracles.require("vhdiinfo").toString(), file).in(dir).run();
        soft.assertThat(vhdi.exitCode()).as(vhdi.describe()).isZero();
        soft.assertThat(vhdi.stdout()).as("vhdiinfo size").containsPattern("Media size\\s*:.*\\(" + size + " bytes\\)");
        if (size > old) {
            long n = Math.min(MIB, size - old);
            soft.assertThat(io(dir, file, "read -P 0 " + old + " " + n, "read -P 0 " + (size - n) + " " + n))
                    .as("new range and new end zero").doesNotContain("Pattern verification failed");
        }
    }

    /** The last MiB takes a write that reads back, and qemu-img check stays clean. */
    static void lastMibWritable(Path dir, String file, long size, SoftAssertions soft) {
        long last = size - MIB;
        soft.assertThat(io(dir, file, "write -P 0x77 " + last + " 1M", "read -P 0x77 " + last + " 1M"))
                .as("last MiB").doesNotContain("Pattern verification failed").doesNotContain("error");
        ProcessRunner.Result check2 = Qemu.img(dir, "check", "-f", "vhdx", file);
        soft.assertThat(check2.exitCode()).as("qemu-img check after the write\n" + check2.describe()).isZero();
    }

    /** The virtual size {@code qemu-img info} reads. */
    static long virtualSize(Path dir, String file) {
        ProcessRunner.Result r = Qemu.img(dir, "info", "--output=json", "-f", "vhdx", file);
        assertThat(r.exitCode()).as(r.describe()).isZero();
        Matcher m = Pattern.compile("\"virtual-size\": (\\d+)").matcher(r.stdout());
        assertThat(m.find()).as(r.stdout()).isTrue();
        return Long.parseLong(m.group(1));
    }

    /** qemu-io commands on {@code file} (read-write: qemu replays a live log first); its output. */
    static String io(Path dir, String file, String... cmds) {
        List<String> cmd = new ArrayList<>(List.of(Oracles.require("qemu-io").toString(), "-f", "vhdx"));
        for (String c : cmds) {
            cmd.addAll(List.of("-c", c));
        }
        cmd.add(file);
        ProcessRunner.Result r = ProcessRunner.of(cmd).in(dir).timeout(Duration.ofMinutes(2)).run();
        assertThat(r.exitCode()).as(r.describe()).isZero();
        return r.stdout() + r.stderr();
    }
}
