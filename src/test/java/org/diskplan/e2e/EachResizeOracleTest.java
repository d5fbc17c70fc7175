package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code diskplan resize|plan --each SIZE FILE...}: several images in one process. Every
 * image made and written by qemu-img/qemu-io; a resized one must pass {@code qemu-img
 * check}, show the new size, read its old data back and compare identical with its
 * untouched copy over the common part; a file that fails in the middle stays
 * byte-identical (no journal left), the others are still resized, the exit status is 1
 * and the summary names the failure.
 */
@RequiresOracle({"qemu-img", "qemu-io"})
class EachResizeOracleTest {
    private static final long OLD = 64L << 20;

    private static Path qcow2(Path dir, String name, int seed) {
        Path f = dir.resolve(name);
        ok(Qemu.img(dir, "create", "-q", "-f", "qcow2", f.toString(), Long.toString(OLD)));
        ok(ProcessRunner.of(Oracles.require("qemu-io").toString(), "-f", "qcow2",
                "-c", "write -P " + seed + " 0 1M", "-c", "write -P " + (seed + 1) + " 40M 1M", f.toString())
                .in(dir).run());
        Images.copy(f, dir.resolve(name + ".orig"));
        return f;
    }

    private static void ok(ProcessRunner.Result r) {
        assertThat(r.exitCode()).as(r.describe()).isZero();
    }

    private static void grownAndIntact(Path dir, Path f, long newSize) {
        ok(Qemu.img(dir, "check", "-f", "qcow2", f.toString()));
        ProcessRunner.Result info = Qemu.img(dir, "info", "--output=json", "-f", "qcow2", f.toString());
        ok(info);
        assertThat(info.stdout()).contains("\"virtual-size\": " + newSize);
        // the old data: identical to the untouched copy over the common part (compare's default)
        ok(Qemu.img(dir, "compare", "-f", "qcow2", "-F", "qcow2", dir.resolve(f.getFileName() + ".orig").toString(),
                f.toString()));
        // the new range reads zeros and takes a write
        ok(ProcessRunner.of(Oracles.require("qemu-io").toString(), "-f", "qcow2",
                "-c", "read -P 0 " + OLD + " 1M", "-c", "write -P 7 " + (newSize - (1 << 20)) + " 1M",
                "-c", "read -P 7 " + (newSize - (1 << 20)) + " 1M", f.toString()).in(dir).run());
        assertThat(Diskplan.journalOf(f)).doesNotExist();
    }

    @Test
    void growsEveryImageInOneRunAndLeavesAFailedOneAlone(@TempDir Path dir) throws Exception {
        List<Path> good = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            good.add(qcow2(dir, "d" + i + ".qcow2", 0x10 + 2 * i));
        }
        // in the middle: a qcow2 whose version field (offset 4) says 9
        Path bad = qcow2(dir, "bad.qcow2", 0x40);
        try (RandomAccessFile raf = new RandomAccessFile(bad.toFile(), "rw")) {
            raf.seek(4);
            raf.writeInt(9);
        }
        Images.setOldMtime(bad);
        Images.Snapshot before = Images.Snapshot.of(bad);

        List<String> args = new ArrayList<>(List.of("resize", "--each", "+1G"));
        args.add(good.get(0).getFileName().toString());
        args.add(good.get(1).getFileName().toString());
        args.add(bad.getFileName().toString());
        args.add(good.get(2).getFileName().toString());
        args.add(good.get(3).getFileName().toString());
        ProcessRunner.Result r = Diskplan.run(dir, args);

        assertThat(r.exitCode()).as(r.describe()).isEqualTo(1);
        assertThat(r.stderr()).as(r.describe())
                .contains("diskplan: Could not open 'bad.qcow2': qcow2 header field version at offset 4")
                .contains("diskplan: 4 of 5 images resized; 1 failed and was left as it was:")
                .contains("  bad.qcow2: Could not open 'bad.qcow2'");
        assertThat(r.stdout()).isEmpty();
        assertThat(before.difference()).as("the failed image").isNull();
        assertThat(Diskplan.journalOf(bad)).doesNotExist();
        for (Path f : good) {
            grownAndIntact(dir, f, OLD + (1L << 30));
        }
    }

    @Test
    void allSucceedQuietlyAndPlanWritesNothing(@TempDir Path dir) throws Exception {
        Path a = qcow2(dir, "a.qcow2", 0x21);
        Path b = qcow2(dir, "b.qcow2", 0x31);

        ProcessRunner.Result plan = Diskplan.run(dir, "plan", "--each=2G", "a.qcow2", "b.qcow2");
        ok(plan);
        assertThat(plan.stdout()).contains("Plan for 'a.qcow2' (qcow2): grow").contains("Plan for 'b.qcow2' (qcow2): grow");
        assertThat(Files.mismatch(a, dir.resolve("a.qcow2.orig"))).isEqualTo(-1L);
        assertThat(Files.mismatch(b, dir.resolve("b.qcow2.orig"))).isEqualTo(-1L);

        ProcessRunner.Result loud = Diskplan.run(dir, "resize", "-f", "qcow2", "--each", "2G", "a.qcow2");
        ok(loud);
        assertThat(loud.stdout()).isEqualTo("1 image resized.\n");
        ProcessRunner.Result quiet = Diskplan.run(dir, "resize", "-q", "--each", "2G", "b.qcow2");
        ok(quiet);
        assertThat(quiet.stdout()).isEmpty();
        grownAndIntact(dir, a, 2L << 30);
        grownAndIntact(dir, b, 2L << 30);

        // the single-file form keeps qemu-img's grammar, and naming a file twice is a usage error
        ProcessRunner.Result single = Diskplan.run(dir, "resize", "a.qcow2", "+1M");
        ok(single);
        assertThat(single.stdout()).isEqualTo("Image resized.\n");
        ProcessRunner.Result twice = Diskplan.run(dir, "resize", "--each", "+1M", "a.qcow2", "./a.qcow2");
        assertThat(twice.exitCode()).isEqualTo(2);
        assertThat(twice.stderr()).startsWith("diskplan: './a.qcow2' is named twice");
    }
}
