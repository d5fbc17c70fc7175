package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.diskplan.abi.Preallocation;
import org.diskplan.planner.ResizeRequest;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.TestFactory;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * qcow2 images with an external data file, grown by qemu-img and by DiskPlan on identical
 * copies: the same words, the same image file byte for byte, the same data file (qemu
 * lengthens it to the new size), {@code qemu-img check} clean, the old data read back and
 * a write at the new end; a raw data file (data_file_raw) gets its new range mapped
 * cluster for cluster, as qemu maps it; a shrink cuts the data file to the new size.
 * What DiskPlan does not do yet (preallocation into the data file) is refused with both
 * files left as they were.
 */
@RequiresOracle({"qemu-img", "qemu-io"})
class DataFileOracleTest {
    static final String IMAGE = "disk.qcow2";
    static final String DATA = "disk.data";

    @ParameterizedTest(name = "grow to {0}, data_file_raw={1}, preallocation={2}")
    @CsvSource({"+16M, off, off", "1G, off, off", "+1, off, off", "33554944, off, off", "+16M, on, off",
            "1G, on, off", "+1, on, off", "33554944, on, off", "3G, on, off", "33554944, off, metadata",
            "1G, off, falloc", "+16M, off, full", "+64k, on, full", "1G, on, falloc", "+16M, on, metadata"})
    void growsAsQemuImgDoes(String size, String raw, String mode, @TempDir Path tmp) throws IOException {
        sameAsQemuImg(tmp, raw, List.of(), List.of("--preallocation=" + mode, IMAGE, size));
        // falloc and full reserve the data file's new range, as qemu does; off and metadata leave it sparse
        long ours = Images.blocks(tmp.resolve("diskplan").resolve(DATA)) * 512;
        long theirs = Images.blocks(tmp.resolve("qemu").resolve(DATA)) * 512;
        assertThat(Math.abs(ours - theirs)).as("data file allocation: DiskPlan " + ours + ", qemu " + theirs)
                .isLessThanOrEqualTo(1L << 20);
    }

    /**
     * Shrinks: the entries past the end dropped from the image (the data file's clusters are
     * not counted by its refcounts) and the data file cut to the new size, as qemu does.
     */
    @ParameterizedTest(name = "shrink to {0}, data_file_raw={1}")
    @CsvSource({"8M, off", "8389120, off", "1M, off", "8M, on", "8389120, on", "12M, on"})
    void shrinksAsQemuImgDoes(String size, String raw, @TempDir Path tmp) throws IOException {
        sameAsQemuImg(tmp, raw, List.of("write -P 0x33 10M 64k", "write -P 0x44 8388608 4k"),
                List.of("--shrink", IMAGE, size));
    }

    private static void sameAsQemuImg(Path tmp, String raw, List<String> writes, List<String> resize)
            throws IOException {
        Path q = Files.createDirectory(tmp.resolve("qemu"));
        Path d = Files.createDirectory(tmp.resolve("diskplan"));
        for (Path p : List.of(q, d)) {
            make(p, "data_file=" + DATA + ",data_file_raw=" + raw);
            for (String w : writes) {
                io(p, w);
            }
        }
        List<String> args = new ArrayList<>(List.of("resize"));
        args.addAll(resize);
        ProcessRunner.Result qr = Qemu.img(q, args);
        ProcessRunner.Result dr = Diskplan.run(d, args);
        String both = "\nqemu-img:\n" + qr.describe() + "\ndiskplan:\n" + dr.describe();
        SoftAssertions soft = new SoftAssertions();
        soft.assertThat(dr.exitCode()).as("exit" + both).isEqualTo(qr.exitCode());
        soft.assertThat(dr.stdout()).as("stdout" + both).isEqualTo(qr.stdout());
        soft.assertThat(dr.stderr()).as("stderr" + both).isEqualTo(Qemu.asDiskplan(qr.stderr()));
        for (String f : List.of(IMAGE, DATA)) {
            soft.assertThat(Images.length(d.resolve(f))).as(f + " length" + both).isEqualTo(Images.length(q.resolve(f)));
            soft.assertThat(Images.difference(q.resolve(f), d.resolve(f))).as(f + " content" + both).isNull();
        }
        soft.assertAll();
        ProcessRunner.Result check = Qemu.img(d, "check", IMAGE);
        assertThat(check.exitCode()).as(check.describe()).isZero();
        io(d, "read -P 0x11 0 1M");
        ProcessRunner.Result info = Qemu.img(d, "info", "--output=json", IMAGE);
        long newSize = new com.fasterxml.jackson.databind.ObjectMapper().readTree(info.stdout()).get("virtual-size")
                .asLong();
        long last = Math.max(0, newSize - 65536) / 512 * 512;
        io(d, "write -P 0x5a " + last + " " + (newSize - last));
        io(d, "read -P 0x5a " + last + " " + (newSize - last));
    }

