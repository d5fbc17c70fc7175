package org.diskplan.probe.vhdx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.zip.CRC32C;
import org.diskplan.abi.ImageFormat;
import org.diskplan.probe.Guids;
import org.diskplan.probe.HeaderField;
import org.diskplan.probe.ImageReader;
import org.diskplan.probe.LayoutRegion;
import org.diskplan.probe.ProbeException;
import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.RegionKind;
import org.junit.jupiter.api.Test;

/** Every test is bounded: a probe that hangs on a hostile input fails instead of stalling the build. */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class VhdxProbeTest {
    private static final Path PATH = Path.of("test.vhdx");
    static final int LOG_OFFSET = 0x50000;
    static final int LOG_LENGTH = 0x2000;
    static final int BAT_OFFSET = 0x52000;
    static final int BAT_LENGTH = 0x1000;
    static final int META_OFFSET = 0x53000;
    static final int META_LENGTH = 0x11000;
    static final int ITEMS = 0x10000;
    static final long MIB = 1 << 20;

    /** A compact hand-built VHDX (regions not 1 MiB aligned, so it stays small). */
    static final class Builder {
        long virtualSize = 3 * MIB + 512;
        int blockSize = 1 << 20;
        int logicalSector = 512;
        int fileFlags = 0;
        long seq1 = 1;
        long seq2 = 2;
        boolean logGuid = false;
        boolean logEntry = false;
        long[] bat = {};
        int extraBytes = 0;

        byte[] build() {
            ByteBuffer b = ByteBuffer.allocate(META_OFFSET + META_LENGTH + extraBytes).order(ByteOrder.LITTLE_ENDIAN);
            b.put(0, "vhdxfile".getBytes(StandardCharsets.US_ASCII));
            b.put(8, "DiskPlan test".getBytes(StandardCharsets.UTF_16LE));
            header(b, 0x10000, seq1);
            header(b, 0x20000, seq2);
            regionTable(b, 0x30000);
            regionTable(b, 0x40000);
            // metadata table and items
            b.put(META_OFFSET, "metadata".getBytes(StandardCharsets.US_ASCII));
            b.putShort(META_OFFSET + 10, (short) 5);
            item(b, 0, VhdxLayout.FILE_PARAMETERS_GUID, ITEMS, 8, 4);
            item(b, 1, VhdxLayout.VIRTUAL_DISK_SIZE_GUID, ITEMS + 8, 8, 6);
            item(b, 2, VhdxLayout.PAGE83_GUID, ITEMS + 16, 16, 6);
            item(b, 3, VhdxLayout.LOGICAL_SECTOR_SIZE_GUID, ITEMS + 32, 4, 6);
            item(b, 4, VhdxLayout.PHYSICAL_SECTOR_SIZE_GUID, ITEMS + 36, 4, 6);
            b.putInt(META_OFFSET + ITEMS, blockSize);
            b.putInt(META_OFFSET + ITEMS + 4, fileFlags);
            b.putLong(META_OFFSET + ITEMS + 8, virtualSize);
            b.put(META_OFFSET + ITEMS + 16, guid("11111111-2222-3333-4444-555555555555"));
            b.putInt(META_OFFSET + ITEMS + 32, logicalSector);
            b.putInt(META_OFFSET + ITEMS + 36, 4096);
            for (int i = 0; i < bat.length; i++) {
                b.putLong(BAT_OFFSET + 8 * i, bat[i]);
            }
            if (logEntry) {
                ByteBuffer e = ByteBuffer.allocate(4096).order(ByteOrder.LITTLE_ENDIAN);
                e.putInt(0, (int) VhdxLayout.LOG_ENTRY_SIGNATURE);
                e.putInt(8, 4096);
                e.putLong(16, 1);
                e.put(32, guid("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"));
                e.putLong(48, b.capacity());
                e.putLong(56, b.capacity());
                e.putInt(4, (int) VhdxLayout.crc32c(e.array(), 4));
                b.put(LOG_OFFSET, e.array());
            }
            byte[] img = b.array();
            fixCrcs(img);
            return img;
        }

        private void header(ByteBuffer b, int at, long seq) {
            b.putInt(at, (int) VhdxLayout.HEADER_SIGNATURE);
            b.putLong(at + 8, seq);
            b.put(at + 16, guid("01020304-0506-0708-090a-0b0c0d0e0f10"));
            b.put(at + 32, guid("21020304-0506-0708-090a-0b0c0d0e0f10"));
            if (logGuid) {
                b.put(at + 48, guid("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"));
            }
            b.putShort(at + 66, (short) 1);
            b.putInt(at + 68, LOG_LENGTH);
            b.putLong(at + 72, LOG_OFFSET);
        }

        private static void regionTable(ByteBuffer b, int at) {
            b.putInt(at, (int) VhdxLayout.REGION_SIGNATURE);
            b.putInt(at + 8, 2);
            b.put(at + 16, guid(VhdxLayout.BAT_GUID));
            b.putLong(at + 32, BAT_OFFSET);
            b.putInt(at + 40, BAT_LENGTH);
            b.putInt(at + 44, 1);
            b.put(at + 48, guid(VhdxLayout.METADATA_GUID));
            b.putLong(at + 64, META_OFFSET);
            b.putInt(at + 72, META_LENGTH);
            b.putInt(at + 76, 1);
        }

        private static void item(ByteBuffer b, int i, String guid, int offset, int length, int flags) {
            int at = META_OFFSET + 32 + 32 * i;
            b.put(at, guid(guid));
            b.putInt(at + 16, offset);
            b.putInt(at + 20, length);
            b.putInt(at + 24, flags);
        }
    }

    /** Recomputes the CRC-32C of both headers and both region tables. */
    static void fixCrcs(byte[] img) {
        ByteBuffer b = ByteBuffer.wrap(img).order(ByteOrder.LITTLE_ENDIAN);
        for (int[] s : new int[][] {{0x10000, 4096}, {0x20000, 4096}, {0x30000, 65536}, {0x40000, 65536}}) {
            if (s[0] + s[1] <= img.length) {
                b.putInt(s[0] + 4, 0);
                CRC32C crc = new CRC32C();
                crc.update(img, s[0], s[1]);
                b.putInt(s[0] + 4, (int) crc.getValue());
            }
        }
    }

    /** A GUID in the Microsoft mixed-endian layout. */
    static byte[] guid(String text) {
        return Guids.mixedEndian(UUID.fromString(text));
    }

    static ProbedImage probe(byte[] img) throws ProbeException {
        return new VhdxProbe().probe(PATH, new ArrayReader(img));
    }

    static HeaderField field(ProbedImage img, String group, String name) {
        return img.fields().stream().filter(f -> f.group().equals(group) && f.name().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no field " + group + "/" + name));
    }

    static void assertCovers(ProbedImage img) {
        long cursor = 0;
        for (LayoutRegion r : img.regions()) {
            if (r.offset() != cursor || r.length() <= 0) {
                fail("layout not contiguous at " + r + " in " + img.regions());
            }
            cursor = r.end();
        }
        assertThat(cursor).isEqualTo(img.fileSize());
        assertThat(img.regions().size()).isLessThanOrEqualTo(10_000);
    }

    @Test
    void dynamicImageFieldsAndLayout() throws Exception {
        ProbedImage p = probe(new Builder().build());
        assertThat(p.format()).isEqualTo(ImageFormat.VHDX);
        assertThat(p.subformat()).isEqualTo("dynamic");
        assertThat(p.virtualSize()).isEqualTo(3 * MIB + 512);
        assertThat(p.allocationUnit()).isEqualTo(MIB);
        assertThat(p.flags()).contains("creator: DiskPlan test");
        assertThat(field(p, "header 2", "sequence_number").offset()).isEqualTo(0x20008);
        assertThat(field(p, "header 2", "sequence_number").value()).isEqualTo("2");
        assertThat(field(p, "header 1", "checksum (computed)").value()).endsWith("(valid)");
        assertThat(field(p, "header 1", "file_write_guid").value()).isEqualTo("01020304-0506-0708-090a-0b0c0d0e0f10");
        assertThat(field(p, "region table 1 entry 0", "guid").value()).isEqualTo(VhdxLayout.BAT_GUID);
        assertThat(field(p, "region table 1 entry 1", "file_offset").offset()).isEqualTo(0x30000 + 16 + 32 + 16);
        assertThat(field(p, "metadata item: virtual disk size", "virtual_disk_size").offset())
                .isEqualTo(META_OFFSET + ITEMS + 8);
        assertThat(field(p, "metadata item: logical sector size", "logical_sector_size").value())
                .isEqualTo("512 (0x200)");
        assertThat(field(p, "metadata item: page 83 data", "page83_data").value())
                .isEqualTo("11111111-2222-3333-4444-555555555555");
        assertThat(field(p, "BAT", "summary").value()).contains("4 of 4 entries", "chunk ratio 4096",
                "4 not present");
        assertCovers(p);
        assertThat(p.regions()).extracting(LayoutRegion::kind).containsExactly(RegionKind.HEADER,
                RegionKind.HEADER, RegionKind.HEADER, RegionKind.TABLE, RegionKind.TABLE, RegionKind.LOG,
                RegionKind.TABLE, RegionKind.METADATA);
        VhdxHeader h = (VhdxHeader) p.header();
        assertThat(h.currentHeaderIndex()).isEqualTo(1);
        assertThat(h.currentSequenceNumber()).isEqualTo(2);
        assertThat(h.batOffset()).isEqualTo(BAT_OFFSET);
        assertThat(h.virtualDiskSizeOffset()).isEqualTo(META_OFFSET + ITEMS + 8);
        assertThat(h.chunkRatio()).isEqualTo(4096);
        assertThat(h.batEntriesRequired()).isEqualTo(4);
        assertThat(h.logOffset()).isEqualTo(LOG_OFFSET);
        assertThat(h.logNeedsReplay()).isFalse();
    }

    @Test
    void currentHeaderIsTheValidOneWithTheHigherSequence() throws Exception {
        Builder b = new Builder();
        b.seq1 = 9;
        assertThat(((VhdxHeader) probe(b.build()).header()).currentHeaderIndex()).isZero();
        byte[] img = b.build();
        img[0x10000 + 100] ^= 1; // header 1 CRC now wrong: header 2 is current
        ProbedImage p = probe(img);
        assertThat(((VhdxHeader) p.header()).currentHeaderIndex()).isEqualTo(1);
        assertThat(p.flags()).contains("header 1 is invalid (signature, version or CRC-32C)");
        assertThat(field(p, "header 1", "checksum (computed)").value()).endsWith("(MISMATCH)");
    }

    @Test
    void fixedOnlyWhenLeaveBlocksAllocatedNotWhenEveryBlockIsPresent() throws Exception {
        // Windows' dynamic.vhdx (dissect.hypervisor) has its only block FULLY_PRESENT and flags 0:
        // vhdiinfo and Hyper-V call it dynamic, and so must we.
        Builder b = new Builder();
        b.virtualSize = MIB;
        b.bat = new long[] {(1L << 20) | VhdxLayout.STATE_FULLY_PRESENT};
        b.extraBytes = (int) (2 * MIB);
        ProbedImage p = probe(b.build());
        assertThat(p.subformat()).isEqualTo("dynamic");
        assertThat(p.flags()).doesNotContain("leave blocks allocated");
        assertThat(p.regions()).anyMatch(r -> r.kind() == RegionKind.DATA && r.offset() == MIB && r.length() == MIB);
        assertCovers(p);
        Builder l = new Builder();
        l.fileFlags = 1;
        assertThat(probe(l.build()).subformat()).isEqualTo("fixed");
        assertThat(probe(l.build()).flags()).contains("leave blocks allocated");
    }

    @Test
    void differencingAndLogReplayFlags() throws Exception {
        Builder d = new Builder();
        d.fileFlags = 2;
        ProbedImage p = probe(d.build());
        assertThat(p.subformat()).isEqualTo("differencing");
        assertThat(p.flags()).contains("has parent");
        Builder log = new Builder();
        log.logGuid = true;
        log.logEntry = true;
        ProbedImage q = probe(log.build());
        assertThat(((VhdxHeader) q.header()).logNeedsReplay()).isTrue();
        assertThat(((VhdxHeader) q.header()).logEntriesFound()).isEqualTo(1);
        assertThat(q.flags()).anyMatch(f -> f.startsWith("log needs replay"));
        assertThat(field(q, "log entry 1", "checksum").value()).endsWith("(valid)");
        Builder stale = new Builder();
        stale.logEntry = true;
        assertThat(((VhdxHeader) probe(stale.build()).header()).logNeedsReplay()).isFalse();
    }

    @Test
    void longLogsAreScannedInLinearTime() throws Exception {
        Builder b = new Builder();
        int logBytes = 4 << 20;
        b.extraBytes = logBytes;
        byte[] img = b.build();
        int base = META_OFFSET + META_LENGTH;
        ByteBuffer bb = ByteBuffer.wrap(img).order(ByteOrder.LITTLE_ENDIAN);
        for (int at = base; at < base + logBytes; at += 4096) {
            bb.putInt(at, (int) VhdxLayout.LOG_ENTRY_SIGNATURE);
            bb.putInt(at + 8, 4096);
        }
        for (int h : new int[] {0x10000, 0x20000}) {
            bb.putInt(h + 68, logBytes);
            bb.putLong(h + 72, base);
        }
        fixCrcs(img);
        ProbedImage p = probe(img);
        assertThat(((VhdxHeader) p.header()).logEntriesFound()).isEqualTo(1024);
        assertThat(field(p, "log", "entries (not shown)").value()).isEqualTo("1008 more");
        assertCovers(p);
    }

    @Test
    void detectedAndDispatchedThroughImageProber() throws Exception {
        ProbedImage p = org.diskplan.probe.ImageProber.probe(PATH, new ArrayReader(new Builder().build()),
                java.util.Optional.empty());
        assertThat(p.format()).isEqualTo(ImageFormat.VHDX);
        assertThat(p.header()).isInstanceOf(VhdxHeader.class);
    }

    @Test
    void differencingBatWithSectorBitmapEntries() throws Exception {
        Builder b = new Builder();
        b.fileFlags = 2; // has_parent: BAT = chunks × (chunk ratio + 1) entries
        b.virtualSize = 2 * MIB;
        b.extraBytes = (int) (4 * MIB);
        long[] bat = new long[4097];
        bat[0] = (1L << 20) | VhdxLayout.STATE_PARTIALLY_PRESENT;
        bat[1] = VhdxLayout.STATE_NOT_PRESENT;
        bat[4096] = (2L << 20) | VhdxLayout.STATE_FULLY_PRESENT; // the sector bitmap block of chunk 0
        b.bat = Arrays.copyOf(bat, 512); // BAT region is 4 KiB: 512 entries fit
        ProbedImage p = probe(b.build());
        VhdxHeader h = (VhdxHeader) p.header();
        assertThat(h.batEntriesRequired()).isEqualTo(4097);
        assertThat(h.batEntriesRead()).isEqualTo(512);
        assertThat(h.batStateCounts().get(VhdxLayout.STATE_PARTIALLY_PRESENT)).isEqualTo(1);
        assertThat(p.flags()).anyMatch(f -> f.contains("BAT region holds 512 entries, the virtual size needs 4097"));
        assertThat(p.regions()).anyMatch(r -> r.kind() == RegionKind.DATA && r.offset() == MIB);
        assertCovers(p);
    }

    /**
     * qemu's vhdx_open refuses regions that overlap the log or each other, and fully present
     * blocks that overlap any of them ("VHDX region A-B overlaps with region C-D"); a resize
     * of such a file would leave one qemu still refuses. Flagged corrupt, naming the field.
     */
    @Test
    void regionsAndBlocksOverlappingTheFilesStructuresAreCorrupt() throws Exception {
        Builder sound = new Builder();
        sound.extraBytes = (int) (4 * MIB);
        sound.bat = new long[] {(1L << 20) | VhdxLayout.STATE_FULLY_PRESENT};
        assertThat(probe(sound.build()).flags()).noneMatch(f -> f.startsWith("corrupt"));

        byte[] batOverLog = new Builder().build();
        for (int rt : new int[] {0x30000, 0x40000}) {
            ByteBuffer.wrap(batOverLog).order(ByteOrder.LITTLE_ENDIAN).putLong(rt + 32, LOG_OFFSET + 0x1000);
        }
        fixCrcs(batOverLog);
        assertThat(probe(batOverLog).flags()).contains("corrupt: region table entry field file_offset at offset "
                + (0x30000 + 32) + ": the BAT region (" + (LOG_OFFSET + 0x1000) + " to " + (LOG_OFFSET + 0x1000
                + BAT_LENGTH) + ") overlaps the log (" + LOG_OFFSET + " to " + (LOG_OFFSET + LOG_LENGTH)
                + ") (qemu refuses to open)");

        byte[] metaOverBat = new Builder().build();
        for (int rt : new int[] {0x30000, 0x40000}) {
            ByteBuffer.wrap(metaOverBat).order(ByteOrder.LITTLE_ENDIAN).putInt(rt + 40, BAT_LENGTH + 1);
        }
        fixCrcs(metaOverBat);
        assertThat(probe(metaOverBat).flags()).anyMatch(f -> f.startsWith("corrupt: region table entry field "
                + "file_offset at offset " + (0x30000 + 64) + ": the metadata region"));

        Builder block = new Builder();
        block.bat = new long[] {((long) BAT_OFFSET >> 20 << 20) | VhdxLayout.STATE_FULLY_PRESENT};
        assertThat(probe(block.build()).flags()).anyMatch(f -> f.startsWith("corrupt: BAT entry 0 at offset "
                + BAT_OFFSET + " places its block (0 to " + MIB + ") over the header section"));

        // partially present blocks are not checked by qemu, nor here
        Builder partial = new Builder();
        partial.bat = new long[] {VhdxLayout.STATE_PARTIALLY_PRESENT};
        assertThat(probe(partial.build()).flags()).noneMatch(f -> f.startsWith("corrupt"));
    }

    @Test
    void aKnownItemShorterThanItsValueIsCorruptAndNotRead() throws Exception {
        // each known item's length field (table entry i at META_OFFSET + 32 + 32 i, length at +20) cut by one byte
        String[][] items = {{"0", "file parameters", "8", "required"}, {"1", "virtual disk size", "8", "required"},
            {"2", "page 83 data", "16", "optional"}, {"3", "logical sector size", "4", "required"},
            {"4", "physical sector size", "4", "optional"}};
        for (String[] it : items) {
            byte[] img = new Builder().build();
            int need = Integer.parseInt(it[2]);
            ByteBuffer.wrap(img).order(ByteOrder.LITTLE_ENDIAN).putInt(META_OFFSET + 32 + 32 * Integer.parseInt(it[0]) + 20,
                    need - 1);
            if (it[3].equals("required")) {
                assertThatThrownBy(() -> probe(img)).as(it[1]).isInstanceOf(ProbeException.class)
                        .hasMessageContaining("the " + it[1] + " item").hasMessageContaining("missing or unreadable");
            } else {
                assertThat(probe(img).flags()).as(it[1]).anyMatch(f -> f.startsWith("corrupt: metadata item ")
                        && f.endsWith(" is " + (need - 1) + " bytes, needs " + need));
            }
        }
    }

    @Test
    void fourKiBLogicalSectors() throws Exception {
        Builder b = new Builder();
        b.logicalSector = 4096;
        b.virtualSize = 4 * MIB;
        ProbedImage p = probe(b.build());
        assertThat(p.virtualSize()).isEqualTo(4 * MIB);
        assertThat(((VhdxHeader) p.header()).chunkRatio()).isEqualTo(32768);
        assertThat(p.flags()).anyMatch(f -> f.contains("qemu 7.2 refuses"));
    }

    @Test
    void hostileValuesNameTheField() {
        Builder b = new Builder();
        b.blockSize = 3 << 20;
        assertThatThrownBy(() -> probe(b.build())).isInstanceOf(ProbeException.class)
                .hasMessageContaining("block_size at offset " + (META_OFFSET + ITEMS));
        Builder v = new Builder();
        v.virtualSize = Long.MIN_VALUE;
        assertThatThrownBy(() -> probe(v.build())).isInstanceOf(ProbeException.class)
                .hasMessageContaining("virtual_disk_size at offset " + (META_OFFSET + ITEMS + 8));
        byte[] img = new Builder().build();
        ByteBuffer.wrap(img).order(ByteOrder.LITTLE_ENDIAN).putShort(META_OFFSET + 10, (short) 0xFFFF);
        assertThatThrownBy(() -> probe(img)).isInstanceOf(ProbeException.class)
                .hasMessageContaining("entry_count at offset " + (META_OFFSET + 10));
        byte[] both = new Builder().build();
        both[0x10000] = 0;
        both[0x20000] = 0;
        assertThatThrownBy(() -> probe(both)).isInstanceOf(ProbeException.class)
                .hasMessageContaining("No valid VHDX header found");
    }

    @Test
    void seededMutationsEndInAnImageOrAProbeException() {
        Builder withLog = new Builder();
        withLog.logGuid = true;
        withLog.logEntry = true;
        Builder partial = new Builder();
        partial.bat = new long[] {0, 2, 3, 7L | (5L << 20)};
        List<byte[]> seeds = List.of(new Builder().build(), withLog.build(), partial.build());
        int[] structures = {0, 0x10000, 0x20000, 0x30000, 0x30010, 0x40000, LOG_OFFSET, BAT_OFFSET, META_OFFSET,
            META_OFFSET + 32, META_OFFSET + ITEMS};
        long[] extremes = {0, 0xFFFF_FFFFL, 1L << 63, -1L, 0x7FFF_FFFFL, 4096, 1L << 20, 1L << 32};
        Random rnd = new Random(0x7d5eedL);
        for (int n = 0; n < 20_000; n++) {
            // Mutate the seed in place and undo afterwards: copying 400 KiB per mutation costs more than probing.
            byte[] img = seeds.get(n % seeds.size());
            List<int[]> undo = new ArrayList<>();
            for (int c : new int[] {0x10004, 0x20004, 0x30004, 0x40004}) {
                save(img, c, 4, undo);
            }
            int length = img.length;
            int kind = rnd.nextInt(4);
            if (kind == 0) {
                for (int k = 1 + rnd.nextInt(8); k > 0; k--) {
                    int at = structures[rnd.nextInt(structures.length)] + rnd.nextInt(128);
                    save(img, at, 1, undo);
                    img[at] ^= (byte) (1 << rnd.nextInt(8));
                }
                if (rnd.nextBoolean()) {
                    fixCrcs(img);
                }
            } else if (kind == 1 || kind == 2) {
                int at = structures[rnd.nextInt(structures.length)] + 4 * rnd.nextInt(24);
                long v = extremes[rnd.nextInt(extremes.length)];
                ByteBuffer bb = ByteBuffer.wrap(img).order(ByteOrder.LITTLE_ENDIAN);
                save(img, at, 8, undo);
                if (kind == 1) {
                    bb.putLong(at, v);
                } else {
                    bb.putInt(at, (int) v);
                }
                fixCrcs(img);
            } else {
                length = rnd.nextInt(img.length + 1);
            }
            try {
                ProbedImage p = new VhdxProbe().probe(PATH, new ArrayReader(img, length));
                assertCovers(p);
                if (p.virtualSize() < 0) {
                    fail("negative virtual size");
                }
            } catch (ProbeException e) {
                if (e.getMessage() == null || e.getMessage().isBlank()) {
                    fail("empty message");
                }
            } catch (Throwable t) {
                fail("mutation " + n + " threw " + t, t);
            } finally {
                for (int i = undo.size() - 1; i >= 0; i--) {
                    img[undo.get(i)[0]] = (byte) undo.get(i)[1];
                }
            }
        }
    }

    private static void save(byte[] img, int at, int len, List<int[]> undo) {
        for (int i = at; i < at + len; i++) {
            undo.add(new int[] {i, img[i]});
        }
    }

    /** An {@link ImageReader} over bytes that does not copy them. */
    static final class ArrayReader implements ImageReader {
        private final byte[] bytes;
        private final int length;

        ArrayReader(byte[] bytes) {
            this(bytes, bytes.length);
        }

        /** The first {@code length} bytes only: a truncated file without a copy. */
        ArrayReader(byte[] bytes, int length) {
            this.bytes = bytes;
            this.length = length;
        }

        @Override
        public long size() {
            return length;
        }

        @Override
        public void readFullyUnchecked(long offset, byte[] into, int length) {
            System.arraycopy(bytes, (int) offset, into, 0, length);
        }
    }
}
