package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.diskplan.abi.Preallocation;
import org.diskplan.planner.ResizeRequest;
import org.diskplan.planner.SizeArgument;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * qcow2 images with persistent dirty bitmaps grown by qemu-img and by DiskPlan on
 * identical copies: the same words, the same bitmaps in {@code qemu-img info} (names,
 * granularities, flags), {@code qemu-img check} clean, the two results identical to
 * {@code qemu-img compare}, and qemu can add another bitmap afterwards (it rewrites the
 * directory it found). Tables that must grow do so in place or move (512-byte clusters);
 * shrinks leave the same bits set as qemu-img.
 */
@RequiresOracle({"qemu-img", "qemu-io"})
class BitmapOracleTest {
    static final String FILE = "disk.qcow2";
    static final ObjectMapper JSON = new ObjectMapper();

    /**
     * The file length is qemu-img's to the byte: DiskPlan writes the bitmaps again where qemu's
     * store on close puts them; metadata preallocation table by table, as qemu's; falloc and full
     * after the refcount area qemu reserves at the end of the file (new refcount blocks, a new
     * refcount table), the data right after it, the L2 tables where qemu's scan finds room.
     */
    @ParameterizedTest(name = "cluster_size={0}: 16M -> {1} {2}")
    @CsvSource({"65536, 32M, off", "65536, 100G, off", "512, 1G, off", "512, 20G, off", "512, +512, off",
            "65536, 1G, metadata", "65536, 3G, full", "65536, 2G, falloc", "65536, 100M, falloc", "512, 200M, full",
            "512, 40M, falloc", "512, +512, falloc"})
    void grownLikeQemuImg(String cluster, String size, String mode, @TempDir Path tmp)
            throws IOException {
        Path q = Files.createDirectory(tmp.resolve("qemu"));
        Path d = Files.createDirectory(tmp.resolve("diskplan"));
        make(q, cluster);
        make(d, cluster);
        for (Path p : List.of(q, d)) {
            run(p, List.of("qemu-img", "bitmap", "--add", "-g", "512", FILE, "fine"));
        }
        sameAsQemuImg(tmp, List.of("resize", "--preallocation=" + mode, FILE, size));
        assertThat(bitmaps(tmp.resolve("diskplan")).size()).isEqualTo(4);
    }

    /**
     * A falloc grow whose bigger L1 table already needs a refcount block past the end of the
     * refcount table (512-byte clusters, the file near the 8 MiB one table cluster covers):
     * qemu grows the table there by a refcount area of its own, which the exact plan does not
     * follow, so the first-fit plan is used: clean, the same data and bitmaps, not longer.
     */
    @Test
    void aFallocGrowWhoseL1NeedsABiggerRefcountTableFallsBackClean(@TempDir Path tmp) throws IOException {
        Path q = Files.createDirectory(tmp.resolve("qemu"));
        Path d = Files.createDirectory(tmp.resolve("diskplan"));
        for (Path p : List.of(q, d)) {
            run(p, List.of("qemu-img", "create", "-q", "-f", "qcow2", "-o", "cluster_size=512", FILE, "16M"));
            run(p, List.of("qemu-img", "bitmap", "--add", FILE, "b0"));
            run(p, List.of("qemu-io", "-c", "write -P 0x11 0 7800K", FILE));
            run(p, List.of("qemu-img", "bitmap", "--add", "-g", "512", FILE, "fine"));
        }
        List<String> args = List.of("resize", "--preallocation=falloc", FILE, "1G");
        ProcessRunner.Result qr = Qemu.img(q, args);
        ProcessRunner.Result dr = Diskplan.run(d, args);
        String both = "\nqemu-img:\n" + qr.describe() + "\ndiskplan:\n" + dr.describe();
        assertThat(dr.exitCode()).as(both).isEqualTo(qr.exitCode()).isZero();
        ProcessRunner.Result check = Qemu.img(d, "check", FILE);
        assertThat(check.exitCode()).as(check.describe()).isZero();
        assertThat(bitmaps(d)).as("bitmaps in qemu-img info" + both).isEqualTo(bitmaps(q));
        assertThat(QcowBitmapBits.read(d.resolve(FILE))).as("bits" + both).isEqualTo(QcowBitmapBits.read(q.resolve(FILE)));
        assertThat(Files.size(d.resolve(FILE))).as("file length" + both).isLessThanOrEqualTo(Files.size(q.resolve(FILE)));
        ProcessRunner.Result cmp = Qemu.img(tmp, "compare", "qemu/" + FILE, "diskplan/" + FILE);
        assertThat(cmp.exitCode()).as(cmp.describe()).isZero();
    }

