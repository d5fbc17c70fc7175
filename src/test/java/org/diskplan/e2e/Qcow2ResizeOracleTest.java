package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import org.assertj.core.api.SoftAssertions;
import org.diskplan.e2e.Qcow2Images.Recipe;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The qcow2 oracle matrix: each case makes two identical images with qemu-img and
 * qemu-io, resizes one with {@code qemu-img resize} and the other with {@code diskplan
 * resize}, and then requires: the same exit status and, on failure, the same words; on
 * success a clean {@code qemu-img check} (no leaks, no corruption), the same virtual size,
 * {@code qemu-img compare} identical, the same {@code qemu-img map} (without host offsets),
 * and a file no longer than qemu-img's.
 */
@RequiresOracle({"qemu-img", "qemu-io"})
class Qcow2ResizeOracleTest {

    record Case(String name, Recipe recipe, List<String> options, String size, boolean mapZeroFlag) {
        @Override
        public String toString() {
            return name;
        }
    }

    static final List<String> DATA = List.of("w 0 1M", "w 40M 2M", "w 63M 1M");
    static final List<String> SNAPSHOT = List.of("w 0 1M", "w 40M 2M", "snap s1", "p 41M 1M", "w 63M 1M");
    static final List<String> COMPRESSED = List.of("c 0 1M", "c 40M 2M", "w 63M 1M");

    static Case grow(String name, String opts, String base, List<String> steps, String size) {
        return new Case(name, new Recipe(opts, base, steps, false), List.of(), size, false);
    }

    static Case shrink(String name, String opts, String base, List<String> steps, String size) {
        return new Case(name, new Recipe(opts, base, steps, false), List.of("--shrink"), size, false);
    }

