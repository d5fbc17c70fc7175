package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link SparseCopy}: the same length and bytes, zero blocks and the source's holes left as holes. */
class SparseCopyTest {
    @TempDir
    Path dir;

    private static final int MIB = 1 << 20;

    @Test
    void denseSourceKeepsEveryByteAndDropsItsZeroBlocks() throws Exception {
        // 3 MiB + 1000: data across the 1 MiB chunk boundary, a lone non-zero byte in a
        // zero block, a partial last block, and 2 MiB of written zeros in between
        byte[] data = new byte[3 * MIB + 1000];
        Arrays.fill(data, MIB - 5000, MIB + 7000, (byte) 0x5a);
        data[2 * MIB + 4096 + 17] = 1;
        data[data.length - 1] = 7;
        Path from = dir.resolve("dense");
        Files.write(from, data);
        Path to = SparseCopy.copy(from, dir.resolve("copy"));
        assertThat(Files.readAllBytes(to)).isEqualTo(data);
        // the blocks holding data (4 + 1 + 1 of 4 KiB), nothing for the zeros
        assertThat(Images.blocks(to) * 512).isLessThanOrEqualTo(6 * 4096L + 8192).isLessThan(Images.blocks(from) * 512 / 10);
    }

    @Test
    void sparseSourceHolesStayHolesAndTheLengthIsKept() throws Exception {
        Path from = dir.resolve("sparse");
        try (RandomAccessFile f = new RandomAccessFile(from.toFile(), "rw")) {
            f.setLength(256L * MIB + 512);
            f.seek(100L * MIB + 3);
            f.write(new byte[] {1, 2, 3});
        }
        Path to = SparseCopy.copy(from, dir.resolve("copy"));
        assertThat(Files.size(to)).isEqualTo(256L * MIB + 512);
        assertThat(Images.blocks(to)).isLessThanOrEqualTo(16);
        try (RandomAccessFile f = new RandomAccessFile(to.toFile(), "r")) {
            byte[] b = new byte[8];
            f.seek(100L * MIB + 1);
            f.readFully(b);
            assertThat(b).containsExactly(0, 0, 1, 2, 3, 0, 0, 0);
        }
        ProcessRunner.Result cmp = ProcessRunner.of("cmp", from.toString(), to.toString()).run();
        assertThat(cmp.exitCode()).as(cmp.describe()).isZero();
    }

    @Test
    void holesOnlyEmptyAndReplacedTargets() throws Exception {
        Path holes = dir.resolve("holes");
        try (RandomAccessFile f = new RandomAccessFile(holes.toFile(), "rw")) {
            f.setLength(5 * MIB + 3);
        }
        Path empty = Files.createFile(dir.resolve("empty"));
        Path to = dir.resolve("copy");
        Files.write(to, new byte[] {9, 9, 9, 9});
        SparseCopy.copy(holes, to);
        assertThat(Files.size(to)).isEqualTo(5 * MIB + 3);
        assertThat(Images.blocks(to)).isZero();
        assertThat(Files.readAllBytes(to)).containsOnly(0);
        SparseCopy.copy(empty, to);
        assertThat(Files.size(to)).isZero();
    }
}