    /**
     * A grow DiskPlan maps only from a cluster boundary, and falloc or full to a size off one
     * (where qemu-img quietly leaves the data file sparse), are refused, both files left alone.
     */
    @Test
    void aMappedGrowFromAnUnalignedSizeIsRefusedAndLeftAlone(@TempDir Path dir) throws IOException {
        ProcessRunner.Result made = Qemu.img(dir, "create", "-q", "-f", "qcow2", "-o",
                "data_file=" + DATA + ",data_file_raw=on", IMAGE, "16777728");
        assertThat(made.exitCode()).as(made.describe()).isZero();
        byte[] image = Files.readAllBytes(dir.resolve(IMAGE));
        byte[] data = Files.readAllBytes(dir.resolve(DATA));
        for (List<String> args : List.of(List.of("resize", IMAGE, "+16M"),
                List.of("resize", "--preallocation=full", IMAGE, "33555456"))) {
            ProcessRunner.Result r = Diskplan.run(dir, args);
            assertThat(r.exitCode()).as(r.describe()).isEqualTo(1);
            assertThat(r.stderr()).as(r.describe()).contains("external data file").contains("cluster")
                    .contains("qemu-img resize");
            assertThat(Files.readAllBytes(dir.resolve(IMAGE))).isEqualTo(image);
            assertThat(Files.readAllBytes(dir.resolve(DATA))).isEqualTo(data);
        }
    }

    /**
     * Crash prefixes of both plans (image and data file): every prefix opens in qemu with the
     * old or the new size, check clean, the guest data intact.
     */
    @TestFactory
    Stream<DynamicNode> everyPrefixOfATwoFilePlanOpens(@TempDir Path tmp) throws Exception {
        List<DynamicNode> out = new ArrayList<>();
        int n = 0;
        record C(String raw, long size, Preallocation mode) {
        }
        for (C c : List.of(new C("off", 1L << 30, Preallocation.OFF), new C("off", 8L << 20, Preallocation.OFF),
                new C("on", 1L << 30, Preallocation.OFF), new C("on", 8L << 20, Preallocation.OFF),
                new C("off", 32L << 20, Preallocation.FULL))) {
            Path dir = Files.createDirectory(tmp.resolve("c" + n++));
            make(dir, "data_file=" + DATA + ",data_file_raw=" + c.raw());
            io(dir, "write -P 0x33 10M 64k");
            Files.move(dir.resolve(IMAGE), dir.resolve("original.qcow2"));
            CrashPrefixSuite.of("data file, data_file_raw=" + c.raw() + ", 16M -> " + c.size() + ", "
                    + c.mode().qemuName(), dir, "original.qcow2",
                    probed -> new ResizeRequest(c.size(), true, c.mode()),
                    new CrashPrefixSuite.Qemu("qcow2", true, Optional.empty())).ifPresent(out::add);
        }
        return out.stream();
    }

    private static void make(Path dir, String options) {
        List<String> create = new ArrayList<>(List.of("create", "-q", "-f", "qcow2", "-o", options, IMAGE, "16M"));
        ProcessRunner.Result r = Qemu.img(dir, create);
        assertThat(r.exitCode()).as(r.describe()).isZero();
        io(dir, "write -P 0x11 0 1M");
    }

    private static void io(Path dir, String cmd) {
        ProcessRunner.Result r = Qcow2Images.run(dir, List.of("qemu-io", "-c", cmd, IMAGE));
        assertThat(r.stdout()).as(cmd + "\n" + r.describe()).doesNotContain("failed").doesNotContain("error");
    }
}