    static Stream<Case> cases() {
        List<Case> c = new ArrayList<>();
        for (String cs : List.of("512", "4096", "65536", "2M")) {
            c.add(grow("grow 64M -> 3G, cluster_size=" + cs, "cluster_size=" + cs, "64M", DATA, "3G"));
            c.add(shrink("shrink with data past the end, not cluster aligned, cluster_size=" + cs,
                    "cluster_size=" + cs, "64M", DATA, "20972032"));
        }
        for (String rb : List.of("1", "4", "16", "64")) {
            c.add(grow("grow 64M -> 3G, 512 B clusters, refcount_bits=" + rb, "cluster_size=512,refcount_bits=" + rb,
                    "64M", DATA, "3G"));
            c.add(shrink("shrink 64M -> 20M, refcount_bits=" + rb, "refcount_bits=" + rb, "64M", DATA, "20M"));
        }
        c.add(grow("grow within the L1 table (64M -> 500M)", "", "64M", DATA, "500M"));
        c.add(grow("grow needing a bigger L1 table (64M -> 1T)", "", "64M", DATA, "1T"));
        c.add(grow("grow 1G -> 64T at 64 KiB clusters", "", "1G", DATA, "64T"));
        c.add(grow("grow needing refcount table growth (512 B clusters, 64M -> 100G)", "cluster_size=512", "64M", DATA,
                "100G"));
        c.add(grow("grow to the L1 limit (512 B clusters, 1M -> 128G)", "cluster_size=512", "1M", List.of("w 0 64k"),
                "128G"));
        c.add(grow("grow past the L1 limit is refused (512 B clusters, 1M -> 128G+512)", "cluster_size=512", "1M",
                List.of(), "137438953984"));
        c.add(grow("extended L2: grow", "extended_l2=on", "64M", DATA, "3G"));
        c.add(shrink("extended L2: shrink", "extended_l2=on", "64M", DATA, "41M"));
        c.add(grow("compat 0.10: grow", "compat=0.10", "64M", DATA, "3G"));
        c.add(shrink("compat 0.10: shrink", "compat=0.10", "64M", DATA, "1M"));
        c.add(grow("compat 0.10 with a snapshot: refused", "compat=0.10", "64M", SNAPSHOT, "1G"));
        c.add(shrink("shrink through a snapshot (64 KiB clusters, 20M)", "", "64M", SNAPSHOT, "20M"));
        c.add(shrink("shrink through a snapshot (64 KiB clusters, 40M: shared L2 table copied)", "", "64M", SNAPSHOT,
                "40M"));
        c.add(shrink("shrink through a snapshot (4 KiB clusters, 41M)", "cluster_size=4096", "64M", SNAPSHOT, "41M"));
        c.add(grow("grow with a snapshot (4 KiB clusters, 10G)", "cluster_size=4096", "64M", SNAPSHOT, "10G"));
        List<String> backed = new ArrayList<>(List.of("backing"));
        backed.addAll(List.of("w 40M 2M", "w 63M 1M"));
        c.add(grow("backing file: grow", "", "64M", backed, "1G"));
        c.add(shrink("backing file: shrink", "", "64M", backed, "20M"));
        List<String> longer = List.of("backing128", "w 40M 2M");
        c.add(grow("backing file longer than the image: grow hides it with zero clusters", "", "64M", longer, "1G"));
        c.add(grow("backing file longer than the image: grow, extended L2", "extended_l2=on", "64M", longer, "1G"));
        c.add(grow("backing file longer than the image: grow, 512 B clusters, bigger L1", "cluster_size=512", "64M",
                longer, "200M"));
        c.add(grow("backing file longer than the image, compat 0.10: refused", "compat=0.10", "64M", longer, "1G"));
        c.add(new Case("backing file longer than the image: preallocation=metadata",
                new Recipe("", "64M", longer, false), List.of("--preallocation=metadata"), "200M", false));
        c.add(new Case("backing file longer than the image: preallocation=metadata, extended L2",
                new Recipe("extended_l2=on", "64M", longer, false), List.of("--preallocation=metadata"), "200M",
                false));
        c.add(new Case("backing file longer than the image: preallocation=falloc",
                new Recipe("", "64M", longer, false), List.of("--preallocation=falloc"), "200M", false));
        c.add(new Case("backing file longer than the image: preallocation=full, extended L2",
                new Recipe("extended_l2=on", "64M", longer, false), List.of("--preallocation=full"), "200M", false));
        c.add(grow("lazy refcounts: grow", "lazy_refcounts=on", "64M", DATA, "3G"));
        c.add(shrink("lazy refcounts: shrink", "lazy_refcounts=on", "64M", DATA, "33M"));
        c.add(new Case("LUKS: grow", new Recipe("", "64M", DATA, true), List.of(), "1G", false));
        c.add(new Case("LUKS: shrink", new Recipe("", "64M", DATA, true), List.of("--shrink"), "20M", false));
        c.add(shrink("compressed clusters: shrink", "", "64M", COMPRESSED, "20M"));
        c.add(shrink("compressed clusters: shrink, 512 B clusters", "cluster_size=512", "64M", COMPRESSED, "40M"));
        c.add(shrink("compressed clusters: shrink, extended L2", "extended_l2=on", "64M", COMPRESSED, "40M"));
        c.add(shrink("zstd compressed clusters: shrink", "compression_type=zstd", "64M", COMPRESSED, "1M"));
        for (String mode : List.of("metadata", "falloc", "full")) {
            c.add(new Case("preallocation=" + mode + " 64M -> 200M", new Recipe("", "64M", DATA, false),
                    List.of("--preallocation=" + mode), "200M", true));
            c.add(new Case("preallocation=" + mode + " needing a bigger L1 table (4 KiB clusters, 64M -> 70M)",
                    new Recipe("cluster_size=4096", "64M", DATA, false), List.of("--preallocation=" + mode), "70M",
                    false));
            c.add(new Case("preallocation=" + mode + " needing bigger L1 and refcount tables (512 B clusters, "
                    + "refcount_bits=1, 64M -> 100M)", new Recipe("cluster_size=512,refcount_bits=1", "64M", DATA, false),
                    List.of("--preallocation=" + mode), "100M", false));
            c.add(new Case("preallocation=" + mode + ", extended L2", new Recipe("extended_l2=on", "64M", DATA, false),
                    List.of("--preallocation=" + mode), "200M", true));
        }
        c.add(shrink("new size not a multiple of 512: refused", "", "64M", DATA, "20971620"));
        c.add(grow("shrink without --shrink: refused", "", "64M", DATA, "20M"));
        c.add(new Case("preallocation on shrink: refused", new Recipe("", "64M", DATA, false),
                List.of("--shrink", "--preallocation=full"), "20M", false));
        c.add(grow("no-op (same size)", "", "64M", DATA, "64M"));
        return c.stream();
    }

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void sameAsQemuImg(Case c) throws IOException {
        Qcow2Images.make(dir, "theirs.qcow2", c.recipe());
        Qcow2Images.make(dir, "ours.qcow2", c.recipe());
        compare(c, dir, "theirs.qcow2", "ours.qcow2");
    }

