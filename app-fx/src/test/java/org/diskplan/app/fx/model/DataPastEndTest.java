package org.diskplan.app.fx.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Optional;
import org.diskplan.probe.ImageProber;
import org.diskplan.probe.ProbedImage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The allocated data past a shrink's new end, against images qemu-io wrote. */
class DataPastEndTest {
    @TempDir
    Path dir;

    private Path written(String format, String name, String... commands) throws Exception {
        Samples sample = Samples.available().stream().filter(s -> s.format().equals(format)).findFirst()
                .orElseThrow();
        Path file = Files.copy(sample.write(), dir.resolve(name), StandardCopyOption.REPLACE_EXISTING);
        for (String cmd : commands) {
            Process p = new ProcessBuilder("qemu-io", "-f", format, "-c", cmd, file.toString())
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            assertThat(p.waitFor()).as(out).isZero();
        }
        return file;
    }

    @Test
    void dynamicVhdCountsWholeAllocatedBlocksPastTheNewEnd() throws Exception {
        // qemu's VHD blocks are 2 MiB: 3 MiB at 52 MiB allocates blocks 26 and 27 (52..56 MiB)
        Path vhd = written("vpc", "d.vhd", "write -P 0x5a 52M 3M", "write -P 0x33 8M 1M");
        ProbedImage img = ImageProber.probe(vhd, Optional.of("vpc"));
        assertThat(img.virtualSize()).isGreaterThanOrEqualTo(56L << 20);
        assertThat(DataPastEnd.of(img, 48L << 20)).isEqualTo(new DataPastEnd(true, 4L << 20, 52L << 20, 56L << 20));
        // cutting inside block 26: only its part past the new end counts
        assertThat(DataPastEnd.of(img, 53L << 20)).isEqualTo(new DataPastEnd(true, 3L << 20, 53L << 20, 56L << 20));
        assertThat(DataPastEnd.of(img, 56L << 20)).isEqualTo(new DataPastEnd(true, 0, -1, -1));
        assertThat(WindowWords.dataPastEnd(DataPastEnd.of(img, 56L << 20))).startsWith("No allocated data");
    }

    @Test
    void qcow2CountsClustersWithDataNotZeroClusters() throws Exception {
        // 64 KiB clusters: 3 MiB of data at 52 MiB, zero clusters (zero flag) at 57 MiB, kept data at 8 MiB
        Path qcow2 = written("qcow2", "d.qcow2", "write -P 0x5a 52M 3M", "write -P 0x33 8M 1M",
                "write -P 0x11 57M 1M", "write -z 57M 1M");
        ProbedImage img = ImageProber.probe(qcow2, Optional.of("qcow2"));
        assertThat(DataPastEnd.of(img, 48L << 20)).isEqualTo(new DataPastEnd(true, 3L << 20, 52L << 20, 55L << 20));
        assertThat(DataPastEnd.of(img, (53L << 20) + 512))
                .isEqualTo(new DataPastEnd(true, (2L << 20) - 512, (53L << 20) + 512, 55L << 20));
        assertThat(DataPastEnd.of(img, 55L << 20)).isEqualTo(new DataPastEnd(true, 0, -1, -1));
        assertThat(WindowWords.dataPastEnd(DataPastEnd.of(img, 48L << 20)))
                .startsWith("3 MiB of data lies past the new end (at 52 MiB \u2026 55 MiB");
    }

    @Test
    void rawCannotTellAndCountsTheWholeRange() throws Exception {
        Path raw = written("raw", "d.raw", "write -P 0x5a 52M 3M");
        ProbedImage img = ImageProber.probe(raw, Optional.of("raw"));
        assertThat(DataPastEnd.of(img, 48L << 20))
                .isEqualTo(new DataPastEnd(false, img.virtualSize() - (48L << 20), 48L << 20, img.virtualSize()));
        assertThat(WindowWords.dataPastEnd(DataPastEnd.of(img, 48L << 20))).contains("cannot tell");
    }
}
