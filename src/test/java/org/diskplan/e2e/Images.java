package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.List;

/** Test images and the ways they are compared. */
public final class Images {

    public static final int MIB = 1 << 20;

    /** Where the 1 MiB pattern file has guest data: {offset, length}; the rest are holes. */
    static final long[][] PATTERN_EXTENTS = {
            {0, 4096},              // first block (what a guest's partition table would be)
            {65_536 + 123, 1_000},  // unaligned, inside
            {524_288 - 300, 600},   // straddles 512 KiB, so a shrink to 512K cuts it
            {MIB - 512, 512},       // the very end
    };

    /** Files above this length are compared with qemu-img compare (hole-aware) instead of read whole. */
    private static final long DIRECT_COMPARE_LIMIT = 64L * MIB;

    private Images() {
    }

    /** How a test image starts. */
    public enum Start {
        /** 1 MiB, sparse, with non-zero guest data at {@link #PATTERN_EXTENTS}. */
        PATTERN_1M,
        /** Zero length. */
        EMPTY,
        /** 1000 bytes of non-zero data (not a multiple of 512). */
        BYTES_1000,
        /** No file at all. */
        MISSING;

        public void createAt(Path file) {
            switch (this) {
                case PATTERN_1M -> writePattern1M(file);
                case EMPTY -> write(file, new byte[0]);
                case BYTES_1000 -> write(file, pattern(1000, 7));
                case MISSING -> { }
                default -> throw new IllegalStateException();
            }
        }
    }