    static void compare(Case c, Path dir, String theirs, String ours) throws IOException {
        boolean luks = c.recipe().luks();
        List<String> q = new ArrayList<>(List.of("qemu-img", "resize"));
        q.addAll(c.options());
        q.addAll(c.recipe().imageArgs(theirs));
        q.add("--");
        q.add(c.size());
        ProcessRunner.Result qemu = Qcow2Images.tryRun(dir, q);
        byte[] before = Files.readAllBytes(dir.resolve(ours));
        String keptBefore = Qcow2Images.kept(dir, ours);
        List<String> d = new ArrayList<>(List.of("resize"));
        d.addAll(c.options());
        d.add(ours);
        d.add("--");
        d.add(c.size());
        ProcessRunner.Result us = Diskplan.run(dir, d);
        String ctx = "\nqemu-img: " + qemu.describe() + "\ndiskplan: " + us.describe();
        assertThat(us.exitCode()).as("exit status as qemu-img's" + ctx).isEqualTo(qemu.exitCode());
        if (qemu.exitCode() != 0) {
            assertThat(us.stderr()).as("qemu-img's words" + ctx).isEqualTo(Qemu.asDiskplan(qemu.stderr()));
            assertThat(Files.readAllBytes(dir.resolve(ours))).as("a refused resize changes nothing").isEqualTo(before);
            return;
        }
        assertThat(us.stdout()).as(ctx).isEqualTo(qemu.stdout());
        SoftAssertions soft = new SoftAssertions();
        JsonNode check = Qcow2Images.check(dir, ours, luks);
        soft.assertThat(check.path("corruptions").asInt(0)).as("corruptions\n" + check + ctx).isZero();
        soft.assertThat(check.path("leaks").asInt(0)).as("leaks\n" + check + ctx).isZero();
        soft.assertThat(check.path("check-errors").asInt(0)).as("check errors\n" + check + ctx).isZero();
        soft.assertThat(check.has("exit")).as("check ran\n" + check + ctx).isFalse();
        soft.assertThat(Qcow2Images.kept(dir, ours)).as("what a resize keeps" + ctx).isEqualTo(keptBefore);
        if (!luks) { // LUKS headers differ between two images anyway (uuid, iterations)
            soft.assertThat(Qcow2Images.kept(dir, ours).replace(ours, theirs)).as("as qemu-img keeps it" + ctx)
                    .isEqualTo(Qcow2Images.kept(dir, theirs));
        }
        soft.assertThat(Qcow2Images.virtualSize(dir, ours)).as("virtual size" + ctx)
                .isEqualTo(Qcow2Images.virtualSize(dir, theirs));
        ProcessRunner.Result compared = Qcow2Images.compare(dir, theirs, ours, luks);
        soft.assertThat(compared.exitCode()).as("qemu-img compare: identical\n" + compared.describe() + ctx).isZero();
        soft.assertThat(Qcow2Images.map(dir, ours, luks, c.mapZeroFlag())).as("qemu-img map" + ctx)
                .isEqualTo(Qcow2Images.map(dir, theirs, luks, c.mapZeroFlag()));
        soft.assertThat(Files.size(dir.resolve(ours))).as("our file is no longer than qemu-img's" + ctx)
                .isLessThanOrEqualTo(Files.size(dir.resolve(theirs)));
        soft.assertAll();
    }

