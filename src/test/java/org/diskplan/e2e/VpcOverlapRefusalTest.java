package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Dynamic VHD files whose structures overlap, made from a qemu-img image (checksums
 * recomputed, so only the overlap is wrong). qemu's vpc_open checks no overlap and opens every
 * one. A resize writes the footer copy, the dynamic header, the BAT and the footer at the end,
 * and DiskPlan resized all of these before: a block over the footer at the end, over the footer
 * copy or holding the dynamic header came out with its guest data changed ({@code qemu-img
 * compare}: content mismatch), and a BAT inside the dynamic header grew over the parent name,
 * so the header checksum no longer matched and DiskPlan refused its own result. Each is now
 * refused in one line naming the BAT entry or field and its offset, the file byte for byte
 * unchanged; {@code info} shows it, flagged.
 *
 * <p>The qemu-img image (4 MiB, creator "qemu", 2 MiB blocks): the footer copy at 0, the
 * dynamic header at 512, the BAT (3 entries) at 1536, block 0 (bitmap + data) at 2048, the
 * footer at 2099712. The resize is +8 MiB, so the BAT grows (3 to 7 entries).
 */
@RequiresOracle({"qemu-img", "qemu-io"})
class VpcOverlapRefusalTest {
    static final int HEADER = 512;
    static final int BAT = 1536;
    static final int BLOCK = 2048;
    static final int FOOTER = 2099712;

    record Case(String name, Consumer<ByteBuffer> edit, String ours) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Case> cases() {
        return Stream.of(
                new Case("a block on the footer copy", b -> b.putInt(BAT, 0),
                        "BAT entry 0 at offset 1536 places its block (0 to 2097664, bitmap and data) over the footer "
                                + "copy (0 to 512)"),
                new Case("a block with its bitmap on the BAT", b -> b.putInt(BAT, BAT / 512),
                        "BAT entry 0 at offset 1536 places its block (1536 to 2099200, bitmap and data) over the BAT "
                                + "(1536 to 1548)"),
                new Case("a block over the footer at the end", b -> b.putInt(BAT, BLOCK / 512 + 1),
                        "BAT entry 0 at offset 1536 places its block (2560 to 2100224, bitmap and data) over the "
                                + "footer (2099712 to 2100224)"),
                new Case("the dynamic header inside a block", VpcOverlapRefusalTest::headerInBlock,
                        "BAT entry 0 at offset 1536 places its block (2048 to 2099712, bitmap and data) over the "
                                + "dynamic header (6656 to 7680)"),
                new Case("the BAT inside a block", VpcOverlapRefusalTest::batInBlock,
                        "BAT entry 0 at offset 10752 places its block (2048 to 2099712, bitmap and data) over the BAT "
                                + "(10752 to 10764)"),
                new Case("the BAT inside the dynamic header", VpcOverlapRefusalTest::batInHeader,
                        "dynamic header field table_offset at offset 528: the BAT (1024 to 1036) overlaps the dynamic "
                                + "header (512 to 1536)"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void refusedInOneLineAndShownByInfo(Case c, @TempDir Path dir) throws IOException {
        ProcessRunner.Result made = Qemu.img(dir, "create", "-q", "-f", "vpc", "d.vhd", "4M");
        assertThat(made.exitCode()).as(made.describe()).isZero();
        Qcow2Images.run(dir, List.of("qemu-io", "-f", "vpc", "-c", "write -P 0x11 0 64k", "d.vhd"));
        Path file = dir.resolve("d.vhd");
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.BIG_ENDIAN);
        assertThat(b.capacity()).as("the layout this test edits").isEqualTo(FOOTER + 512);
        assertThat(b.getLong(HEADER + 16)).isEqualTo(BAT);
        assertThat(b.getInt(BAT)).isEqualTo(BLOCK / 512);
        c.edit().accept(b);
        long header = b.getLong(16);
        checksum(b, (int) header, 1024, 36);
        checksum(b, 0, 512, 64);
        b.put(FOOTER, b.array(), 0, 512);
        Files.write(file, b.array());

        ProcessRunner.Result q = ProcessRunner.of(Oracles.require("qemu-io").toString(), "-f", "vpc", "-c", "length",
                "d.vhd").in(dir).run();
        assertThat(q.stdout()).as("qemu opens it\n" + q.describe()).contains("MiB");

        String shown = OverlapRefusal.refusedThenShown(dir, "d.vhd", List.of("d.vhd", "+8M"),
                d -> assertThat(d.stderr()).as(d.describe()).contains("corrupt: " + c.ours()));
        assertThat(shown).contains("file format: vpc", "flag: corrupt: " + c.ours());
    }

    /** data_offset (in the footers) at a copy of the header 4 KiB into block 0's data. */
    private static void headerInBlock(ByteBuffer b) {
        int at = BLOCK + 512 + 4096;
        b.put(at, b.array(), HEADER, 1024);
        b.putLong(16, at);
    }

    /** table_offset at a copy of the BAT 8 KiB into block 0's data. */
    private static void batInBlock(ByteBuffer b) {
        int at = BLOCK + 512 + 8192;
        b.put(at, b.array(), BAT, 12);
        b.putLong(HEADER + 16, at);
    }

    /** table_offset 1024: the 3 entries are the first 12 bytes of the parent name, made absent (0xff). */
    private static void batInHeader(ByteBuffer b) {
        for (int i = 0; i < 3; i++) {
            b.putInt(1024 + 4 * i, -1);
        }
        b.putLong(HEADER + 16, 1024);
    }

    /** VHD checksum: ones' complement of the byte sum, the field taken as zero. */
    private static void checksum(ByteBuffer b, int at, int length, int field) {
        b.putInt(at + field, 0);
        long sum = 0;
        for (int i = 0; i < length; i++) {
            sum += b.get(at + i) & 0xff;
        }
        b.putInt(at + field, (int) ~sum);
    }
}
