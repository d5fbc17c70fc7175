package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.assertj.core.api.SoftAssertions;
import org.diskplan.abi.Preallocation;
import org.diskplan.app.fx.model.ImageModel;
import org.diskplan.app.fx.model.RecentFiles;
import org.diskplan.app.fx.model.Workers;
import org.diskplan.planner.ResizePlan;
import org.diskplan.planner.ResizeRequest;
import org.diskplan.planner.ResizeSession;
import org.diskplan.probe.ImageProber;
import org.diskplan.probe.vhdx.VhdxHeader;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * VHDX images made by the native tools, not by qemu (qemu's iotest sample images, see
 * {@link Samples}), resized with {@code diskplan resize} and checked with qemu and libvhdi
 * ({@link VhdxChecks}) and {@code qemu-img compare} of the part old and new size share
 * against an untouched copy:
 *
 * <ul>
 *   <li>{@code iotest-dynamic-1G.vhdx}: Hyper-V (Windows 6.2.9200), 32 MiB blocks, metadata
 *       region before the BAT, both regions "required", physical sector 4096, 29 BAT entries
 *       in state ZERO, two stale log entries (sequence numbers near 2^62) behind a zero log GUID;</li>
 *   <li>{@code test-disk2vhd.vhdx}: disk2vhd, 2 MiB blocks, both headers identical with
 *       sequence number 1, every block fully present, a 512-byte tail past the last block;</li>
 *   <li>{@code iotest-dirtylog-10G-4M.vhdx}: 1 MiB blocks, a log left to replay (seven
 *       entries, each with another log GUID; the one the header names maps guest block 17).
 *       Its reference is a copy qemu replayed ({@code qemu-img check -r all}): DiskPlan's
 *       resize replays the log itself, as the first part of its own log entry.</li>
 * </ul>
 *
 * Each sample grows by 1 MiB, by 1 GiB, past what its BAT region (1 MiB: 131072 entries)
 * holds, so the BAT moves, and shrinks with {@code --shrink} below blocks holding data.
 */
@RequiresOracle({"qemu-img", "qemu-io", "vhdiinfo"})
class RealVhdxImagesTest {
    static final long MIB = 1 << 20;
    static final long GIB = 1024 * MIB;
    static final String HYPERV = "iotest-dynamic-1G.vhdx";
    static final String DISK2VHD = "test-disk2vhd.vhdx";
    static final String DIRTY = "iotest-dirtylog-10G-4M.vhdx";

    /** {@code size} as given to diskplan; {@code expected} the virtual size it means; whether the BAT region moves. */
    record Case(String sample, String size, boolean shrink, long expected, boolean movesBat) {
        @Override
        public String toString() {
            return sample + (shrink ? " --shrink " : " ") + size + (movesBat ? " (a bigger BAT region)" : "");
        }
    }

    static Stream<Case> cases() {
        List<Case> c = new ArrayList<>();
        // Hyper-V, 1 GiB, 32 MiB blocks (chunk ratio 128): 131072 entries hold ~4 TiB
        c.add(new Case(HYPERV, "+1M", false, GIB + MIB, false));
        c.add(new Case(HYPERV, "+1G", false, 2 * GIB, false));
        c.add(new Case(HYPERV, "5T", false, 5L << 40, true));
        c.add(new Case(HYPERV, "48M", true, 48 * MIB, false)); // data up to 66 MiB: block 1 cut, block 2 dropped
        // disk2vhd, 256 MiB, 2 MiB blocks (chunk ratio 2048): 131072 entries hold ~256 GiB
        c.add(new Case(DISK2VHD, "+1M", false, 257 * MIB, false));
        c.add(new Case(DISK2VHD, "+1G", false, 1280 * MIB, false));
        c.add(new Case(DISK2VHD, "300G", false, 300 * GIB, true));
        c.add(new Case(DISK2VHD, "100M", true, 100 * MIB, false)); // 78 fully present blocks dropped, file cut
        // dirty log, 10 GiB, 1 MiB blocks (chunk ratio 4096): 131072 entries hold ~128 GiB
        c.add(new Case(DIRTY, "+1M", false, 10 * GIB + MIB, false));
        c.add(new Case(DIRTY, "+1G", false, 11 * GIB, false));
        c.add(new Case(DIRTY, "130G", false, 130 * GIB, true));
        c.add(new Case(DIRTY, "10M", true, 10 * MIB, false)); // data up to 18 MiB, block 17 the log's
        return c.stream();
    }

    /** The samples, decompressed once for the class and made sparse, and the dirty one as qemu replays it. */
    @TempDir
    static Path masters;

    @TempDir
    Path dir;

    @BeforeAll
    static void decompress() throws Exception {
        for (String s : List.of(HYPERV, DISK2VHD, DIRTY)) {
            Samples.qemuOnce(s, masters);
        }
        copy(masters, DIRTY, masters, "replayed-" + DIRTY);
        ProcessRunner.Result r = Qemu.img(masters, "check", "-r", "all", "-f", "vhdx", "replayed-" + DIRTY);
        assertThat(r.exitCode()).as("qemu-img check -r all replays the log\n" + r.describe()).isZero();
    }

