package org.diskplan.planner.vhdx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import org.diskplan.abi.ErrorCode;
import org.diskplan.abi.Preallocation;
import org.diskplan.planner.PatchKind;
import org.diskplan.planner.ResizeError;
import org.diskplan.planner.ResizePatch;
import org.diskplan.planner.ResizePlan;
import org.diskplan.planner.ResizeRequest;
import org.diskplan.planner.ResizeSession;
import org.diskplan.planner.apply.MemoryApply;
import org.diskplan.planner.apply.MemoryFile;
import org.diskplan.probe.ImageProber;
import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.vhdx.VhdxHeader;
import org.diskplan.probe.vhdx.VhdxLayout;
import org.diskplan.probe.vhdx.VhdxLog;
import org.diskplan.probe.vhdx.VhdxSampleWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The VHDX plans step by step in memory, with DiskPlan's own probe (which reads a live log
 * as replayed): the old size before the header commit, the new one from it on; the log entry
 * carries exactly the in-place writes that follow the commit; the header protocol.
 */
class VhdxPlannerTest {
    private static final long MiB = 1 << 20;

    @TempDir
    Path dir;
    private int n;

    private Path image(long size, Map<String, String> options) throws Exception {
        Path f = dir.resolve("d" + (n++) + ".vhdx");
        new VhdxSampleWriter().write(f, size, options);
        return f;
    }

    private static VhdxHeader header(ProbedImage p) {
        return (VhdxHeader) p.header();
    }

    private ResizePlan planAndCheckPrefixes(Path f, ResizeRequest req) throws Exception {
        boolean dirty = header(ImageProber.probe(f, Optional.of("vhdx"))).logNeedsReplay();
        ResizePlan plan = ResizeSession.planFile(f, Optional.of("vhdx"), p -> req);
        MemoryApply sim = MemoryApply.load(plan, f);
        for (int k = -1; k <= plan.finalStep(); k++) {
            if (k >= 0) {
                sim.step();
            }
            MemoryFile m = sim.file(0);
            ProbedImage p = ImageProber.probeForResize(f, m, Optional.of("vhdx"));
            boolean committed = k >= plan.commitIndex();
            assertThat(p.virtualSize()).as("size after step " + k).isEqualTo(committed ? plan.newVirtualSize()
                    : plan.oldVirtualSize());
            assertThat(p.flags()).as("flags after step " + k).noneMatch(s -> s.startsWith("corrupt"));
            // the log is live exactly between the commit and the last header write
            boolean live = committed ? k < plan.finalStep() - 1 : dirty;
            assertThat(header(p).logNeedsReplay()).as("log live after step " + k).isEqualTo(live);
        }
        return plan;
    }

