package org.diskplan.planner;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.diskplan.abi.ErrorCode;
import org.diskplan.abi.Preallocation;
import org.junit.jupiter.api.Test;

/** The shared checks, in qemu-img's order. */
class PlannersTest {
    private static final long CURRENT = 1 << 20;

    private static void check(long size, boolean shrink, Preallocation mode, ErrorCode code, String message) {
        assertThatThrownBy(() -> Planners.checkCommon(CURRENT, new ResizeRequest(size, shrink, mode)))
                .isInstanceOf(ResizeError.class)
                .hasMessage(message)
                .satisfies(e -> org.assertj.core.api.Assertions.assertThat(((ResizeError) e).code()).isEqualTo(code));
    }

    @Test
    void zeroAndNegativeSizes() {
        check(0, true, Preallocation.OFF, ErrorCode.INVALID_NEW_SIZE, "New image size must be positive");
        check(-5, true, Preallocation.FULL, ErrorCode.INVALID_NEW_SIZE, "New image size must be positive");
    }

    @Test
    void preallocationOnlyWhenGrowingIsCheckedBeforeShrink() {
        check(CURRENT, false, Preallocation.FULL, ErrorCode.INVALID_OPTION,
                "Preallocation can only be used for growing images");
        check(CURRENT / 2, false, Preallocation.FALLOC, ErrorCode.INVALID_OPTION,
                "Preallocation can only be used for growing images");
    }

    @Test
    void shrinkNeedsTheFlagAndCarriesQemusWarning() {
        assertThatThrownBy(() -> Planners.checkCommon(CURRENT, new ResizeRequest(512, false, Preallocation.OFF)))
                .hasMessage("Use the --shrink option to perform a shrink operation.")
                .satisfies(e -> org.assertj.core.api.Assertions.assertThat(((ResizeError) e).warnings())
                        .isEqualTo(List.of(Planners.SHRINK_WARNING)));
    }

    @Test
    void maximumLengthIsQemus() {
        check(Long.MAX_VALUE, false, Preallocation.OFF, ErrorCode.INVALID_NEW_SIZE,
                "offset(9223372036854775807) exceeds maximum(9223372035781033984)");
    }

    @Test
    void accepted() throws Exception {
        Planners.checkCommon(CURRENT, new ResizeRequest(CURRENT, false, Preallocation.OFF));
        Planners.checkCommon(CURRENT, new ResizeRequest(512, true, Preallocation.OFF));
        Planners.checkCommon(CURRENT, new ResizeRequest(Planners.MAX_LENGTH, false, Preallocation.FULL));
    }

    @Test
    void checkOpenGivesThePlannersRefusalBeforeAnySizeIsAsked(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        java.nio.file.Path qcow2 = dir.resolve("a.qcow2");
        Process p = new ProcessBuilder("qemu-img", "create", "-q", "-f", "qcow2", qcow2.toString(), "64M")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        org.assertj.core.api.Assertions.assertThat(p.waitFor()).as(out).isZero();
        org.assertj.core.api.Assertions.assertThat(Planners.checkOpen(org.diskplan.probe.ImageProber.probe(qcow2,
                java.util.Optional.empty()))).isEqualTo(Planners.canResize(org.diskplan.abi.ImageFormat.QCOW2));
        org.assertj.core.api.Assertions.assertThat(Planners.checkOpen(org.diskplan.probe.ImageProber.probe(
                TestImages.raw(dir, "r.img", CURRENT), java.util.Optional.empty()))).isTrue();
        try (java.io.RandomAccessFile raf = new java.io.RandomAccessFile(qcow2.toFile(), "rw")) {
            raf.seek(40); // l1_table_offset: past the end of the file (qemu still opens it)
            raf.writeLong(1L << 40);
        }
        var damaged = org.diskplan.probe.ImageProber.probe(qcow2, java.util.Optional.empty());
        assertThatThrownBy(() -> Planners.checkOpen(damaged)).isInstanceOf(ResizeError.class)
                .hasMessageContaining("l1_table_offset at offset 40")
                .satisfies(e -> org.assertj.core.api.Assertions.assertThat(((ResizeError) e).code())
                        .isEqualTo(ErrorCode.NEEDS_REPAIR))
                // the damage and its field, typed: what the window marks without reading the message
                .satisfies(e -> org.assertj.core.api.Assertions.assertThat(((ResizeError) e).location())
                        .contains(new ResizeError.Location(ResizeError.Kind.CORRUPT, "l1_table_offset", 40)));
    }
}
