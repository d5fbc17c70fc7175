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
import java.util.zip.CRC32C;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * VHDX files whose structures overlap, made from a qemu-img image (checksums recomputed, so
 * only the overlap is wrong). qemu's vhdx_open refuses a region that overlaps the log or an
 * earlier region, and a fully present block over any of them; DiskPlan planned resizes of all
 * of these (the results qemu refused as before). And one qemu opens: the virtual disk size
 * item pointed at the file parameters (CI's differential, vhdx mutant 3144, seed 0), where
 * DiskPlan's new size rewrote the block size and qemu refused the result. Each is refused in
 * one line naming the field, the file byte for byte unchanged; {@code info} shows it, flagged.
 *
 * <p>The qemu-img image: headers in the first MiB, the log at 1 MiB, the BAT at 2 MiB, the
 * metadata at 3 MiB (items 64 KiB in), the first guest block at 8 MiB.
 */
@RequiresOracle({"qemu-img", "qemu-io"})
class VhdxOverlapRefusalTest {
    static final int MIB = 1 << 20;
    static final int[] HEADERS = {0x10000, 0x20000};
    static final int[] REGION_TABLES = {0x30000, 0x40000};
    static final int BAT = 2 * MIB;

    /** {@code qemuRefuses}: qemu-io's open fails with these words; empty when qemu opens the file. */
    record Case(String name, Consumer<ByteBuffer> edit, String qemuRefuses, String ours) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Case> cases() {
        return Stream.of(
                new Case("BAT region over the metadata region", b -> region(b, 0, 16, 3L * MIB),
                        "overlaps with region", "metadata region (3145728 to 4194304) overlaps the BAT region"),
                new Case("BAT region long enough to reach the metadata", b -> regionLength(b, 0, 2 * MIB),
                        "overlaps with region", "metadata region (3145728 to 4194304) overlaps the BAT region"),
                new Case("BAT region over the log", b -> region(b, 0, 16, MIB), "overlaps with region",
                        "BAT region (1048576 to 2097152) overlaps the log"),
                new Case("log over the BAT", b -> header(b, 72, 2L * MIB), "overlaps with region",
                        "BAT region (2097152 to 3145728) overlaps the log"),
                new Case("a block in the metadata region", b -> b.putLong(BAT, 3L * MIB | 6), "overlaps with region",
                        "BAT entry 0 at offset 2097152 places its block (3145728 to 4194304) over the metadata"),
                new Case("a block over the BAT", b -> b.putLong(BAT, 2L * MIB | 6), "overlaps with region",
                        "places its block (2097152 to 3145728) over the BAT region"),
                new Case("a block over the log", b -> b.putLong(BAT, (long) MIB | 6), "overlaps with region",
                        "places its block (1048576 to 2097152) over the log"),
                new Case("size item on the file parameters", b -> b.putInt(3 * MIB + 32 + 32 + 16, 0x10000), "",
                        "field offset at offset 3145808: 65536 puts the item (at 3211264) over the file parameters"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void refusedInOneLineAndShownByInfo(Case c, @TempDir Path dir) throws IOException {
        ProcessRunner.Result made = Qemu.img(dir, "create", "-q", "-f", "vhdx", "-o",
                "subformat=dynamic,block_size=1M,log_size=1M", "d.vhdx", "4M");
        assertThat(made.exitCode()).as(made.describe()).isZero();
        Qcow2Images.run(dir, List.of("qemu-io", "-f", "vhdx", "-c", "write -P 0x11 0 64k", "d.vhdx"));
        Path file = dir.resolve("d.vhdx");
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(b.getLong(BAT) >>> 20).as("the layout this test edits").isEqualTo(8);
        c.edit().accept(b);
        for (int h : HEADERS) {
            crc(b, h, 4096);
        }
        for (int t : REGION_TABLES) {
            crc(b, t, 65536);
        }
        Files.write(file, b.array());

        ProcessRunner.Result q = ProcessRunner.of(Oracles.require("qemu-io").toString(), "-f", "vhdx", "-c", "length", "d.vhdx")
                .in(dir).run();
        if (c.qemuRefuses().isEmpty()) {
            assertThat(q.stdout()).as("qemu opens it\n" + q.describe()).contains("MiB");
        } else {
            assertThat(q.stdout() + q.stderr()).as("qemu refuses it\n" + q.describe()).contains(c.qemuRefuses());
        }

        String shown = OverlapRefusal.refusedThenShown(dir, "d.vhdx", List.of("d.vhdx", "+1M"),
                d -> assertThat(d.stderr()).as(d.describe()).contains(c.ours()));
        assertThat(shown).contains("file format: vhdx");
    }

    private static void region(ByteBuffer b, int entry, int field, long value) {
        for (int t : REGION_TABLES) {
            b.putLong(t + 16 + 32 * entry + field, value);
        }
    }

    private static void regionLength(ByteBuffer b, int entry, int value) {
        for (int t : REGION_TABLES) {
            b.putInt(t + 16 + 32 * entry + 24, value);
        }
    }

    private static void header(ByteBuffer b, int field, long value) {
        for (int h : HEADERS) {
            b.putLong(h + field, value);
        }
    }

    private static void crc(ByteBuffer b, int at, int length) {
        b.putInt(at + 4, 0);
        CRC32C crc = new CRC32C();
        crc.update(b.array(), at, length);
        b.putInt(at + 4, (int) crc.getValue());
    }
}