    /**
     * Shrinks as qemu-img does them: tables cut to the entries the new size needs, the bits
     * past the last granule the new size touches cleared, and the same bits set afterwards
     * in both results (read from the files by the spec, not by DiskPlan's probe).
     */
    /**
     * The file length is qemu-img's to the byte: with 512-byte clusters qemu's discard of the
     * range past the new end makes an empty L2 table for every L1 entry without one (and frees
     * them again), which lengthens the file before its cut after the last cluster in use.
     */
    @ParameterizedTest(name = "cluster_size={0}: 16M -> {1}")
    @CsvSource({"65536, 8M", "65536, 9248256", "65536, 1M", "512, 3146240", "512, 12M", "512, 512",
            "512, 1126400"})
    void shrunkLikeQemuImg(String cluster, String size, @TempDir Path tmp) throws IOException {
        Path q = Files.createDirectory(tmp.resolve("qemu"));
        Path d = Files.createDirectory(tmp.resolve("diskplan"));
        for (Path p : List.of(q, d)) {
            make(p, cluster);
            run(p, List.of("qemu-img", "bitmap", "--add", "-g", "512", FILE, "fine"));
            // dirty bits past every cut, in the fine bitmap's last tables too
            run(p, List.of("qemu-io", "-c", "write -P 0x33 15M 64k", "-c", "write -P 0x44 3145728 1k", FILE));
        }
        assertThat(QcowBitmapBits.read(d.resolve(FILE))).isEqualTo(QcowBitmapBits.read(q.resolve(FILE)));
        sameAsQemuImg(tmp, List.of("resize", "--shrink", FILE, size));
    }

    /**
     * Runs {@code args} with qemu-img in {@code tmp/qemu} and with DiskPlan in
     * {@code tmp/diskplan}; the two results must agree: words, bitmaps in {@code qemu-img
     * info}, the bits themselves, size, check clean, the file length to the byte, compare
     * identical; and qemu can add a bitmap to DiskPlan's result afterwards.
     */
    private static void sameAsQemuImg(Path tmp, List<String> args) throws IOException {
        Path q = tmp.resolve("qemu");
        Path d = tmp.resolve("diskplan");
        ProcessRunner.Result qr = Qemu.img(q, args);
        ProcessRunner.Result dr = Diskplan.run(d, args);
        String both = "\nqemu-img:\n" + qr.describe() + "\ndiskplan:\n" + dr.describe();
        assertThat(dr.exitCode()).as(both).isEqualTo(qr.exitCode()).isZero();
        assertThat(dr.stdout()).as(both).isEqualTo(qr.stdout());
        assertThat(bitmaps(d)).as("bitmaps in qemu-img info" + both).isEqualTo(bitmaps(q));
        assertThat(info(d).get("virtual-size")).isEqualTo(info(q).get("virtual-size"));
        assertThat(QcowBitmapBits.read(d.resolve(FILE))).as("bits" + both).isEqualTo(QcowBitmapBits.read(q.resolve(FILE)));
        ProcessRunner.Result check = Qemu.img(d, "check", FILE);
        assertThat(check.exitCode()).as(check.describe()).isZero();
        assertThat(Files.size(d.resolve(FILE))).as("file length" + both).isEqualTo(Files.size(q.resolve(FILE)));
        ProcessRunner.Result cmp = Qemu.img(tmp, "compare", "qemu/" + FILE, "diskplan/" + FILE);
        assertThat(cmp.exitCode()).as(cmp.describe()).isZero();
        ProcessRunner.Result add = Qemu.img(d, "bitmap", "--add", FILE, "after");
        assertThat(add.exitCode()).as(add.describe()).isZero();
        ProcessRunner.Result again = Qemu.img(d, "check", FILE);
        assertThat(again.exitCode()).as(again.describe()).isZero();
    }