    /** Deterministic non-zero bytes (1..251) that differ with {@code seed} and position. */
    public static byte[] pattern(int length, int seed) {
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) {
            b[i] = (byte) (1 + (i * 7 + seed * 13 + (i >>> 8)) % 251);
        }
        return b;
    }

    /** 1 MiB sparse raw image with guest data at a few offsets. */
    public static void writePattern1M(Path file) {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(0);
            raf.setLength(MIB);
            int seed = 1;
            for (long[] e : PATTERN_EXTENTS) {
                raf.seek(e[0]);
                raf.write(pattern((int) e[1], seed++));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static void write(Path file, byte[] data) {
        try {
            Files.write(file, data);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static byte[] read(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static long length(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Allocated 512-byte blocks, as {@code stat -c %b} prints them. */
    public static long blocks(Path file) {
        ProcessRunner.Result r = ProcessRunner.of("stat", "-c", "%b", file.toString()).run();
        assertThat(r.exitCode()).as(r::describe).isZero();
        return Long.parseLong(r.stdout().trim());
    }

    /**
     * How a file's bytes are allocated, for comparing two files that should be allocated
     * alike: {@code stat -c %b}, and where the filesystem supports FIEMAP, the logical
     * extent map from {@code filefrag -s -e} (ranges of filesystem blocks, adjacent ones
     * merged, each marked written or unwritten, i.e. fallocated).
     *
     * <p>On ext4, {@code %b} also counts extent-tree blocks, whose number depends on where
     * the allocator happened to put the data (a file whose new range is not physically
     * contiguous with its old one needs one more extent, maybe an index block). So when
     * the extent maps are available, {@link #allocationDifference} compares the maps and
     * the blocks they cover, which is what a resize decides, and not {@code %b}.
     */
    public record Allocation(long statBlocks, List<String> extents, long dataSectors) {

        boolean hasMap() {
            return extents != null;
        }

        @Override
        public String toString() {
            return "stat %b=" + statBlocks + (hasMap() ? ", data sectors=" + dataSectors + ", extents=" + extents : "");
        }
    }

    private static final java.util.regex.Pattern FILEFRAG_BLOCK = java.util.regex.Pattern.compile(
            "\\((\\d+) blocks? of (\\d+) bytes\\)");
    private static final java.util.regex.Pattern FILEFRAG_EXTENT = java.util.regex.Pattern.compile(
            "^\\s*\\d+:\\s*(\\d+)\\.\\.\\s*(\\d+):\\s*\\d+\\.\\.\\s*\\d+:\\s*(\\d+):\\s*\\d*:?\\s*(\\S*)\\s*$");

    private static volatile Path filefrag;

    private static Path filefrag() {
        if (filefrag == null) {
            filefrag = Oracles.find("filefrag")
                    .or(() -> java.util.stream.Stream.of("/usr/sbin/filefrag", "/sbin/filefrag").map(Path::of)
                            .filter(Files::isExecutable).findFirst())
                    .orElse(Path.of("/nonexistent/filefrag"));
        }
        return filefrag;
    }

    public static Allocation allocation(Path file) {
        long stat = blocks(file);
        Path ff = filefrag();
        if (!Files.isExecutable(ff)) {
            return new Allocation(stat, null, -1);
        }
        ProcessRunner.Result r = ProcessRunner.of(ff.toString(), "-s", "-e", file.toString()).run();
        if (r.exitCode() != 0) {
            return new Allocation(stat, null, -1); // e.g. a filesystem without FIEMAP
        }
        long blockSize = -1;
        List<long[]> merged = new java.util.ArrayList<>(); // {first, last, unwritten}
        for (String line : r.stdout().split("\n")) {
            java.util.regex.Matcher b = FILEFRAG_BLOCK.matcher(line);
            if (line.startsWith("File size of") && b.find()) {
                blockSize = Long.parseLong(b.group(2));
                continue;
            }
            java.util.regex.Matcher m = FILEFRAG_EXTENT.matcher(line);
            if (!m.matches()) {
                continue;
            }
            long first = Long.parseLong(m.group(1));
            long last = Long.parseLong(m.group(2));
            long unwritten = m.group(4).contains("unwritten") ? 1 : 0;
            long[] prev = merged.isEmpty() ? null : merged.get(merged.size() - 1);
            if (prev != null && prev[1] + 1 == first && prev[2] == unwritten) {
                prev[1] = last;
            } else {
                merged.add(new long[] {first, last, unwritten});
            }
        }
        if (blockSize <= 0) {
            return new Allocation(stat, null, -1);
        }
        long sectors = 0;
        List<String> extents = new java.util.ArrayList<>();
        for (long[] e : merged) {
            sectors += (e[1] - e[0] + 1) * blockSize / 512;
            extents.add(e[0] + ".." + e[1] + (e[2] == 1 ? " unwritten" : ""));
        }
        return new Allocation(stat, List.copyOf(extents), sectors);
    }

    /** Null if {@code a} and {@code b} are allocated alike (see {@link Allocation}), else both accounts. */
    public static String allocationDifference(Path a, Path b) {
        Allocation x = allocation(a);
        Allocation y = allocation(b);
        boolean same = x.hasMap() && y.hasMap()
                ? x.extents().equals(y.extents()) && x.dataSectors() == y.dataSectors()
                : x.statBlocks() == y.statBlocks();
        return same ? null : "allocation differs:\n  " + a + ": " + x + "\n  " + b + ": " + y;
    }

    public static FileTime mtime(Path file) {
        try {
            return Files.getLastModifiedTime(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Sets a distinctive modification time in the past, so any write shows. */
    public static FileTime setOldMtime(Path file) {
        FileTime t = FileTime.from(Instant.parse("2020-02-02T02:02:02.123456789Z"));
        try {
            Files.setLastModifiedTime(file, t);
            return Files.getLastModifiedTime(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static void copy(Path from, Path to) {
        try {
            Files.copy(from, to);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Null if the two files have the same length and bytes, otherwise a description of
     * the first difference. Large (sparse) files go through {@code qemu-img compare},
     * which skips holes.
     */
    public static String difference(Path a, Path b) {
        long la = length(a);
        long lb = length(b);
        if (la != lb) {
            return "lengths differ: " + la + " vs " + lb;
        }
        if (la <= DIRECT_COMPARE_LIMIT) {
            try {
                long m = Files.mismatch(a, b);
                return m < 0 ? null : "bytes differ first at offset " + m + " (of " + la + ")";
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        ProcessRunner.Result r = Qemu.img(a.getParent(), List.of("compare", "-f", "raw", "-F", "raw",
                a.toString(), b.toString()));
        if (r.exitCode() == 0) {
            return null;
        }
        if (r.exitCode() == 1) {
            return "bytes differ: " + r.stdout().trim();
        }
        throw new AssertionError("qemu-img compare failed:\n" + r.describe());
    }

    /** A snapshot of a file for "unchanged" checks: bytes, length and mtime. */
    public record Snapshot(Path file, byte[] bytes, FileTime mtime) {

        public static Snapshot of(Path file) {
            return new Snapshot(file, read(file), Images.mtime(file));
        }

        /** Null if {@code file} still has exactly these bytes and this mtime. */
        public String difference() {
            if (!Files.exists(file)) {
                return file + " no longer exists";
            }
            byte[] now = read(file);
            if (now.length != bytes.length) {
                return "length changed from " + bytes.length + " to " + now.length;
            }
            int m = java.util.Arrays.mismatch(bytes, now);
            if (m >= 0) {
                return "bytes changed, first at offset " + m;
            }
            FileTime t = Images.mtime(file);
            if (!t.equals(mtime)) {
                return "mtime changed from " + mtime + " to " + t;
            }
            return null;
        }
    }
}
