package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * VDI files whose header, block map and data area overlap, made from a qemu-img image (VDI
 * has no checksum). qemu's vdi_open checks the signature, version, alignment of offBlocks and
 * offData, sector and block size, cbDisk against cBlocks, the UUIDs and the block count, but
 * no overlap: it opens every one of these (reading the map from the header, zeros past the end
 * of the file, data over the map). DiskPlan refused to resize them before too, but as a file
 * it could not parse: {@code info} failed (exit 1, the fields read so far). Now each is shown
 * by {@code info}, flagged corrupt naming the field and its offset, and a resize is refused in
 * one line, the file byte for byte unchanged.
 *
 * <p>The qemu-img image (4 MiB, 64 KiB written): the 512-byte header, the map (4 entries) at
 * 512, the data area from 1024 (block 0 there), 1049600 bytes.
 */
@RequiresOracle({"qemu-img", "qemu-io"})
class VdiOverlapRefusalTest {
    static final int OFF_BLOCKS = 340;
    static final int OFF_DATA = 344;
    static final int MAP = 512;
    static final int DATA = 1024;
    static final int LENGTH = DATA + (1 << 20);

    record Case(String name, Function<ByteBuffer, ByteBuffer> edit, String ours) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Case> cases() {
        return Stream.of(
                new Case("the map on the header", b -> b.putInt(OFF_BLOCKS, 0),
                        "VDI header field offBlocks at offset 340: block map offset 0 overlaps the header"),
                new Case("the data area over the map", b -> b.putInt(OFF_DATA, MAP),
                        "VDI header field offData at offset 344: the data area from offset 512 overlaps the block "
                                + "map [512, 528)"),
                new Case("the data area on the header", b -> b.putInt(OFF_DATA, 0),
                        "VDI header field offData at offset 344: the data area from offset 0 overlaps the block map"),
                new Case("the map after the data", VdiOverlapRefusalTest::mapAfterData,
                        "VDI header field offData at offset 344: the data area from offset 512 overlaps the block "
                                + "map [1049600, 1049616)"),
                new Case("the map past the end of the file", b -> b.putInt(OFF_BLOCKS, LENGTH),
                        "VDI header field cBlocks at offset 384: block map of 4 entries at offset 1049600 (16 bytes) "
                                + "runs past the end of the file"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void refusedInOneLineAndShownByInfo(Case c, @TempDir Path dir) throws IOException {
        ProcessRunner.Result made = Qemu.img(dir, "create", "-q", "-f", "vdi", "d.vdi", "4M");
        assertThat(made.exitCode()).as(made.describe()).isZero();
        Qcow2Images.run(dir, List.of("qemu-io", "-f", "vdi", "-c", "write -P 0x11 0 64k", "d.vdi"));
        Path file = dir.resolve("d.vdi");
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(b.capacity()).as("the layout this test edits").isEqualTo(LENGTH);
        assertThat(b.getInt(OFF_BLOCKS)).isEqualTo(MAP);
        assertThat(b.getInt(OFF_DATA)).isEqualTo(DATA);
        b = c.edit().apply(b);
        byte[] before = Arrays.copyOf(b.array(), b.capacity());
        Files.write(file, before);

        ProcessRunner.Result q = ProcessRunner.of(Oracles.require("qemu-io").toString(), "-f", "vdi", "-c", "length",
                "d.vdi").in(dir).run();
        assertThat(q.stdout()).as("qemu opens it\n" + q.describe()).contains("MiB");

        String shown = OverlapRefusal.refusedThenShown(dir, "d.vdi", List.of("d.vdi", "+1M"),
                d -> assertThat(d.stderr()).as(d.describe()).contains("is damaged: corrupt: " + c.ours()));
        assertThat(shown).contains("file format: vdi", "flag: corrupt: " + c.ours());
    }

    /** The map copied to the end of the file, offData at 512: block 0 now lies before the map. */
    private static ByteBuffer mapAfterData(ByteBuffer b) {
        ByteBuffer grown = ByteBuffer.allocate(LENGTH + 512).order(ByteOrder.LITTLE_ENDIAN);
        grown.put(0, b.array(), 0, LENGTH);
        grown.put(LENGTH, b.array(), MAP, 512);
        grown.putInt(OFF_BLOCKS, LENGTH);
        grown.putInt(OFF_DATA, MAP);
        return grown;
    }
}