    @Test
    void growInPlaceLogsTheSizeItemAndAppliesItAfterTheCommit() throws Exception {
        Path f = image(16 * MiB, Map.of("block_size", "1M"));
        ResizePlan plan = planAndCheckPrefixes(f, new ResizeRequest(64 * MiB, false, Preallocation.OFF));
        ProbedImage before = ImageProber.probe(f, Optional.of("vhdx"));
        VhdxHeader h = header(before);
        int commit = plan.commitIndex();
        ResizePatch log = plan.patches().get(commit - 1);
        assertThat(log.offset()).isEqualTo(h.logOffset());
        ResizePatch.Write header = (ResizePatch.Write) plan.patches().get(commit);
        assertThat(header.offset()).as("the non-current header").isEqualTo(
                h.headers().get(1 - h.currentHeaderIndex()).offset());
        ByteBuffer hb = header.dataView().order(VhdxLayout.ORDER);
        assertThat(hb.getLong(VhdxLayout.H_SEQUENCE)).isEqualTo(h.currentSequenceNumber() + 1);
        assertThat(hb.getLong(VhdxLayout.H_LOG_OFFSET)).isEqualTo(h.logOffset());
        assertThat(Integer.toUnsignedLong(hb.getInt(VhdxLayout.H_LOG_LENGTH))).isEqualTo(h.logLength());
        // the log entry, read back as qemu would, holds exactly what is written in place after the commit
        MemoryApply sim = MemoryApply.load(plan, f);
        for (int k = 0; k <= commit; k++) {
            sim.step();
        }
        byte[] guid = Arrays.copyOfRange(header.data(), VhdxLayout.H_LOG_GUID, VhdxLayout.H_LOG_GUID + 16);
        VhdxLog.Replay replay = VhdxLog.search(sim.file(0), h.logOffset(), h.logLength(), guid).orElseThrow();
        assertThat(replay.entries()).hasSize(1);
        var inPlace = plan.patches().subList(commit + 1, plan.patches().size() - 1);
        assertThat(replay.changes()).hasSameSizeAs(inPlace);
        for (int i = 0; i < inPlace.size(); i++) {
            assertThat(inPlace.get(i).offset()).isEqualTo(replay.changes().get(i).fileOffset());
        }
        ResizePatch.Write last = (ResizePatch.Write) plan.patches().get(plan.patches().size() - 1);
        assertThat(last.offset()).isEqualTo(h.headers().get(h.currentHeaderIndex()).offset());
        assertThat(last.dataView().order(VhdxLayout.ORDER).getLong(VhdxLayout.H_SEQUENCE))
                .isEqualTo(h.currentSequenceNumber() + 2);
        assertThat(Arrays.copyOfRange(last.data(), VhdxLayout.H_LOG_GUID, VhdxLayout.H_LOG_GUID + 16))
                .isEqualTo(new byte[16]);
    }

    @Test
    void growPastTheBatRegionMovesTheBatAndRewritesBothRegionTables() throws Exception {
        Path f = image(1L << 30, Map.of("block_size", "1M"));
        ResizePlan plan = planAndCheckPrefixes(f, new ResizeRequest(2L << 40, false, Preallocation.OFF));
        assertThat(plan.patches()).anyMatch(p -> p.kind() == PatchKind.COPY);
        assertThat(plan.notes()).anyMatch(n -> n.contains("both region tables rewritten"));
        MemoryApply sim = MemoryApply.load(plan, f);
        while (sim.next() <= plan.finalStep()) {
            sim.step();
        }
        VhdxHeader h = header(ImageProber.probeForResize(f, sim.file(0), Optional.of("vhdx")));
        assertThat(h.batOffset() % MiB).isZero();
        assertThat(h.batLength()).isGreaterThanOrEqualTo(h.batEntriesRequired() * 8);
        assertThat(h.batOffset()).isGreaterThanOrEqualTo(f.toFile().length() / MiB * MiB);
    }

    @Test
    void fixedGrowMapsNewBlocksAndShrinkUnmapsThem() throws Exception {
        Path f = image(20 * MiB, Map.of("subformat", "fixed", "block_size", "1M"));
        ResizePlan grow = planAndCheckPrefixes(f, new ResizeRequest(40 * MiB, false, Preallocation.OFF));
        assertThat(grow.notes()).anyMatch(n -> n.contains("fixed image: 20 new block"));
        Path g = image(64 * MiB, Map.of("block_size", "1M"));
        ResizePlan shrink = planAndCheckPrefixes(g, new ResizeRequest(8 * MiB, true, Preallocation.OFF));
        assertThat(shrink.newVirtualSize()).isEqualTo(8 * MiB);
    }