    @Test
    void anInUseBitmapIsRefusedInQemusWordsAndLeftAlone(@TempDir Path tmp) throws IOException {
        Path q = Files.createDirectory(tmp.resolve("qemu"));
        Path d = Files.createDirectory(tmp.resolve("diskplan"));
        for (Path p : List.of(q, d)) {
            make(p, "65536");
            QcowBitmapBits.markFirstInUse(p.resolve(FILE));
        }
        byte[] before = Files.readAllBytes(d.resolve(FILE));
        for (String size : List.of("32M", "8M")) {
            ProcessRunner.Result qr = Qemu.img(q, "resize", "--shrink", FILE, size);
            ProcessRunner.Result dr = Diskplan.run(d, "resize", "--shrink", FILE, size);
            String both = "\nqemu-img:\n" + qr.describe() + "\ndiskplan:\n" + dr.describe();
            assertThat(qr.exitCode()).as(both).isEqualTo(1);
            assertThat(dr.exitCode()).as(both).isEqualTo(1);
            assertThat(dr.stderr()).as(both).isEqualTo(Qemu.asDiskplan(qr.stderr()));
            assertThat(Files.readAllBytes(d.resolve(FILE))).isEqualTo(before);
        }
    }

    /**
     * Crash prefixes of bitmap grows (tables grown in place and moved) and shrinks (tables cut,
     * a last data cluster copied without its bits past the end), in two commits (temporary
     * bitmap structures past qemu's end, then the bitmaps where qemu's store puts them, an empty
     * L2 table qemu's discard leaves): every prefix passes qemu-img check, bitmaps included (a
     * table too small for the size is corruption to it), with the old or the new size and the
     * guest data intact.
     */
    @TestFactory
    Stream<DynamicNode> everyPrefixKeepsTheBitmapsValid(@TempDir Path tmp) throws Exception {
        List<DynamicNode> out = new ArrayList<>();
        record C(String cluster, String size, Preallocation mode, boolean fineBitmap) {
        }
        int n = 0;
        for (C c : List.of(new C("512", "1G", Preallocation.OFF, false), new C("512", "20G", Preallocation.OFF, false),
                new C("65536", "1G", Preallocation.METADATA, true), new C("512", "3146240", Preallocation.OFF, true),
                new C("65536", "8M", Preallocation.OFF, true),
                // two commits: the bitmaps rewritten where qemu's store puts them, in clusters free before
                new C("65536", "32M", Preallocation.OFF, false), new C("65536", "1M", Preallocation.OFF, true),
                // 512-byte clusters cut inside an L2 range without a table: qemu's discard leaves an empty one
                new C("512", "1126400", Preallocation.OFF, true),
                // falloc: a refcount area at the end of the file (its table switched in a header
                // write of its own), the data after it, the L2 tables where qemu's scan finds room
                new C("65536", "600M", Preallocation.FALLOC, true), new C("512", "20M", Preallocation.FULL, false))) {
            Path dir = Files.createDirectory(tmp.resolve("c" + n++));
            make(dir, c.cluster());
            if (c.fineBitmap()) {
                // 512-byte granularity: its table grows at 256 MiB, with the L1 table staged first;
                // on a shrink its dropped entries hold data clusters
                run(dir, List.of("qemu-img", "bitmap", "--add", "-g", "512", FILE, "fine"));
                run(dir, List.of("qemu-io", "-c", "write -P 0x33 15M 64k", FILE));
            }
            Files.move(dir.resolve(FILE), dir.resolve("original.qcow2"));
            long newSize = SizeArgument.parse(c.size()).resolve(0);
            CrashPrefixSuite.of("bitmaps, " + c.cluster() + "-byte clusters, 16M -> " + c.size() + ", "
                    + c.mode().qemuName(), dir, "original.qcow2",
                    probed -> new ResizeRequest(newSize, true, c.mode()),
                    new CrashPrefixSuite.Qemu("qcow2", true, Optional.empty())).ifPresent(out::add);
        }
        return out.stream();
    }

    private static void make(Path dir, String cluster) {
        run(dir, List.of("qemu-img", "create", "-q", "-f", "qcow2", "-o", "cluster_size=" + cluster, FILE, "16M"));
        run(dir, List.of("qemu-img", "bitmap", "--add", FILE, "b0"));
        run(dir, List.of("qemu-img", "bitmap", "--add", "-g", "512k", FILE, "b1"));
        run(dir, List.of("qemu-io", "-c", "write -P 0x11 0 1M", "-c", "write -P 0x22 9M 64k", FILE));
    }

    private static JsonNode info(Path dir) throws IOException {
        ProcessRunner.Result r = Qemu.img(dir, "info", "--output=json", FILE);
        assertThat(r.exitCode()).as(r.describe()).isZero();
        return JSON.readTree(r.stdout());
    }

    private static JsonNode bitmaps(Path dir) throws IOException {
        return info(dir).path("format-specific").path("data").path("bitmaps");
    }

    private static void run(Path dir, List<String> cmd) {
        Qcow2Images.run(dir, cmd);
    }
}
