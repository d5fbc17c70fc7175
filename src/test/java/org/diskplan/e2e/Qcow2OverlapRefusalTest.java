package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * qcow2 files whose structures share clusters, made from a qemu-img image with one field
 * edited. qemu opens every one of them read-only (its open checks look at each table alone;
 * read-write, it refuses a bitmap name that starts with a NUL byte, the last case); its
 * metadata overlap check only fires when it writes, and then marks the image corrupt.
 * DiskPlan resized all of these, and some results were worse than the
 * input: a grow over a guest cluster that is also the refcount block changed the guest's
 * data, a grow with an L1 entry that has flags but offset 0 (its L2 table read over the
 * header) gave {@code qemu-img check} a new error, as did a grow whose new clusters land where
 * a stale L2 entry past the end of the file points, and where qemu-img resize itself
 * refuses (a shrink freeing a data cluster that is an L2 table or a refcount block) DiskPlan
 * went ahead. Each is now refused in one line naming the field and its offset, the file byte
 * for byte unchanged; {@code info} still shows it.
 *
 * <p>The qemu-img image (1 MiB, 64 KiB clusters): header at 0, refcount table at 64 KiB, its
 * block at 128 KiB, the L1 table at 192 KiB, the L2 table at 256 KiB, guest clusters 0 and 15
 * at 320 and 384 KiB; with a snapshot its L1 table is at 448 KiB and the snapshot table
 * at 512 KiB; with a bitmap its table is at 448 KiB and the directory at 512 KiB.
 */
@RequiresOracle({"qemu-img", "qemu-io"})
class Qcow2OverlapRefusalTest {
    static final long K = 1024;
    static final long COPIED = 1L << 63;
    static final int L1 = 0x30000;
    static final int L2 = 0x40000;
    static final int REFTABLE = 0x10000;
    static final int SNAPSHOT_TABLE = 0x80000;
    static final int SNAPSHOT_L1 = 0x70000;
    static final int BITMAP_TABLE = 0x70000;
    static final int BITMAP_DIRECTORY = 0x80000;
    
    /** {@code setup}: qemu-img arguments run after the write; {@code qemuImgResizeRefuses}: its words, or empty. */
    record Case(String name, String compat, List<String> setup, Consumer<ByteBuffer> edit, String size,
                String ours, String qemuImgResizeRefuses) {
        @Override
        public String toString() {
            return name + " (compat " + compat + ")";
        }
    }

