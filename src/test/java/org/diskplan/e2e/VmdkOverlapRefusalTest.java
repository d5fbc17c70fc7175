package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * monolithicSparse VMDK files whose structures share bytes, made from a qemu-img image with
 * one field edited. qemu's vmdk_open_vmdk4 checks no overlaps: it opens every one of these
 * (but one: the descriptor moved off sector 1, where qemu reads the CIDs whatever
 * descriptorOffset says, which qemu refuses and DiskPlan resized).
 * DiskPlan resized them all (or, for a grain table over the directory, refused only through
 * its plan self-check): over the descriptor, the directory, a shared grain table or a shared
 * last grain, the resize changed guest data in the common part (qemu-img compare). Each is now
 * refused in one line naming the field and its offset, the file byte for byte unchanged;
 * {@code info} shows it, flagged.
 *
 * <p>The qemu-img layout (4 MiB): header, descriptor at sector 1 (20 sectors), redundant
 * directory at 21, its grain table at 22, directory at 26, grain table at 27, first grain at
 * 64 KiB. Offsets are read from the header, so a 40 MiB image (two tables each) works too.
 *
 * <p>And descriptor files whose RW extent lines name one file twice (directly or through a
 * link): qemu opens the file once per line for writing, and the second open fails ("Failed
 * to get "resize" lock"), so it refuses the disk read-write. DiskPlan resized them; with
 * the two ranges overlapping, the grow zeroed the first extent's data. (The CID's width
 * varies, so the line offsets are not asserted.)
 */
@RequiresOracle({"qemu-img", "qemu-io"})
class VmdkOverlapRefusalTest {
    static final long MIB = 1 << 20;

    /** Edits an image; {@code l} gives the layout read from its header. */
    interface Edit {
        void apply(ByteBuffer b, Layout l);
    }

    record Layout(long gd, long rgd) {
        long gt(ByteBuffer b, int i) {
            return Integer.toUnsignedLong(b.getInt((int) gd + 4 * i)) * 512;
        }

        long rgt(ByteBuffer b, int i) {
            return Integer.toUnsignedLong(b.getInt((int) rgd + 4 * i)) * 512;
        }
    }

