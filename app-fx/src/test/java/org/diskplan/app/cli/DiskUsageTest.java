package org.diskplan.app.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;
import org.diskplan.planner.apply.FileFacts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** "disk size" through stat(1) agrees with st_blocks read through JNA (FileFacts). */
class DiskUsageTest {
    @TempDir
    Path dir;

    /** A sparse file with {@code mib} MiB of data written at its start. */
    private Path sparse(String name, int mib) throws Exception {
        Path f = dir.resolve(name);
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(64L << 20);
            byte[] data = new byte[1 << 20];
            java.util.Arrays.fill(data, (byte) 7);
            for (int i = 0; i < mib; i++) {
                raf.write(data);
            }
            raf.getFD().sync();
        }
        return f;
    }

    @Test
    void sumsTheAllocatedBytesOfEveryFileAsJnaReadsThem() throws Exception {
        Path a = sparse("a.raw", 1);
        Path b = sparse("b with blanks.raw", 3);
        long viaJna = FileFacts.allocatedBytes(a).orElseThrow() + FileFacts.allocatedBytes(b).orElseThrow();
        assertThat(viaJna).isGreaterThanOrEqualTo(4L << 20).isLessThan(64L << 20);
        assertThat(DiskUsage.start(List.of(a, b)).total()).isEqualTo(viaJna);
        assertThat(DiskUsage.start(List.of(a)).total()).isEqualTo(FileFacts.allocatedBytes(a).orElseThrow());
        assertThat(DiskUsage.start(List.of()).total()).isZero();
    }

    @Test
    void followsASymbolicLinkToTheImage() throws Exception {
        Path a = sparse("a.raw", 2);
        Path link = Files.createSymbolicLink(dir.resolve("link.raw"), a);
        assertThat(DiskUsage.start(List.of(link)).total()).isEqualTo(FileFacts.allocatedBytes(a).orElseThrow());
    }

    @Test
    void aFileThatIsNotThereIsUnknown() throws Exception {
        Path a = sparse("a.raw", 1);
        assertThat(DiskUsage.start(List.of(a, dir.resolve("missing.raw"))).total()).isEqualTo(-1);
    }

    @Test
    void readsOnlyOneBlocksUnitLinePerFile() {
        assertThat(DiskUsage.parse("8 512\n2048 512\n", 2)).isEqualTo(OptionalLong.of(8 * 512 + 2048 * 512));
        assertThat(DiskUsage.parse("0 512\n", 1)).isEqualTo(OptionalLong.of(0));
        assertThat(DiskUsage.parse("8 512\n", 2)).isEmpty();
        assertThat(DiskUsage.parse("8 512\n9 512\n", 1)).isEmpty();
        assertThat(DiskUsage.parse("8 512", 1)).isEmpty();
        assertThat(DiskUsage.parse("-8 512\n", 1)).isEmpty();
        assertThat(DiskUsage.parse("8 0\n", 1)).isEmpty();
        assertThat(DiskUsage.parse("8  512\n", 1)).isEmpty();
        assertThat(DiskUsage.parse("stat: cannot stat\n", 1)).isEmpty();
        assertThat(DiskUsage.parse("999999999999999999 4096\n", 1)).isEmpty();
    }

    @Test
    void infoPrintsTheDiskSizeJnaReads() throws Exception {
        Path a = sparse("a.raw", 2);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int status = DiskPlanCli.run(new String[] {"info", "-f", "raw", "--output=json", a.toString()},
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(new ByteArrayOutputStream(), true,
                        StandardCharsets.UTF_8));
        assertThat(status).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8))
                .contains("\"actual-size\" : " + FileFacts.allocatedBytes(a).orElseThrow() + ",");
    }
}
