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
 * QED files whose structures share bytes, made from a qemu-img image with one field edited.
 * qemu's bdrv_qed_do_open checks only that the backing file name ends inside the header
 * clusters, so it reads a name lying in the 64 header bytes themselves. Over image_size,
 * DiskPlan's resize (which rewrites image_size) renamed the backing file, and qemu refused
 * the result ("Could not open '0@0'"). Now refused in one line naming the field and its
 * offset, the file byte for byte unchanged; {@code info} shows it, flagged.
 *
 * <p>QED's other overlaps (an L2 table on the L1 table, two L1 entries sharing an L2 table,
 * a data cluster on a table) are left alone: qemu opens them, and the resize rewrites only
 * the 64-byte header, which no table or data cluster can reach (qemu refuses offsets inside
 * the header clusters).
 */
@RequiresOracle({"qemu-img", "qemu-io"})
class QedOverlapRefusalTest {
    /** 0x30303000: image_size's bytes 1 to 3 read "000". */
    static final long SIZE = 0x30303000L;

    record Case(String name, Consumer<ByteBuffer> edit, String ours) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Case> cases() {
        return Stream.of(new Case("the backing file name over image_size", b -> {
            b.putLong(16, 1); // features: backing file
            b.putInt(56, 49);
            b.putInt(60, 3);
        }, "QED header field backing_filename_offset at offset 56: the backing file name (49 to 52) shares bytes "
                + "with image_size (48 to 56), which a resize rewrites"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void refusedInOneLineAndShownByInfo(Case c, @TempDir Path dir) throws IOException {
        ProcessRunner.Result made = Qemu.img(dir, "create", "-q", "-f", "qed", "d.qed", Long.toString(SIZE));
        assertThat(made.exitCode()).as(made.describe()).isZero();
        Qcow2Images.run(dir, List.of("qemu-io", "-f", "qed", "-c", "write -P 0x11 0 64k", "d.qed"));
        Files.write(dir.resolve("000"), new byte[1 << 20]);
        Path file = dir.resolve("d.qed");
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(b.getLong(48)).as("the layout this test edits").isEqualTo(SIZE);
        c.edit().accept(b);
        Files.write(file, b.array());

        ProcessRunner.Result q = ProcessRunner.of(Oracles.require("qemu-io").toString(), "-f", "qed", "-c", "length",
                "d.qed").in(dir).run();
        assertThat(q.stdout()).as("qemu opens it\n" + q.describe()).contains("MiB");

        String shown = OverlapRefusal.refusedThenShown(dir, "d.qed", List.of("d.qed", "+1M"),
                d -> assertThat(d.stderr()).as(d.describe()).contains(c.ours()));
        assertThat(shown).contains("file format: qed").contains("corrupt: QED header "
                + "field backing_filename_offset at offset 56");
    }
}
