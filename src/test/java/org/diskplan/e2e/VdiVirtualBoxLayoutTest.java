package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.assertj.core.api.SoftAssertions;
import org.diskplan.probe.ImageProber;
import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.vdi.VdiHeader;
import org.diskplan.probe.vdi.VdiLayout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * VDIs laid out as VirtualBox writes them ({@link VirtualBoxVdi}: 400-byte header with LCHS,
 * its pre-header text, map at 1 MiB and data on the next MiB, fixed images fully mapped,
 * maps longer than the disk needs), guest blocks allocated out of order by qemu-io, then
 * resized with {@code diskplan resize}. After each: qemu-img check clean, qemu-img info the
 * new size, {@code qemu-img compare} against the original converted to raw and cut or
 * lengthened to the new size (old data identical, new range zeros), the last MiB written
 * and read by qemu-io, check clean again; and the header still passes what VirtualBox's
 * VDI.cpp checks on open (vdiValidateHeader: offData ≥ offBlocks + 4 × cBlocks, cBlocksAllocated
 * ≤ cBlocks, cbBlock × cBlocks ≥ cbDisk, non-null creation/modification UUIDs, LCHS sector
 * size 512; vdiImageBackResolvTblCreate: every allocated entry below cBlocksAllocated and
 * used once), with the pre-header text, header size and data alignment kept.
 */
@RequiresOracle({"qemu-img", "qemu-io"})
class VdiVirtualBoxLayoutTest {
    static final long MIB = 1 << 20;

    record Case(String name, boolean fixed, long size, int extraEntries, List<String> writes, long newSize) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Case> cases() {
        List<String> outOfOrder = List.of("write -P 0x21 40M 1M", "write -P 0x22 63M 1M", "write -P 0x23 20M 8M",
                "write -P 0x5a 0 1M", "write -P 0x44 2M 512k", "write -P 0x33 5M 1M");
        List<String> plain = List.of("write -P 0x5a 0 1M", "write -P 0x44 2M 512k", "write -P 0x33 5M 1M");
        return Stream.of(
                // the map at 1 MiB has room for 256 Ki entries before offData (2 MiB)
                new Case("dynamic, blocks out of order, grow in place (64M -> 20G)", false, 64 * MIB, 0, outOfOrder,
                        20L << 30),
                new Case("dynamic, blocks out of order, grow moving 7 blocks (64M -> 2T)", false, 64 * MIB, 0,
                        outOfOrder, 2L << 40),
                new Case("dynamic, shrink compacting (64M -> 24M)", false, 64 * MIB, 0, outOfOrder, 24 * MIB),
                new Case("dynamic, map 5 entries longer, grow (64M -> 100M+512)", false, 64 * MIB, 5, outOfOrder,
                        100 * MIB + 512),
                new Case("dynamic, map 5 entries longer, shrink (64M -> 32M)", false, 64 * MIB, 5, outOfOrder,
                        32 * MIB),
                new Case("static, grow (16M -> 40M+512)", true, 16 * MIB, 0, plain, 40 * MIB + 512));
    }

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void resizedVirtualBoxImageIsCleanAndKeepsItsData(Case c) throws Exception {
        Path img = dir.resolve("img.vdi");
        VirtualBoxVdi.create(img, c.size(), c.fixed(), c.extraEntries());
        assertThat(io(c.writes().toArray(String[]::new))).doesNotContain("error");
        VdiHeader before = header(img);
        assertThat(Qemu.img(dir, "check", "-f", "vdi", "img.vdi").exitCode()).as("made clean").isZero();
        assertThat(Qemu.img(dir, "convert", "-f", "vdi", "-O", "raw", "img.vdi", "ref.raw").exitCode()).isZero();
        try (RandomAccessFile raf = new RandomAccessFile(dir.resolve("ref.raw").toFile(), "rw")) {
            raf.setLength(c.newSize());
        }
        List<String> args = new ArrayList<>(List.of("resize"));
        if (c.newSize() < c.size()) {
            args.add("--shrink");
        }
        args.addAll(List.of("img.vdi", "--", Long.toString(c.newSize())));
        ProcessRunner.Result us = Diskplan.run(dir, args);
        assertThat(us.exitCode()).as(us.describe()).isZero();

        SoftAssertions soft = new SoftAssertions();
        ProcessRunner.Result check = Qemu.img(dir, "check", "-f", "vdi", "img.vdi");
        soft.assertThat(check.exitCode()).as("qemu-img check\n" + check.describe()).isZero();
        soft.assertThat(check.stdout()).as(check.describe()).contains("No errors were found");
        ProcessRunner.Result compare = Qemu.img(dir, "compare", "-f", "vdi", "-F", "raw", "img.vdi", "ref.raw");
        soft.assertThat(compare.exitCode()).as("qemu-img compare with the original, cut or lengthened\n"
                + compare.describe()).isZero();
        VdiHeader after = header(img);
        soft.assertThat(after.diskSize()).as("cbDisk").isEqualTo(c.newSize());
        virtualBoxWouldOpen(soft, after);
        soft.assertThat(after.preHeaderText()).isEqualTo(before.preHeaderText());
        soft.assertThat(after.headerSize()).isEqualTo(VdiLayout.HEADER_SIZE_1PLUS);
        soft.assertThat(after.description()).isEqualTo("made like VirtualBox");
        soft.assertThat(after.uuidCreate()).isEqualTo(before.uuidCreate());
        soft.assertThat(after.uuidModify()).as("kept, as VirtualBox's own resize keeps it").isEqualTo(before.uuidModify());
        soft.assertThat(after.blocksOffset()).isEqualTo(before.blocksOffset());
        soft.assertThat(after.dataOffset() % VirtualBoxVdi.DATA_ALIGN).as("offData on a MiB").isZero();
        if (c.newSize() < c.size()) {
            soft.assertThat(Files.size(img)).as("file cut after the last block")
                    .isEqualTo(after.dataOffset() + after.blocksAllocated() * MIB);
        }
        long last = c.newSize() - MIB;
        soft.assertThat(io("write -P 0x77 " + last + " 1M", "read -P 0x77 " + last + " 1M"))
                .as("last MiB").doesNotContain("Pattern verification failed").doesNotContain("error");
        ProcessRunner.Result check2 = Qemu.img(dir, "check", "-f", "vdi", "img.vdi");
        soft.assertThat(check2.exitCode()).as("qemu-img check after the write\n" + check2.describe()).isZero();
        virtualBoxWouldOpen(soft, header(img));
        soft.assertAll();
    }