    /** {@code qemuRefuses}: qemu-io's open fails with these words; empty when qemu opens the file. */
    record Case(String name, long size, List<String> writes, Edit edit, String grow, String ours,
                String qemuRefuses) {
        Case(String name, long size, List<String> writes, Edit edit, String grow, String ours) {
            this(name, size, writes, edit, grow, ours, "");
        }

        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Case> cases() {
        return Stream.of(
                new Case("a grain over the embedded descriptor", 4 * MIB, List.of(), (b, l) -> {
                    b.putInt((int) l.gt(b, 0) + 4, 1);
                    b.putInt((int) l.rgt(b, 0) + 4, 1);
                }, "+1M", "grain table entry at offset 13828: its grain (512 to 66048) overlaps the embedded descriptor"
                        + " (512 to 10752)"),
                new Case("a grain over the grain directory", 4 * MIB, List.of(), (b, l) -> {
                    b.putInt((int) l.gt(b, 0) + 4, (int) (l.gd() / 512));
                    b.putInt((int) l.rgt(b, 0) + 4, (int) (l.gd() / 512));
                }, "+36M", "grain table entry at offset 13828: its grain (13312 to 78848) overlaps the grain directory (13312 to 13824)"),
                new Case("a grain over a grain table", 4 * MIB, List.of(), (b, l) -> {
                    b.putInt((int) l.gt(b, 0) + 4, 27);
                    b.putInt((int) l.rgt(b, 0) + 4, 27);
                }, "+1M", "grain table entry at offset 13828: its grain (13824 to 79360) overlaps the grain table 0 (13824 to 15872)"),
                new Case("two directory entries sharing a grain table", 40 * MIB, List.of("write -P 0x22 20M 64k"),
                        (b, l) -> {
                            b.putInt((int) l.gd() + 4, b.getInt((int) l.gd()));
                            b.putInt((int) l.rgd() + 4, b.getInt((int) l.rgd()));
                        }, "+1M", "redundant grain directory entry 1 at offset 10756: the redundant grain table 1 "
                        + "(11264 to 13312) overlaps the redundant grain table 0 (11264 to 13312)"),
                new Case("two entries sharing the last, partly used grain", 4 * MIB - 512, List.of(), (b, l) -> {
                    b.putInt((int) l.gt(b, 0) + 63 * 4, 128);
                    b.putInt((int) l.rgt(b, 0) + 63 * 4, 128);
                }, "+1M", "grain table entry at offset 14076: its grain (65536 to 131072) overlaps the grain of the "
                        + "entry at offset 13824"),
                new Case("a grain table over the grain directory", 4 * MIB, List.of(), (b, l) -> {
                    b.putInt((int) l.gd(), (int) (l.gd() / 512));
                    b.putInt((int) l.rgd(), (int) (l.gd() / 512));
                }, "+1M", "grain directory entry 0 at offset 13312: the grain table 0 (13312 to 15360) overlaps the "
                        + "grain directory (13312 to 13824)"),
                new Case("the redundant directory on the primary", 4 * MIB, List.of(),
                        (b, l) -> b.putLong(48, l.gd() / 512), "+1M", "VMDK4 header field gdOffset at offset 56: the "
                        + "grain directory (13312 to 13824) overlaps the redundant grain directory (13312 to 13824)"),
                new Case("the descriptor moved off sector 1, where qemu reads the CIDs", 4 * MIB, List.of(),
                        (b, l) -> {
                            byte[] text = new byte[20 * 512];
                            b.get(512, text);
                            b.put(100 * 512, text);
                            b.put(512, new byte[20 * 512]);
                            b.putLong(28, 100);
                        }, "+1M", "VMDK4 header field descriptorOffset at offset 28: the embedded descriptor is at "
                        + "sector 100, but qemu reads the CIDs at offset 512: no CID in the descriptor there",
                        "Invalid argument"),
                new Case("descriptor sectors reaching over the tables", 4 * MIB, List.of(), (b, l) -> b.putLong(36, 40),
                        "+1M", "VMDK4 header field rgdOffset at offset 48: the redundant grain directory (10752 to "
                        + "11264) overlaps the embedded descriptor (512 to 20992)"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void refusedInOneLineAndShownByInfo(Case c, @TempDir Path dir) throws IOException {
        ProcessRunner.Result made = Qemu.img(dir, "create", "-q", "-f", "vmdk", "d.vmdk", Long.toString(c.size()));
        assertThat(made.exitCode()).as(made.describe()).isZero();
        List<String> io = new ArrayList<>(List.of("qemu-io", "-f", "vmdk", "-c", "write -P 0x11 0 64k"));
        for (String w : c.writes()) {
            io.addAll(List.of("-c", w));
        }
        io.add("d.vmdk");
        Qcow2Images.run(dir, io);
        Path file = dir.resolve("d.vmdk");
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        Layout l = new Layout(b.getLong(56) * 512, b.getLong(48) * 512);
        assertThat(l.gt(b, 0)).as("the layout this test edits").isEqualTo(c.size() > 32 * MIB ? 31 * 512 : 27 * 512);
        c.edit().apply(b, l);
        Files.write(file, b.array());

        ProcessRunner.Result q = ProcessRunner.of(Oracles.require("qemu-io").toString(), "-f", "vmdk", "-c", "length",
                "d.vmdk").in(dir).run();
        if (c.qemuRefuses().isEmpty()) {
            assertThat(q.stdout()).as("qemu opens it\n" + q.describe()).contains("MiB");
        } else {
            assertThat(q.stdout() + q.stderr()).as("qemu refuses it\n" + q.describe()).contains(c.qemuRefuses());
        }

        String shown = OverlapRefusal.refusedThenShown(dir, "d.vmdk", List.of("d.vmdk", c.grow()),
                d -> assertThat(d.stderr()).as(d.describe()).contains("corrupt: " + c.ours()));
        assertThat(shown).contains("file format: vmdk").contains("corrupt: "
                + c.ours());
    }
    /** A descriptor disk qemu-img made, its text edited; {@code link} a symbolic link to make first. */
    record DescriptorCase(String name, String subformat, String extentFileSize, String link,
                          UnaryOperator<String> edit, String ours) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<DescriptorCase> descriptorCases() {
        return Stream.of(
                new DescriptorCase("two lines, one flat file, the ranges overlapping", "monolithicFlat", "8M", null,
                        t -> t.replace("RW 8192 FLAT \"d-flat.vmdk\" 0\n",
                                "RW 8192 FLAT \"d-flat.vmdk\" 8192\nRW 8192 FLAT \"d-flat.vmdk\" 0\n"),
                        "names \"d-flat.vmdk\", the file of extent line 8"),
                new DescriptorCase("two lines, one flat file, apart", "monolithicFlat", "8M", null,
                        t -> t.replace("RW 8192 FLAT \"d-flat.vmdk\" 0\n",
                                "RW 8192 FLAT \"d-flat.vmdk\" 0\nRW 8192 FLAT \"d-flat.vmdk\" 8192\n"),
                        "names \"d-flat.vmdk\", the file of extent line 8"),
                new DescriptorCase("a second name linking to the flat file", "monolithicFlat", "8M", "e-flat.vmdk",
                        t -> t.replace("RW 8192 FLAT \"d-flat.vmdk\" 0\n",
                                "RW 8192 FLAT \"d-flat.vmdk\" 0\nRW 8192 FLAT \"e-flat.vmdk\" 8192\n"),
                        "names \"e-flat.vmdk\", the file of extent line 8 (\"d-flat.vmdk\")"),
                new DescriptorCase("a sparse extent line repeated", "twoGbMaxExtentSparse", null, null,
                        t -> t.replace("RW 8192 SPARSE \"d-s001.vmdk\"\n",
                                "RW 8192 SPARSE \"d-s001.vmdk\"\nRW 8192 SPARSE \"d-s001.vmdk\"\n"),
                        "names \"d-s001.vmdk\", the file of extent line 8"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("descriptorCases")
    void descriptorNamingOneFileTwiceIsRefused(DescriptorCase c, @TempDir Path dir) throws IOException {
        ProcessRunner.Result made = Qemu.img(dir, "create", "-q", "-f", "vmdk", "-o", "subformat=" + c.subformat(),
                "d.vmdk", "4M");
        assertThat(made.exitCode()).as(made.describe()).isZero();
        Qcow2Images.run(dir, List.of("qemu-io", "-f", "vmdk", "-c", "write -P 0x11 0 64k", "d.vmdk"));
        if (c.extentFileSize() != null) {
            Qcow2Images.run(dir, List.of("truncate", "-s", c.extentFileSize(), "d-flat.vmdk"));
        }
        if (c.link() != null) {
            Files.createSymbolicLink(dir.resolve(c.link()), Path.of("d-flat.vmdk"));
        }
        Path file = dir.resolve("d.vmdk");
        String text = Files.readString(file, java.nio.charset.StandardCharsets.ISO_8859_1);
        String edited = c.edit().apply(text);
        assertThat(edited).as("the descriptor this test edits").isNotEqualTo(text);
        Files.writeString(file, edited, java.nio.charset.StandardCharsets.ISO_8859_1);

        ProcessRunner.Result q = ProcessRunner.of(Oracles.require("qemu-io").toString(), "-f", "vmdk", "-c", "length",
                "d.vmdk").in(dir).run();
        assertThat(q.stdout() + q.stderr()).as("qemu refuses it read-write\n" + q.describe()).contains("lock");

        String shown = OverlapRefusal.refusedThenShown(dir, "d.vmdk", List.of("d.vmdk", "+1M"),
                d -> assertThat(d.stderr()).as(d.describe()).contains("same extent file: extent line 9 at offset ")
                        .contains(c.ours()));
        assertThat(shown).contains("same extent file: extent line 9").contains(c.ours());
    }
}
