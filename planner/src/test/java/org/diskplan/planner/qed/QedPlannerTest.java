package org.diskplan.planner.qed;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import org.diskplan.planner.ResizeError;
import org.diskplan.probe.ByteArrayImageReader;
import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.qed.QedHeader;
import org.diskplan.probe.qed.QedProbe;
import org.junit.jupiter.api.Test;

class QedPlannerTest {
    static final int CS = 4096;

    /** Header cluster, L1 of two clusters; a backing file name of {@code size} bytes at {@code offset}. */
    static ProbedImage image(long imageSize, int offset, int size) throws Exception {
        ByteBuffer b = ByteBuffer.allocate(3 * CS).order(ByteOrder.LITTLE_ENDIAN);
        b.put(0, new byte[] {'Q', 'E', 'D', 0});
        b.putInt(4, CS);
        b.putInt(8, 2);
        b.putInt(12, 1);
        b.putLong(16, QedHeader.F_BACKING_FILE);
        b.putLong(40, CS);
        b.putLong(48, imageSize);
        b.putInt(56, offset);
        b.putInt(60, size);
        b.put(64, "base.raw".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        return new QedProbe().probe(Path.of("t.qed"), new ByteArrayImageReader(b.array()));
    }

    /**
     * qemu opens a backing file name read from the header's own bytes; over image_size, a
     * resize would rename the backing file (0x30303000: "000" at 49 becomes "0@0" at +1 MiB).
     */
    @Test
    void aBackingFileNameOverImageSizeIsRefused() throws Exception {
        ProbedImage over = image(0x30303000L, 49, 3);
        assertThatThrownBy(() -> new QedPlanner().checkOpen(over, (QedHeader) over.header()))
                .isInstanceOf(ResizeError.class)
                .hasMessage("QED header field backing_filename_offset at offset 56: the backing file name (49 to 52) "
                        + "shares bytes with image_size (48 to 56), which a resize rewrites: the new header would "
                        + "rename the backing file \"000\"");

        // a name in the header bytes that the resize keeps (backing_filename_size itself) is left alone
        ProbedImage kept = image(8L << 20, 60, 1);
        assertThatCode(() -> new QedPlanner().checkOpen(kept, (QedHeader) kept.header())).doesNotThrowAnyException();

        ProbedImage sound = image(8L << 20, 64, 8);
        assertThatCode(() -> new QedPlanner().checkOpen(sound, (QedHeader) sound.header()))
                .doesNotThrowAnyException();
    }
}