    /** The abi error code the planner refuses {@code file} with, for a grow to {@code size}. */
    static org.diskplan.abi.ErrorCode refusalCode(Path file, long size) throws Exception {
        try {
            org.diskplan.planner.ResizeSession.planFile(file, java.util.Optional.empty(), probed ->
                    new org.diskplan.planner.ResizeRequest(size, false, org.diskplan.abi.Preallocation.OFF));
        } catch (org.diskplan.planner.ResizeError e) {
            return e.code();
        }
        throw new AssertionError(file + " was not refused");
    }

    /** Sets bits in the header's incompatible_features (offset 72). */
    static void setIncompatible(Path file, long bits) throws IOException {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.seek(72);
            long v = raf.readLong();
            raf.seek(72);
            raf.writeLong(v | bits);
        }
    }

    @Test
    void corruptAndUnknownFeaturesAreRefusedAsQemuDoes() throws Exception {
        for (long bit : List.of(2L, 1L << 5)) {
            Recipe r = new Recipe("", "64M", List.of("w 0 1M"), false);
            Qcow2Images.make(dir, "t.qcow2", r);
            Qcow2Images.make(dir, "o.qcow2", r);
            setIncompatible(dir.resolve("t.qcow2"), bit);
            setIncompatible(dir.resolve("o.qcow2"), bit);
            ProcessRunner.Result qemu = Qcow2Images.tryRun(dir, List.of("qemu-img", "resize", "t.qcow2", "1G"));
            byte[] before = Files.readAllBytes(dir.resolve("o.qcow2"));
            ProcessRunner.Result us = Diskplan.run(dir, "resize", "o.qcow2", "1G");
            String ctx = "\n" + qemu.describe() + "\n" + us.describe();
            assertThat(us.exitCode()).as(ctx).isEqualTo(qemu.exitCode()).isEqualTo(1);
            String first = Qemu.asDiskplan(qemu.stderr()).lines().findFirst().orElseThrow().replace("t.qcow2", "o.qcow2");
            assertThat(us.stderr().lines().findFirst().orElseThrow()).as(ctx).isEqualTo(first);
            assertThat(Files.readAllBytes(dir.resolve("o.qcow2"))).isEqualTo(before);
            if (bit == 2) {
                assertThat(us.stderr()).as(ctx).contains("qemu-img check -r all");
            }
            assertThat(refusalCode(dir.resolve("o.qcow2"), 1L << 30)).isEqualTo(bit == 2
                    ? org.diskplan.abi.ErrorCode.NEEDS_REPAIR : org.diskplan.abi.ErrorCode.UNSUPPORTED_SUBFORMAT);
            Files.delete(dir.resolve("t.qcow2"));
            Files.delete(dir.resolve("o.qcow2"));
        }
    }

    @Test
    void anInUseBitmapIsRefusedInQemuImgsWords() throws Exception {
        for (String f : List.of("t.qcow2", "o.qcow2")) {
            Qcow2Images.make(dir, f, new Recipe("", "64M", List.of(), false));
            Qcow2Images.run(dir, List.of("qemu-img", "bitmap", "--add", f, "bm0"));
            JsonNode info = Json.object(Diskplan.run(dir, "info", "--output=json", f));
            long flags = -1;
            for (JsonNode field : info.get("fields")) {
                if (field.get("group").asText().equals("bitmap 1") && field.get("name").asText().equals("flags")) {
                    flags = field.get("offset").asLong();
                }
            }
            assertThat(flags).as("bitmap flags field in " + info).isPositive();
            try (RandomAccessFile raf = new RandomAccessFile(dir.resolve(f).toFile(), "rw")) {
                raf.seek(flags);
                int v = raf.readInt();
                raf.seek(flags);
                raf.writeInt(v | 1); // in use
            }
        }
        ProcessRunner.Result qemu = Qcow2Images.tryRun(dir, List.of("qemu-img", "resize", "t.qcow2", "1G"));
        byte[] before = Files.readAllBytes(dir.resolve("o.qcow2"));
        ProcessRunner.Result us = Diskplan.run(dir, "resize", "o.qcow2", "1G");
        assertThat(us.exitCode()).as(qemu.describe() + us.describe()).isEqualTo(qemu.exitCode()).isEqualTo(1);
        assertThat(us.stderr()).as(qemu.describe() + us.describe()).isEqualTo(Qemu.asDiskplan(qemu.stderr()));
        assertThat(Files.readAllBytes(dir.resolve("o.qcow2"))).isEqualTo(before);
        assertThat(refusalCode(dir.resolve("o.qcow2"), 1L << 30))
                .isEqualTo(org.diskplan.abi.ErrorCode.BITMAPS_UNSUPPORTED);
    }

    @Test
    void dirtyImagesAndPersistentBitmapsAreRefusedWithTheirCodes() throws Exception {
        // dirty, and a refcount its tables do not use (a leak qemu's open would free, as after a crash
        // with lazy refcounts): refused (a dirty image whose refcounts are exact is resized, OddButValidTest)
        Recipe r = new Recipe("lazy_refcounts=on", "64M", List.of("w 0 1M"), false);
        Qcow2Images.make(dir, "dirty.qcow2", r);
        setIncompatible(dir.resolve("dirty.qcow2"), 1);
        try (RandomAccessFile raf = new RandomAccessFile(dir.resolve("dirty.qcow2").toFile(), "rw")) {
            raf.seek(48);
            raf.seek(raf.readLong()); // refcount table entry 0: the first refcount block
            raf.seek(raf.readLong() + 2 * 60); // 16-bit refcounts: cluster 60, past the end of the file
            raf.writeShort(1);
        }
        ProcessRunner.Result plan = Diskplan.run(dir, "plan", "--output=json", "dirty.qcow2", "1G");
        assertThat(plan.exitCode()).as(plan.describe()).isEqualTo(1);
        assertThat(plan.stderr()).as(plan.describe()).contains("dirty").contains("qemu-img check -r all")
                .contains("cluster 60 (offset 3932160) has refcount 1 but is used 0 times");
        assertThat(refusalCode(dir.resolve("dirty.qcow2"), 1L << 30)).isEqualTo(org.diskplan.abi.ErrorCode.NEEDS_REPAIR);

        Qcow2Images.make(dir, "bm.qcow2", new Recipe("", "64M", List.of(), false));
        Qcow2Images.run(dir, List.of("qemu-img", "bitmap", "--add", "bm.qcow2", "bm0"));
        // grows and shrinks keep the bitmaps (BitmapOracleTest); one marked in use is refused
        QcowBitmapBits.markFirstInUse(dir.resolve("bm.qcow2"));
        byte[] before = Files.readAllBytes(dir.resolve("bm.qcow2"));
        ProcessRunner.Result bm = Diskplan.run(dir, "resize", "--shrink", "bm.qcow2", "32M");
        assertThat(bm.exitCode()).as(bm.describe()).isEqualTo(1);
        assertThat(bm.stderr()).as(bm.describe()).contains("Bitmap 'bm0' is inconsistent");
        assertThat(Files.readAllBytes(dir.resolve("bm.qcow2"))).isEqualTo(before);
        try {
            org.diskplan.planner.ResizeSession.planFile(dir.resolve("bm.qcow2"), java.util.Optional.empty(),
                    probed -> new org.diskplan.planner.ResizeRequest(32L << 20, true,
                            org.diskplan.abi.Preallocation.OFF));
            throw new AssertionError("a shrink with an in-use bitmap was planned");
        } catch (org.diskplan.planner.ResizeError e) {
            assertThat(e.code()).isEqualTo(org.diskplan.abi.ErrorCode.BITMAPS_UNSUPPORTED);
        }
    }
}
