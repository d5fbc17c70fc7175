package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.stream.Stream;
import org.diskplan.abi.Preallocation;
import org.diskplan.planner.ResizeRequest;
import org.diskplan.probe.FileImageReader;
import org.diskplan.probe.ImageProber;
import org.diskplan.probe.vhdx.VhdxHeader;
import org.diskplan.probe.vhdx.VhdxLayout;
import org.diskplan.probe.vhdx.VhdxLog;
import org.diskplan.probe.vhdx.VhdxSampleWriter;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * The crash prefixes (sampled, as {@link CrashPrefixSuite} samples) of one plan on a
 * 4096-byte logical sector VHDX: a dynamic grow at 1 MiB blocks that relocates the BAT
 * (1 GiB to 130 GiB). qemu refuses 4K-sector VHDX (see {@link VhdxFourKSectorOracleTest}),
 * so nothing outside DiskPlan replays a live log here: the oracle replays it the way
 * [MS-VHDX] 2.3.3 says (the entries' data and zero descriptors written in place, the file
 * extended to the last file offset, the log GUID cleared), taking the entries from
 * DiskPlan's log parser, then libvhdi reads the result: {@code vhdiinfo} for the size and
 * {@code vhdimount} for the guest data, compared over the first 8 MiB and the last MiB of the
 * original 1 GiB (where the guest data was put). The plan has few steps, so every prefix runs.
 */
@RequiresOracle({"vhdiinfo", "vhdimount", "umount"})
class VhdxFourKSectorCrashPrefixTest {
    static final long MIB = 1 << 20;

    @TempDir
    Path tmp;

    record Libvhdi() implements CrashPrefixSuite.Oracle {
        @Override
        public long accept(Path dir, String file, String ctx) {
            try {
                replayLog(dir.resolve(file));
            } catch (Exception e) {
                throw new AssertionError("replaying the log" + ctx, e);
            }
            ProcessRunner.Result r = ProcessRunner.of(Oracles.require("vhdiinfo").toString(), file).in(dir).run();
            assertThat(r.exitCode()).as("vhdiinfo reads it\n" + r.describe() + ctx).isZero();
            Matcher m = java.util.regex.Pattern.compile("Media size\\s*:.*\\((\\d+) bytes\\)").matcher(r.stdout());
            assertThat(m.find()).as(r.describe() + ctx).isTrue();
            return Long.parseLong(m.group(1));
        }

        @Override
        public void sameGuestData(Path dir, String reference, String candidate, String ctx) {
            try {
                byte[][] a = ranges(dir, reference);
                byte[][] b = ranges(dir, candidate);
                assertThat(Arrays.equals(a[0], b[0])).as("first 8 MiB as in " + reference + ctx).isTrue();
                assertThat(Arrays.equals(a[1], b[1])).as("last MiB as in " + reference + ctx).isTrue();
            } catch (Exception e) {
                throw new AssertionError("reading through vhdimount" + ctx, e);
            }
        }
    }

    /** Replays a live log in place, as a reader opening the image read-write must. */
    static void replayLog(Path img) throws Exception {
        VhdxHeader h = (VhdxHeader) ImageProber.probe(img, Optional.of("vhdx")).header();
        if (!h.logNeedsReplay()) {
            return;
        }
        long at = h.headers().get(h.currentHeaderIndex()).offset();
        try (RandomAccessFile raf = new RandomAccessFile(img.toFile(), "rw")) {
            byte[] header = new byte[VhdxLayout.HEADER_SIZE];
            raf.seek(at);
            raf.readFully(header);
            byte[] guid = Arrays.copyOfRange(header, VhdxLayout.H_LOG_GUID, VhdxLayout.H_LOG_GUID + 16);
            VhdxLog.Replay replay;
            try (FileImageReader reader = FileImageReader.open(img)) {
                replay = VhdxLog.search(reader, h.logOffset(), h.logLength(), guid).orElseThrow(
                        () -> new AssertionError("a live log GUID but no active sequence"));
            }
            long length = replay.fileLength(raf.length());
            if (length > raf.length()) {
                raf.setLength(length);
            }
            for (VhdxLog.Change c : replay.changes()) {
                if (c instanceof VhdxLog.Data d) {
                    raf.seek(d.fileOffset());
                    raf.write(d.sector());
                } else if (c instanceof VhdxLog.Zero z) {
                    raf.seek(z.fileOffset());
                    raf.write(new byte[Math.toIntExact(z.length())]);
                }
            }
            Arrays.fill(header, VhdxLayout.H_LOG_GUID, VhdxLayout.H_LOG_GUID + 16, (byte) 0);
            ByteBuffer b = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN);
            b.putInt(VhdxLayout.H_CHECKSUM, 0);
            b.putInt(VhdxLayout.H_CHECKSUM, (int) VhdxLayout.crc32c(header, VhdxLayout.H_CHECKSUM));
            raf.seek(at);
            raf.write(header);
        }
    }

    /** The first 8 MiB and the MiB below 1 GiB of the guest, read through vhdimount. */
    static byte[][] ranges(Path dir, String file) throws Exception {
        return Vhdimount.read(dir, dir.resolve(file), raf -> {
            byte[] first = new byte[(int) (8 * MIB)];
            raf.readFully(first);
            byte[] last = new byte[(int) MIB];
            raf.seek(Math.min(raf.length(), 1L << 30) - MIB);
            raf.readFully(last);
            return new byte[][] {first, last};
        });
    }

    @TestFactory
    Stream<DynamicNode> everyPrefixLeavesTheOldOrTheNewImage() throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("v4k"));
        Path original = dir.resolve("original.vhdx");
        new VhdxSampleWriter().write(original, 1L << 30, Map.of("block_size", "1M", "logical_sector_size", "4096"));
        VhdxFourKSectorOracleTest.put(original, new VhdxFourKSectorOracleTest.Pattern(0, MIB, 0x5a));
        VhdxFourKSectorOracleTest.put(original, new VhdxFourKSectorOracleTest.Pattern(2 * MIB, MIB / 2, 0x44));
        VhdxFourKSectorOracleTest.put(original, new VhdxFourKSectorOracleTest.Pattern(3 * MIB, MIB, 0x33));
        VhdxFourKSectorOracleTest.put(original, new VhdxFourKSectorOracleTest.Pattern((1L << 30) - MIB, MIB, 0x66));
        long newSize = 130L << 30;
        List<DynamicNode> out = new ArrayList<>();
        CrashPrefixSuite.of("4K dynamic grow relocating the BAT (1G -> 130G)", dir, "original.vhdx",
                probed -> new ResizeRequest(newSize, false, Preallocation.OFF), new Libvhdi()).ifPresent(out::add);
        assertThat(out).hasSize(1);
        return out.stream();
    }
}