    static Stream<Case> cases() {
        List<Case> out = new ArrayList<>();
        for (String compat : List.of("1.1", "0.10")) {
            out.add(new Case("L1 table over the refcount table", compat, List.of(), b -> b.putLong(40, REFTABLE),
                    "+1M", "active L1 table (l1_table_offset at offset 40) overlaps the refcount table", ""));
            out.add(new Case("L2 table over the refcount table", compat, List.of(),
                    b -> b.putLong(L1, COPIED | REFTABLE), "+1M",
                    "the L2 table (L1 entry 0 at offset 196608) overlaps the refcount table", ""));
            out.add(new Case("L2 table over the L1 table", compat, List.of(), b -> b.putLong(L1, COPIED | L1),
                    "+1M", "the L2 table (L1 entry 0 at offset 196608) overlaps the active L1 table", ""));
            out.add(new Case("refcount block over the L1 table", compat, List.of(), b -> b.putLong(REFTABLE, L1),
                    "+1M", "the active L1 table (l1_table_offset at offset 40) overlaps the refcount block 0", ""));
            out.add(new Case("L2 table over the header (flags, offset 0)", compat, List.of(),
                    b -> b.putLong(L1, COPIED), "+1M",
                    "L1 entry 0 (at offset 196608: 8000000000000000) has flags but no L2 table offset", ""));
        }
        out.add(new Case("data cluster over the L2 table", "1.1", List.of(), b -> b.putLong(L2, COPIED | L2), "+1M",
                "L2 entry 0/0 (at offset 262144) maps guest data onto the L2 table at host offset 262144", ""));
        out.add(new Case("data cluster over the refcount block, grow 4G", "1.1", List.of(),
                b -> b.putLong(L2, COPIED | 0x20000), "+4G",
                "L2 entry 0/0 (at offset 262144) maps guest data onto the refcount block 0 at host offset 131072", ""));
        out.add(new Case("data cluster over the L2 table, shrink", "1.1", List.of(),
                b -> b.putLong(L2 + 15 * 8, COPIED | L2), "512K",
                "L2 entry 0/15 (at offset 262264) maps guest data onto the L2 table", "Assertion"));
        out.add(new Case("data cluster over the refcount block, shrink", "1.1", List.of(),
                b -> b.putLong(L2 + 15 * 8, COPIED | 0x20000), "512K",
                "L2 entry 0/15 (at offset 262264) maps guest data onto the refcount block 0",
                "Failed to discard unused refblocks"));
        out.add(new Case("data cluster past the end of the file, grow 4G", "1.1", List.of(),
                b -> b.putLong(L2 + 2 * 8, COPIED | 0x70000), "+4G",
                "L2 entry 0/2 (at offset 262160: 8000000000070000) is unaligned or points past the end of the file",
                ""));
        out.add(new Case("refcounts of the L2 table and guest cluster 0 zeroed, shrink", "0.10", List.of(),
                b -> b.putLong(0x20008, 0x10000), "512K",
                "host cluster 4 (offset 262144) holds the L2 table but its refcount is 0, and cutting the file", ""));
        out.add(new Case("an L2 entry without the copied flag on a copied cluster, shrink", "1.1", List.of(),
                b -> b.putLong(L2 + 2 * 8, 0x60000), "512K",
                "L2 entry 0/15 (at offset 262264) maps host offset 393216, which another L2 entry maps too, one of",
                ""));
        List<String> snapshot = List.of("snapshot", "-c", "s1", "d.qcow2");
        out.add(new Case("snapshot table over the L1 table", "1.1", snapshot, b -> b.putLong(64, L1), "+1M",
                "the snapshot table (snapshots_offset at offset 64) overlaps the active L1 table", ""));
        out.add(new Case("snapshot L1 table over the active L1 table", "1.1", snapshot,
                b -> b.putLong(SNAPSHOT_TABLE, L1), "+1M",
                "the L1 table of snapshot 1 (l1_table_offset of snapshot 1 at offset 524288) overlaps the active L1",
                ""));
        out.add(new Case("snapshot L2 table over the active L1 table, shrink", "1.1", snapshot,
                b -> b.putLong(SNAPSHOT_L1, L1), "512K",
                "the L2 table of snapshot 1 (L1 entry 0 of snapshot 1 at offset 458752) overlaps the active L1", ""));
        out.add(new Case("two L2 entries with the copied flag on one cluster, shrink", "1.1", List.of(),
                b -> b.putLong(L2 + 3 * 8, COPIED | 0x60000), "512K",
                "L2 entry 0/15 (at offset 262264) maps host offset 393216, which another L2 entry maps too, one of",
                ""));
        List<String> bitmap = List.of("bitmap", "--add", "d.qcow2", "b0");
        out.add(new Case("bitmap data over guest data, grow 4G", "1.1", bitmap,
                b -> b.putLong(BITMAP_TABLE, 0x60000), "+4G",
                "L2 entry 0/15 (at offset 262264) maps guest data onto the bitmap data of 'b0'", ""));
        out.add(new Case("bitmap name starting with a NUL byte", "1.1", bitmap,
                b -> b.put(BITMAP_DIRECTORY + 24, (byte) 0), "+1M",
                "Could not open 'd.qcow2': Can't update bitmap directory: Invalid argument (name of bitmap 1 at "
                + "offset 524312 starts with a NUL byte)", "Can't update bitmap directory: Invalid argument"));
        return out.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void refusedInOneLineAndShownByInfo(Case c, @TempDir Path dir) throws IOException {
        ProcessRunner.Result made = Qemu.img(dir, "create", "-q", "-f", "qcow2", "-o", "compat=" + c.compat(),
                "d.qcow2", "1M");
        assertThat(made.exitCode()).as(made.describe()).isZero();
        Qcow2Images.run(dir, List.of("qemu-io", "-f", "qcow2", "-c", "write -P 0x11 0 64k", "-c",
                "write -P 0x22 960k 64k", "d.qcow2"));
        if (!c.setup().isEmpty()) {
            ProcessRunner.Result s = Qemu.img(dir, c.setup());
            assertThat(s.exitCode()).as(s.describe()).isZero();
        }
        Path file = dir.resolve("d.qcow2");
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file));
        assertThat(b.getLong(40)).as("the layout this test edits").isEqualTo(L1);
        assertThat(b.getLong(L1) & ~COPIED).as("the layout this test edits").isEqualTo(L2);
        assertThat(b.getLong(L2) & ~COPIED).as("the layout this test edits").isEqualTo(0x50000);
        c.edit().accept(b);
        Files.write(file, b.array());
        byte[] before = b.array().clone();

        // read-only: opened read-write, qemu stores the bitmaps anew when it closes the file
        ProcessRunner.Result q = ProcessRunner.of(Oracles.require("qemu-io").toString(), "-r", "-f", "qcow2", "-c",
                "length", "d.qcow2").in(dir).run();
        assertThat(q.stdout()).as("qemu opens it (read-only)\n" + q.describe()).contains("1 MiB");
        boolean qemuOpens = !c.ours().startsWith("Could not open");

        Files.write(dir.resolve("q.qcow2"), before);
        ProcessRunner.Result qr = Qemu.img(dir, "resize", "-f", "qcow2", "--shrink", "q.qcow2", c.size());
        if (c.qemuImgResizeRefuses().isEmpty()) {
            assertThat(qr.exitCode()).as("qemu-img resize goes ahead\n" + qr.describe()).isZero();
        } else {
            assertThat(qr.exitCode()).as(qr.describe()).isNotZero();
            assertThat(qr.stdout() + qr.stderr()).as(qr.describe()).contains(c.qemuImgResizeRefuses());
        }

        String shown = OverlapRefusal.refusedThenShown(dir, "d.qcow2", List.of("--shrink", "d.qcow2", c.size()),
                d -> assertThat(d.stderr()).as(d.describe())
                        .contains(qemuOpens ? "is damaged and DiskPlan will not resize it" : "").contains(c.ours()));
        assertThat(shown).contains("file format: qcow2")
                .contains(qemuOpens ? "flag: corrupt: " : "flag: qemu refuses to open it: ");
    }
}