    /** What VDI.cpp checks when it opens an image (and builds the discard table). */
    private static void virtualBoxWouldOpen(SoftAssertions soft, VdiHeader h) {
        soft.assertThat(h.dataOffset()).as("offData >= offBlocks + 4 x cBlocks")
                .isGreaterThanOrEqualTo(h.blocksOffset() + VdiLayout.mapBytes(h.blockCount()));
        soft.assertThat(h.blocksOffset()).as("offBlocks after the header")
                .isGreaterThanOrEqualTo(VdiLayout.PRE_HEADER_SIZE + h.headerSize());
        soft.assertThat(h.blocksAllocated()).as("cBlocksAllocated <= cBlocks").isLessThanOrEqualTo(h.blockCount());
        soft.assertThat(h.blockSize() * h.blockCount()).as("cbBlock x cBlocks >= cbDisk")
                .isGreaterThanOrEqualTo(h.diskSize());
        soft.assertThat(h.uuidModify()).isNotEqualTo("00000000-0000-0000-0000-000000000000");
        soft.assertThat(h.lchsSectorSize()).as("LCHS sector size").isEqualTo(512);
        soft.assertThat(h.highestBlockIndex()).as("every entry below cBlocksAllocated")
                .isLessThan(h.blocksAllocated());
        soft.assertThat(h.mapAllocated()).as("each host block used once").isEqualTo(h.blocksAllocated());
    }

    private static VdiHeader header(Path f) throws Exception {
        ProbedImage p = ImageProber.probe(f, Optional.of("vdi"));
        assertThat(p.flags()).noneMatch(s -> s.startsWith("corrupt"));
        return (VdiHeader) p.header();
    }

    private String io(String... cmds) {
        List<String> cmd = new ArrayList<>(List.of(Oracles.require("qemu-io").toString(), "-f", "vdi"));
        for (String c : cmds) {
            cmd.addAll(List.of("-c", c));
        }
        cmd.add("img.vdi");
        ProcessRunner.Result r = ProcessRunner.of(cmd).in(dir).timeout(java.time.Duration.ofMinutes(2)).run();
        assertThat(r.exitCode()).as(r.describe()).isZero();
        return r.stdout() + r.stderr();
    }
}
