package org.diskplan.probe;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The guest allocation read from each format's block map, against images qemu-io wrote
 * and the data ranges {@code qemu-img map} reports for them.
 */
class GuestAllocationsTest {
    private static final long MIB = 1L << 20;

    @TempDir
    Path dir;

    private Path written(String format, String options, String... commands) throws Exception {
        Path file = dir.resolve("d." + format);
        SampleWriterRoundTripTest.writers().get(format).write(file, 64 * MIB,
                SampleWriterRoundTripTest.options(options));
        for (String cmd : commands) {
            run("qemu-io", "-f", format, "-c", cmd, file.toString());
        }
        return file;
    }

    private static String run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).as(out).isZero();
        return out;
    }

    /** qemu-img map's ranges with "data": true, touching ones joined. */
    private static List<GuestAllocation.Range> qemuData(Path file, String format) throws Exception {
        String json = run("qemu-img", "map", "--output=json", "-f", format, file.toString());
        Matcher m = Pattern.compile("\"start\": (\\d+), \"length\": (\\d+)[^}]*\"data\": (true|false)").matcher(json);
        List<GuestAllocation.Range> out = new ArrayList<>();
        while (m.find()) {
            if (m.group(3).equals("true")) {
                long s = Long.parseLong(m.group(1));
                long e = s + Long.parseLong(m.group(2));
                if (!out.isEmpty() && out.get(out.size() - 1).end() == s) {
                    s = out.remove(out.size() - 1).start();
                }
                out.add(new GuestAllocation.Range(s, e));
            }
        }
        return out;
    }

    private static GuestAllocation.Known known(Path file, String format, long from, long to) throws Exception {
        GuestAllocation a = GuestAllocations.of(ImageProber.probe(file, Optional.of(format)), from, to);
        assertThat(a).isInstanceOf(GuestAllocation.Known.class);
        return (GuestAllocation.Known) a;
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({
        "qcow2, ''",
        "qcow2, extended_l2=on",
        "vpc, ''",
        "vdi, ''",
        "vmdk, subformat=monolithicSparse",
    })
    void theWholeDiskMatchesQemuImgMap(String format, String options) throws Exception {
        // data at 52 MiB and 8 MiB, a zero write at 40 MiB, a partial-cluster write at 20 MiB + 4 KiB
        Path file = written(format, options, "write -P 0x5a 52M 3M", "write -P 0x33 8M 1M", "write -z 40M 2M",
                "write -P 0x11 20484k 4k");
        GuestAllocation.Known k = known(file, format, 0, 64 * MIB);
        assertThat(k.ranges()).isEqualTo(qemuData(file, format)).isNotEmpty();
        assertThat(k.bytes()).isEqualTo(k.ranges().stream().mapToLong(GuestAllocation.Range::length).sum());
        assertThat(k.merged()).isFalse();
    }

    @Test
    void dynamicVhdCountsWholeAllocatedBlocksPastTheNewEnd() throws Exception {
        // qemu's VHD blocks are 2 MiB: 3 MiB at 52 MiB allocates blocks 26 and 27 (52..56 MiB)
        Path vhd = written("vpc", "", "write -P 0x5a 52M 3M", "write -P 0x33 8M 1M");
        assertThat(known(vhd, "vpc", 48 * MIB, 64 * MIB).ranges())
                .containsExactly(new GuestAllocation.Range(52 * MIB, 56 * MIB));
        // cutting inside block 26: only its part past the new end counts
        assertThat(known(vhd, "vpc", 53 * MIB, 64 * MIB).bytes()).isEqualTo(3 * MIB);
        assertThat(known(vhd, "vpc", 56 * MIB, 64 * MIB).ranges()).isEmpty();
        assertThat(known(vhd, "vpc", 56 * MIB, 64 * MIB).first()).isEqualTo(-1);
    }

    @Test
    void qcow2CountsClustersWithDataNotZeroClusters() throws Exception {
        Path qcow2 = written("qcow2", "", "write -P 0x5a 52M 3M", "write -P 0x33 8M 1M",
                "write -P 0x11 57M 1M", "write -z 57M 1M");
        GuestAllocation.Known k = known(qcow2, "qcow2", 48 * MIB, 64 * MIB);
        assertThat(k.bytes()).isEqualTo(3 * MIB);
        assertThat(k.ranges()).containsExactly(new GuestAllocation.Range(52 * MIB, 55 * MIB));
        assertThat(known(qcow2, "qcow2", 53 * MIB + 512, 64 * MIB).bytes()).isEqualTo(2 * MIB - 512);
        assertThat(known(qcow2, "qcow2", 55 * MIB, 64 * MIB).bytes()).isZero();
    }

    @Test
    void vhdxCountsPresentPayloadBlocks() throws Exception {
        // qemu's vhdx driver has no block status (qemu-img map calls every byte data), so the
        // oracle is the write itself: qemu allocates the 8 MiB payload blocks it touches
        Path vhdx = written("vhdx", "", "write -P 0x5a 52M 3M", "write -P 0x33 8M 1M");
        ProbedImage img = ImageProber.probe(vhdx, Optional.of("vhdx"));
        assertThat(img.allocationUnit()).isEqualTo(8 * MIB);
        GuestAllocation.Known k = known(vhdx, "vhdx", 0, 64 * MIB);
        assertThat(k.ranges()).containsExactly(new GuestAllocation.Range(8 * MIB, 16 * MIB),
                new GuestAllocation.Range(48 * MIB, 56 * MIB));
        assertThat(known(vhdx, "vhdx", 50 * MIB, 64 * MIB).bytes()).isEqualTo(6 * MIB);
    }

    @Test
    void rawCannotTell() throws Exception {
        Path raw = written("raw", "", "write -P 0x5a 52M 3M");
        GuestAllocation a = GuestAllocations.of(ImageProber.probe(raw, Optional.of("raw")), 48 * MIB, 64 * MIB);
        assertThat(a).isInstanceOf(GuestAllocation.Unknown.class);
        assertThat(a.to() - a.from()).isEqualTo(16 * MIB);
    }

    @Test
    void aMapPastTheFileEndIsUnknownWithTheOffset() throws Exception {
        Path vdi = written("vdi", "", "write -P 0x5a 52M 3M");
        ProbedImage img = ImageProber.probe(vdi, Optional.of("vdi"));
        try (RandomAccessFile f = new RandomAccessFile(vdi.toFile(), "rw")) {
            f.setLength(400); // the block map at 512 is gone
        }
        GuestAllocation a = GuestAllocations.of(img, 48 * MIB, 64 * MIB);
        assertThat(a).isInstanceOf(GuestAllocation.Unknown.class);
        assertThat(((GuestAllocation.Unknown) a).reason()).contains("VDI block map").contains("byte offset");
    }

    @Test
    void theRangeListIsCappedByMergingTheClosestNeighbours() {
        GuestAllocations.Collector c = new GuestAllocations.Collector(4);
        long[][] in = {{0, 1}, {10, 11}, {12, 13}, {100, 101}, {200, 201}, {202, 203}};
        for (long[] r : in) {
            c.mapped(r[0], r[1]);
        }
        GuestAllocation.Known k = c.result(0, 300);
        assertThat(k.bytes()).isEqualTo(6);
        assertThat(k.merged()).isTrue();
        assertThat(k.ranges()).containsExactly(new GuestAllocation.Range(0, 1), new GuestAllocation.Range(10, 13),
                new GuestAllocation.Range(100, 101), new GuestAllocation.Range(200, 203));
    }

    /** qemu-img map's file ranges ("offset") of the guest ranges with "data": true, in file order, touching ones joined. */
    private static List<GuestAllocation.Range> qemuHostData(Path file, String format) throws Exception {
        String json = run("qemu-img", "map", "--output=json", "-f", format, file.toString());
        Matcher m = Pattern.compile("\"length\": (\\d+)[^}]*\"data\": true[^}]*\"offset\": (\\d+)").matcher(json);
        List<long[]> spans = new ArrayList<>();
        while (m.find()) {
            long s = Long.parseLong(m.group(2));
            spans.add(new long[] {s, s + Long.parseLong(m.group(1))});
        }
        spans.sort(java.util.Comparator.comparingLong(r -> r[0]));
        List<GuestAllocation.Range> out = new ArrayList<>();
        for (long[] r : spans) {
            if (!out.isEmpty() && out.get(out.size() - 1).end() == r[0]) {
                out.add(new GuestAllocation.Range(out.remove(out.size() - 1).start(), r[1]));
            } else {
                out.add(new GuestAllocation.Range(r[0], r[1]));
            }
        }
        return out;
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({
        "qcow2, ''",
        "qcow2, extended_l2=on",
        "vpc, ''",
        "vdi, ''",
        "vmdk, subformat=monolithicSparse",
    })
    void theFileBytesHoldingTheDataMatchQemuImgMapOffsets(String format, String options) throws Exception {
        Path file = written(format, options, "write -P 0x5a 52M 3M", "write -P 0x33 8M 1M", "write -z 40M 2M",
                "write -P 0x11 20484k 4k");
        ProbedImage img = ImageProber.probe(file, Optional.of(format));
        HostRanges h = GuestAllocations.hosts(img, 0, 64 * MIB).orElseThrow();
        List<GuestAllocation.Range> expected = qemuHostData(file, format);
        assertThat(expected).isNotEmpty();
        assertThat(h.ranges()).isEqualTo(expected);
        assertThat(h.merged()).isFalse();
        assertThat(h.bytes()).isEqualTo(known(file, format, 0, 64 * MIB).bytes());
        // past a new end of 48 MiB: only the data written at 52 MiB, somewhere inside the file
        HostRanges cut = GuestAllocations.hosts(img, 48 * MIB, 64 * MIB).orElseThrow();
        assertThat(cut.bytes()).isEqualTo(known(file, format, 48 * MIB, 64 * MIB).bytes()).isPositive();
        assertThat(cut.ranges()).allSatisfy(r -> assertThat(r.end()).isLessThanOrEqualTo(img.fileSize()));
        assertThat(cut.ranges()).allSatisfy(r -> assertThat(expected).anySatisfy(e -> assertThat(
                e.start() <= r.start() && r.end() <= e.end()).isTrue()));
        assertThat(GuestAllocations.hosts(img, 56 * MIB, 64 * MIB).orElseThrow().ranges()).isEmpty();
    }

    @Test
    void aRawImageHoldsTheGuestBytesPastTheNewEndAtTheSameOffsets() throws Exception {
        Path raw = written("raw", "", "write -P 0x5a 52M 3M");
        HostRanges h = GuestAllocations.hosts(ImageProber.probe(raw, Optional.of("raw")), 48 * MIB, 64 * MIB)
                .orElseThrow();
        assertThat(h.ranges()).containsExactly(new GuestAllocation.Range(48 * MIB, 64 * MIB));
        assertThat(h.bytes()).isEqualTo(16 * MIB);
    }

    @Test
    void theFileRangeListIsSortedJoinedAndCapped() {
        GuestAllocations.HostCollector c = new GuestAllocations.HostCollector(3);
        long[][] in = {{500, 10}, {100, 10}, {110, 10}, {300, 5}, {0, 1}, {306, 4}};
        for (long[] r : in) {
            c.mapped(0, 1, r[0], r[1]);
        }
        HostRanges h = c.result(0, 1000);
        assertThat(h.bytes()).isEqualTo(40);
        assertThat(h.merged()).isTrue();
        // 0..1, 100..120, 300..305, 306..310, 500..510: the smallest gaps (1 at 305, 99 at 1) go
        assertThat(h.ranges()).containsExactly(new GuestAllocation.Range(0, 120), new GuestAllocation.Range(300, 310),
                new GuestAllocation.Range(500, 510));
    }
}