    @Test
    void dynamicWithEveryBlockPresentGrowsDynamic() throws Exception {
        // Windows writes dynamic images whose blocks are all FULLY_PRESENT (dissect's dynamic.vhdx):
        // without LeaveBlockAllocated the new blocks stay not present, the file does not grow by them.
        Path f = image(20 * MiB, Map.of("subformat", "fixed", "block_size", "1M"));
        VhdxHeader fixed = header(ImageProber.probe(f, Optional.of("vhdx")));
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.seek(fixed.fileParametersOffset() + 4);
            raf.write(new byte[4]); // flags: no LeaveBlockAllocated, no parent
        }
        ProbedImage before = ImageProber.probe(f, Optional.of("vhdx"));
        assertThat(before.subformat()).isEqualTo("dynamic");
        assertThat(header(before).batStateCounts().get(VhdxLayout.STATE_FULLY_PRESENT)).isEqualTo(20L);
        ResizePlan grow = planAndCheckPrefixes(f, new ResizeRequest(40 * MiB, false, Preallocation.OFF));
        assertThat(grow.notes()).noneMatch(n -> n.contains("fixed image"));
        MemoryApply sim = MemoryApply.load(grow, f);
        while (sim.next() <= grow.finalStep()) {
            sim.step();
        }
        ProbedImage after = ImageProber.probeForResize(f, sim.file(0), Optional.of("vhdx"));
        assertThat(after.subformat()).isEqualTo("dynamic");
        assertThat(header(after).batStateCounts().get(VhdxLayout.STATE_FULLY_PRESENT)).isEqualTo(20L);
        assertThat(header(after).batStateCounts().get(VhdxLayout.STATE_NOT_PRESENT)).isEqualTo(20L);
        assertThat(after.fileSize()).isLessThan(before.fileSize() + 20 * MiB);
    }

    @Test
    void aLogLeftToReplayIsReplayedByTheNextResize() throws Exception {
        Path f = image(16 * MiB, Map.of("block_size", "1M"));
        ResizePlan first = ResizeSession.planFile(f, Optional.of("vhdx"),
                p -> new ResizeRequest(64 * MiB, false, Preallocation.OFF));
        MemoryApply sim = MemoryApply.load(first, f);
        for (int k = 0; k <= first.commitIndex(); k++) {
            sim.step();
        }
        Path dirty = dir.resolve("dirty.vhdx");
        Files.write(dirty, sim.file(0).bytes());
        ProbedImage p = ImageProber.probe(dirty, Optional.of("vhdx"));
        assertThat(header(p).logNeedsReplay()).isTrue();
        assertThat(p.virtualSize()).as("read as replayed").isEqualTo(64 * MiB);
        ResizePlan second = planAndCheckPrefixes(dirty, new ResizeRequest(3L << 30, false, Preallocation.OFF));
        assertThat(second.oldVirtualSize()).isEqualTo(64 * MiB);
        assertThat(second.notes()).anyMatch(n -> n.contains("left to replay"));
        ResizePlan relocating = planAndCheckPrefixes(dirty, new ResizeRequest(200L << 30, false,
                Preallocation.OFF));
        assertThat(relocating.notes()).anyMatch(n -> n.contains("left to replay"));
    }

    /**
     * A log left to replay whose entry maps block 0 past the end of the file: Hyper-V
     * allocates a block by extending the file and logging the BAT sector, and a crash can
     * lose the extension but keep the entry, whose last_file_offset says how long the file
     * must be. Replay extends the file to it (rounded up to 1 MiB, as qemu does), so the
     * resize does too, and the block stays inside the file; a flushed_file_offset past the
     * end (the file lost what the entry already relied on) is refused, naming the field.
     */
    @Test
    void aPendingLogsLastFileOffsetExtendsTheFileAndAFlushedOffsetPastTheEndIsRefused() throws Exception {
        Path f = image(16 * MiB, Map.of("block_size", "1M"));
        long length = Files.size(f);
        Path dirty = pendingLogMappingBlock0PastTheEnd(f, length, length + MiB - 4096);
        ProbedImage p = ImageProber.probe(dirty, Optional.of("vhdx"));
        assertThat(p.flags()).contains("log replay extends the file to " + (length + MiB) + " bytes (last_file_offset "
                + (length + MiB - 4096) + ")").noneMatch(s -> s.startsWith("corrupt"));
        for (long size : new long[] {64 * MiB, 200L << 30, 8 * MiB}) {
            ResizePlan plan = planAndCheckPrefixes(dirty, new ResizeRequest(size, size < 16 * MiB, Preallocation.OFF));
            MemoryApply sim = MemoryApply.load(plan, dirty);
            while (sim.next() <= plan.finalStep()) {
                sim.step();
            }
            assertThat(sim.file(0).size()).as("block 0 (at " + length + ") lies in the file").isGreaterThanOrEqualTo(
                    length + MiB);
            Path done = dir.resolve("done" + size + ".vhdx");
            Files.write(done, sim.file(0).bytes());
            ProbedImage after = ImageProber.probe(done, Optional.of("vhdx"));
            assertThat(header(after).logNeedsReplay()).isFalse();
            assertThat(after.flags()).noneMatch(s -> s.startsWith("corrupt"));
            assertThat(header(after).batStateCounts().get(VhdxLayout.STATE_FULLY_PRESENT)).isEqualTo(1L);
        }

        Path truncated = pendingLogMappingBlock0PastTheEnd(f, length + MiB, length + MiB);
        byte[] before = Files.readAllBytes(truncated);
        VhdxHeader h = header(ImageProber.probe(truncated, Optional.of("vhdx")));
        assertThatThrownBy(() -> ResizeSession.planFile(truncated, Optional.of("vhdx"),
                q -> new ResizeRequest(64 * MiB, false, Preallocation.OFF)))
                .isInstanceOf(ResizeError.class)
                .hasMessageContaining("flushed_file_offset at offset " + (h.logOffset() + VhdxLog.E_FLUSHED_FILE_OFFSET))
                .satisfies(e -> assertThat(((ResizeError) e).code()).isEqualTo(ErrorCode.NEEDS_REPAIR));
        assertThat(Files.readAllBytes(truncated)).isEqualTo(before);
    }

    /**
     * A copy of {@code f} with one log entry left to replay (flushed and last file offsets
     * as given) whose BAT sector maps payload block 0 fully present at the file's end.
     */
    private Path pendingLogMappingBlock0PastTheEnd(Path f, long flushed, long last) throws Exception {
        VhdxHeader h = header(ImageProber.probe(f, Optional.of("vhdx")));
        long length = Files.size(f);
        Path out = dir.resolve("pending" + (n++) + ".vhdx");
        byte[] bytes = Files.readAllBytes(f);
        ByteBuffer b = ByteBuffer.wrap(bytes).order(VhdxLayout.ORDER);
        byte[] sector = Arrays.copyOfRange(bytes, (int) h.batOffset(), (int) h.batOffset() + VhdxLog.SECTOR);
        ByteBuffer.wrap(sector).order(VhdxLayout.ORDER).putLong(0, VhdxLayout.batEntry(VhdxLayout.STATE_FULLY_PRESENT,
                length));
        byte[] guid = new byte[16];
        Arrays.fill(guid, (byte) 0x5c);
        byte[] entry = VhdxLog.encodeEntry(guid, 7, 0, flushed, last,
                java.util.List.of(new VhdxLog.Data(h.batOffset(), sector)));
        System.arraycopy(entry, 0, bytes, (int) h.logOffset(), entry.length);
        int at = (int) h.headers().get(h.currentHeaderIndex()).offset();
        b.position(at + VhdxLayout.H_LOG_GUID);
        b.put(guid);
        byte[] head = Arrays.copyOfRange(bytes, at, at + VhdxLayout.HEADER_SIZE);
        b.putInt(at + VhdxLayout.H_CHECKSUM, (int) VhdxLayout.crc32c(head, VhdxLayout.H_CHECKSUM));
        Files.write(out, bytes);
        return out;
    }

    @Test
    void fourKibLogicalSectors() throws Exception {
        Path f = image(16 * MiB, Map.of("block_size", "1M"));
        VhdxHeader h = header(ImageProber.probe(f, Optional.of("vhdx")));
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.seek(h.logicalSectorSizeOffset());
            raf.write(ByteBuffer.allocate(4).order(VhdxLayout.ORDER).putInt(4096).array());
        }
        VhdxHeader h4 = header(ImageProber.probe(f, Optional.of("vhdx")));
        assertThat(h4.logicalSectorSize()).isEqualTo(4096);
        assertThat(h4.chunkRatio()).isEqualTo((1L << 23) * 4096 / MiB);
        assertThatThrownBy(() -> ResizeSession.planFile(f, Optional.of("vhdx"),
                p -> new ResizeRequest(64 * MiB + 512, false, Preallocation.OFF)))
                .isInstanceOf(ResizeError.class).hasMessageContaining("4096");
        ResizePlan plan = planAndCheckPrefixes(f, new ResizeRequest(64 * MiB + 4096, false, Preallocation.OFF));
        assertThat(plan.newVirtualSize()).isEqualTo(64 * MiB + 4096);
    }

    @Test
    void refusesDifferencingAndBrokenHeaders() throws Exception {
        Path f = image(16 * MiB, Map.of());
        VhdxHeader h = header(ImageProber.probe(f, Optional.of("vhdx")));
        byte[] orig = Files.readAllBytes(f);
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.seek(h.headers().get(1).offset() + 200);
            raf.write(1);
        }
        assertThatThrownBy(() -> ResizeSession.planFile(f, Optional.of("vhdx"),
                p -> new ResizeRequest(32 * MiB, false, Preallocation.OFF)))
                .isInstanceOf(ResizeError.class).hasMessageContaining("header at offset " + (128 * 1024));
        Files.write(f, orig);
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            // file parameters: bit 1 = has_parent
            raf.seek(h.fileParametersOffset() + 4);
            raf.write(2);
        }
        assertThatThrownBy(() -> ResizeSession.planFile(f, Optional.of("vhdx"),
                p -> new ResizeRequest(32 * MiB, false, Preallocation.OFF)))
                .isInstanceOf(ResizeError.class).hasMessageContaining("has_parent")
                .satisfies(e -> assertThat(((ResizeError) e).code()).isEqualTo(ErrorCode.UNSUPPORTED_SUBFORMAT));
    }

    /**
     * CI's differential found it (vhdx mutant 3144, seed 0): the size item's table offset set
     * to the file parameters' offset. qemu opens that image (a 1 MiB disk read out of the block
     * size), but a new size written there rewrites the block size too, and qemu refused the
     * result. Also an item inside the 64 KiB table. Refused, naming the entry's offset field.
     */
    @Test
    void refusesASizeItemThatSharesBytesWithAnotherItemOrTheTable() throws Exception {
        Path f = image(16 * MiB, Map.of());
        VhdxHeader h = header(ImageProber.probe(f, Optional.of("vhdx")));
        VhdxHeader.MetadataItem size = h.metadataItems().stream().filter(i -> i.name().equals("virtual disk size"))
                .findFirst().orElseThrow();
        long entryOffsetField = size.entryOffset() + 16;
        byte[] orig = Files.readAllBytes(f);
        for (long rel : new long[] {h.fileParametersOffset() - h.metadataOffset(), 4096, h.metadataLength() - 4}) {
            Files.write(f, orig);
            try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
                raf.seek(entryOffsetField);
                raf.write(ByteBuffer.allocate(4).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt((int) rel).array());
            }
            byte[] mutated = Files.readAllBytes(f);
            assertThatThrownBy(() -> ResizeSession.planFile(f, Optional.of("vhdx"),
                    p -> new ResizeRequest(32 * MiB, false, Preallocation.OFF)))
                    .as("size item at " + rel).isInstanceOf(ResizeError.class)
                    .hasMessageContaining("field offset at offset " + entryOffsetField + ": " + rel)
                    .satisfies(e -> {
                        ResizeError r = (ResizeError) e;
                        assertThat(r.location()).contains(new ResizeError.Location(ResizeError.Kind.CORRUPT,
                                "offset", entryOffsetField));
                    });
            assertThat(Files.readAllBytes(f)).as("refused: the file unchanged").isEqualTo(mutated);
        }
        // the check refuses no sound image: the unmutated one plans
        Files.write(f, orig);
        assertThat(ResizeSession.planFile(f, Optional.of("vhdx"),
                p -> new ResizeRequest(32 * MiB, false, Preallocation.OFF)).newVirtualSize()).isEqualTo(32 * MiB);
    }
}
