package org.diskplan.planner.qed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.nio.file.Files;
import org.diskplan.abi.Preallocation;
import org.diskplan.planner.ResizeError;
import org.diskplan.planner.ResizePlan;
import org.diskplan.planner.ResizeRequest;
import org.diskplan.planner.TestImages;
import org.junit.jupiter.api.io.TempDir;
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

    /**
     * qemu's truncate leaves L2 entries past the old end, and a grow shows their clusters; the
     * plan says so instead of promising zeros. 1 MiB image, L1 of two clusters at 4 KiB, an L2
     * table (1024 entries: 4 MiB of guest) at 12 KiB; entry {@code stale}, when not negative,
     * maps guest cluster {@code stale} to a data cluster at 20 KiB.
     */
    static Path staleImage(Path dir, int stale) throws Exception {
        ByteBuffer b = ByteBuffer.allocate(6 * CS).order(ByteOrder.LITTLE_ENDIAN);
        b.put(0, new byte[] {'Q', 'E', 'D', 0});
        b.putInt(4, CS);
        b.putInt(8, 2);
        b.putInt(12, 1);
        b.putLong(40, CS);
        b.putLong(48, 1 << 20);
        b.putLong(CS, 3 * CS);
        b.putLong(3 * CS, 5 * CS); // guest cluster 0, inside the old size
        if (stale >= 0) {
            b.putLong(3 * CS + 8 * stale, 5 * CS);
        }
        Path file = dir.resolve("s" + stale + ".qed");
        Files.write(file, b.array());
        return file;
    }

    @Test
    void aGrowOverStaleL2EntriesSaysTheyShowThrough(@TempDir Path dir) throws Exception {
        ResizeRequest grow = new ResizeRequest(2 << 20, false, Preallocation.OFF);
        ResizePlan stale = TestImages.plan(staleImage(dir, 300), "qed", grow);
        assertThat(stale.notes()).anyMatch(n -> n.startsWith("L2 entries past the old end map data clusters (the "
                + "highest ends at guest offset " + 301 * CS + ")")).noneMatch(n -> n.contains("unallocated"));

        ResizePlan clean = TestImages.plan(staleImage(dir, -1), "qed", grow);
        assertThat(clean.notes()).contains("the new range is unallocated: it reads as zeros");
    }

    /**
     * qemu opens a header_size of 0 (it checks only that header_size × cluster_size fits in 32
     * bits) and qemu-img resize rewrites image_size: so does DiskPlan (it refused "0 clusters is not
     * a valid header size"). With header_size 0 qemu also lets the L1 table start at offset 0, on
     * the header's own bytes: the header write would rewrite L1 entries, so that is refused.
     */
    @Test
    void aHeaderSizeOfZeroIsResizedUnlessTheL1TableIsOnTheHeader(@TempDir Path dir) throws Exception {
        Path zero = staleImage(dir, -1);
        byte[] b = Files.readAllBytes(zero);
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(12, 0);
        Files.write(zero, b);
        ResizePlan plan = TestImages.plan(zero, "qed", new ResizeRequest(2 << 20, false, Preallocation.OFF));
        assertThat(plan.notes()).contains("the new range is unallocated: it reads as zeros");

        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(40, 0);
        ProbedImage onHeader = new QedProbe().probe(Path.of("t.qed"), new ByteArrayImageReader(b));
        assertThatThrownBy(() -> new QedPlanner().checkOpen(onHeader, (QedHeader) onHeader.header()))
                .isInstanceOf(ResizeError.class)
                .hasMessageStartingWith("QED header field l1_table_offset at offset 40: the L1 table (at 0) shares"
                        + " bytes with the 64-byte header (header_size 0)");
    }

    /**
     * An image marked "needs check" that qemu's check finds nothing in: qemu's read-write open only
     * clears the mark, and the plan's header write does too (DiskPlan refused it). One it would
     * repair (an unaligned L2 entry it zeroes) stays refused, naming what it would change.
     */
    @Test
    void aNeedsCheckMarkIsClearedWhenQemusCheckFindsNothing(@TempDir Path dir) throws Exception {
        Path marked = staleImage(dir, -1);
        byte[] b = Files.readAllBytes(marked);
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(16, QedHeader.F_NEED_CHECK);
        Files.write(marked, b);
        ResizePlan plan = TestImages.plan(marked, "qed", new ResizeRequest(2 << 20, false, Preallocation.OFF));
        assertThat(plan.notes()).anyMatch(n -> n.startsWith("the image was marked \"needs check\""));
        assertThat(plan.toString()).contains("\"needs check\" cleared");
        ResizePlan same = TestImages.plan(marked, "qed", new ResizeRequest(1 << 20, false, Preallocation.OFF));
        assertThat(same.patches()).as("the same size still clears the mark, as qemu-img resize's open does")
                .hasSize(1);
        assertThat(same.notes()).contains("the size is unchanged");

        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(3 * CS + 8, 5 * CS + 512);
        ProbedImage bad = new QedProbe().probe(Path.of("t.qed"), new ByteArrayImageReader(b));
        assertThatThrownBy(() -> new QedPlanner().checkOpen(bad, (QedHeader) bad.header()))
                .isInstanceOf(ResizeError.class)
                .hasMessageContaining("features at offset 16, bit 1) and qemu's check would change it (L2 entry at"
                        + " offset 12296 (20992) is not a valid cluster offset: qemu's check would zero it)")
                .hasMessageContaining("qemu-img check -r all");
    }
}