    /** A sparse copy of {@code from/name} as {@code to/as}. */
    static void copy(Path from, String name, Path to, String as) {
        try {
            Samples.sparseCopy(from.resolve(name), to.resolve(as));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void resizedSampleIsCleanAndKeepsItsData(Case c) throws Exception {
        String file = c.sample();
        copy(masters, file, dir, file);
        String reference = reference(file);
        long old = VhdxChecks.virtualSize(dir, reference);
        long batBefore = batOffset(file);
        List<String> args = new ArrayList<>(List.of("resize", "--output=json"));
        if (c.shrink()) {
            args.add("--shrink");
        }
        args.addAll(List.of(file, "--", c.size()));
        JsonNode plan = Json.object(Diskplan.run(dir, args));
        long size = Json.longField(plan, "new_virtual_size");
        assertThat(size).as("the plan's new size").isEqualTo(c.expected());
        assertThat(Json.longField(plan, "old_virtual_size")).as("the plan's old size").isEqualTo(old);
        SoftAssertions soft = new SoftAssertions();
        VhdxChecks.cleanWithNewSize(dir, file, old, size, soft);
        soft.assertThat(Files.size(dir.resolve(file))).as("file length as planned")
                .isEqualTo(Json.longField(plan, "new_file_size"));
        if (c.movesBat()) {
            soft.assertThat(batOffset(file)).as("BAT region moved").isNotEqualTo(batBefore);
        } else {
            soft.assertThat(batOffset(file)).as("BAT region in place").isEqualTo(batBefore);
        }
        ProcessRunner.Result cmp = compareCommonPart(reference, file, Math.min(old, size));
        soft.assertThat(cmp.exitCode()).as("qemu-img compare of the first " + Math.min(old, size) + " bytes\n"
                + cmp.describe()).isZero();
        if (file.equals(DIRTY) && size > 18 * MIB) {
            // the block only the replayed log maps (the compare covers it; said here in so many words)
            soft.assertThat(VhdxChecks.io(dir, file, "read -P 0xa5 17M 1M")).as("guest block 17 from the log")
                    .doesNotContain("Pattern verification failed");
        }
        VhdxChecks.lastMibWritable(dir, file, size, soft);
        soft.assertAll();
    }

    /**
     * The dirty-log sample as found: qemu-img info refuses it read-only; diskplan info and the
     * window's inspector say the log needs replay; the log is no formality (the BAT as stored
     * does not map guest block 17, the log does, and qemu's replay reads 0xa5 there); the plan
     * says it replays it; after the resize qemu opens it read-only with the block in place.
     */
    @Test
    void dirtyLogSampleIsShownDirtyAndReplayedByTheResize() throws Exception {
        copy(masters, DIRTY, dir, DIRTY);
        ProcessRunner.Result readOnly = Qemu.img(dir, "info", "-f", "vhdx", DIRTY);
        assertThat(readOnly.exitCode()).as(readOnly.describe()).isNotZero();
        assertThat(readOnly.stderr()).contains("log that needs to be replayed");

        ProcessRunner.Result info = Diskplan.run(dir, "info", DIRTY);
        assertThat(info.exitCode()).as(info.describe()).isZero();
        assertThat(info.stdout()).contains("flag: log needs replay (1 valid log entry for log GUID "
                + "c82755bc-427f-1245-b72c-da70aaabe031)");
        Workers w = Workers.direct();
        ImageModel window = new ImageModel(w, new RecentFiles(dir.resolve("recent-files"), w));
        window.open(dir.resolve(DIRTY));
        assertThat(window.summary()).filteredOn(r -> r.label().equals("Flags")).singleElement()
                .satisfies(r -> assertThat(r.value()).contains("log needs replay"));

        // BAT entry 17 as stored: 0 (not present); the log's entry maps it to 29 MiB, fully present
        try (RandomAccessFile raf = new RandomAccessFile(dir.resolve(DIRTY).toFile(), "r")) {
            byte[] e = new byte[8];
            raf.seek(2 * MIB + 17 * 8);
            raf.readFully(e);
            assertThat(ByteBuffer.wrap(e).order(ByteOrder.LITTLE_ENDIAN).getLong()).isZero();
        }
        String reference = reference(DIRTY);
        assertThat(VhdxChecks.io(dir, reference, "read -P 0xa5 17M 1M")).doesNotContain("Pattern verification");

        ResizePlan plan = ResizeSession.planFile(dir.resolve(DIRTY), Optional.empty(),
                p -> new ResizeRequest(11 * GIB, false, Preallocation.OFF));
        assertThat(plan.notes()).anyMatch(n -> n.contains("1 entry left to replay"));
        ProcessRunner.Result us = Diskplan.run(dir, "resize", DIRTY, "+1G");
        assertThat(us.exitCode()).as(us.describe()).isZero();
        ProcessRunner.Result after = Qemu.img(dir, "info", "-f", "vhdx", DIRTY);
        assertThat(after.exitCode()).as("the log is empty: qemu opens it read-only\n" + after.describe()).isZero();
        assertThat(ImageProber.probe(dir.resolve(DIRTY), Optional.of("vhdx")).flags())
                .noneMatch(f -> f.startsWith("log needs replay"));
        assertThat(VhdxChecks.io(dir, DIRTY, "read -P 0xa5 17M 1M")).doesNotContain("Pattern verification");
    }

    /** A copy of {@code file} to compare with: untouched, or replayed by qemu when its log is live. */
    private String reference(String file) {
        String reference = "reference-" + file;
        copy(masters, file.equals(DIRTY) ? "replayed-" + file : file, dir, reference);
        return reference;
    }

    /** qemu-img compare of the first {@code length} guest bytes of two VHDX files (raw driver windows). */
    private ProcessRunner.Result compareCommonPart(String a, String b, long length) {
        return Qemu.img(dir, "compare", "--image-opts", window(a, length), window(b, length));
    }

    private static String window(String file, long length) {
        return "driver=raw,size=" + length + ",file.driver=vhdx,file.file.driver=file,file.file.filename=" + file;
    }

    /** The BAT region's file offset, as DiskPlan's probe reads it. */
    private long batOffset(String file) throws Exception {
        return ((VhdxHeader) ImageProber.probe(dir.resolve(file), Optional.of("vhdx")).header()).batOffset();
    }
}
