package org.diskplan.probe.vmdk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.diskplan.probe.vmdk.VmdkImages.assertCoversFile;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;
import org.diskplan.abi.ImageFormat;
import org.diskplan.probe.ByteArrayImageReader;
import org.diskplan.probe.HeaderField;
import org.diskplan.probe.ImageProber;
import org.diskplan.probe.LayoutRegion;
import org.diskplan.probe.ProbeException;
import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.RegionKind;
import org.junit.jupiter.api.Test;

class VmdkProbeTest {
    private static final Path PATH = Path.of("test.vmdk");

    private static ProbedImage probe(byte[] bytes) throws ProbeException {
        return new VmdkProbe().probe(PATH, new ByteArrayImageReader(bytes));
    }

    private static HeaderField field(ProbedImage img, String group, String name) {
        return img.fields().stream().filter(f -> f.group().equals(group) && f.name().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no field " + group + "/" + name));
    }

    @Test
    void monolithicSparseHeaderFieldsAndSize() throws Exception {
        VmdkImages.Sparse s = new VmdkImages.Sparse();
        byte[] bytes = s.build();
        ProbedImage img = probe(bytes);

        assertThat(img.format()).isEqualTo(ImageFormat.VMDK4);
        assertThat(img.subformat()).isEqualTo("monolithicSparse");
        assertThat(img.virtualSize()).isEqualTo(2048L * 512);
        assertThat(img.allocationUnit()).isEqualTo(8 * 512);
        assertThat(img.fileSize()).isEqualTo(bytes.length);
        assertThat(img.flags()).isEmpty();

        HeaderField capacity = field(img, "VMDK4 header", "capacity");
        assertThat(capacity.offset()).isEqualTo(12);
        assertThat(capacity.length()).isEqualTo(8);
        assertThat(capacity.value()).isEqualTo("2048 (0x800)");
        assertThat(field(img, "VMDK4 header", "grainSize").offset()).isEqualTo(20);
        assertThat(field(img, "VMDK4 header", "descriptorOffset").offset()).isEqualTo(28);
        assertThat(field(img, "VMDK4 header", "descriptorSize").offset()).isEqualTo(36);
        assertThat(field(img, "VMDK4 header", "numGTEsPerGT").value()).startsWith("16");
        assertThat(field(img, "VMDK4 header", "rgdOffset").offset()).isEqualTo(48);
        assertThat(field(img, "VMDK4 header", "gdOffset").value()).startsWith(Long.toString(s.gdOffset));
        assertThat(field(img, "VMDK4 header", "overHead").offset()).isEqualTo(64);
        assertThat(field(img, "VMDK4 header", "uncleanShutdown").offset()).isEqualTo(72);
        assertThat(field(img, "VMDK4 header", "compressAlgorithm").offset()).isEqualTo(77);
        assertThat(field(img, "VMDK4 header", "flags").value())
                .isEqualTo("0x3 (valid newline test, redundant grain table)");

        HeaderField create = field(img, "embedded descriptor", "createType");
        assertThat(create.offset()).isEqualTo(512 + VmdkImages.descriptor("monolithicSparse", 2048, "test.vmdk")
                .indexOf("createType"));
        assertThat(create.value()).isEqualTo("'createType=\"monolithicSparse\"'");
        HeaderField extent = field(img, "embedded descriptor", "extent 1");
        assertThat(extent.value()).isEqualTo("'RW 2048 SPARSE \"test.vmdk\"'");
        assertThat(field(img, "embedded descriptor", "ddb.geometry.cylinders").meaning()).contains("cylinders");

        assertThat(field(img, "grain directory", "entries").value()).isEqualTo("16");
        assertThat(field(img, "grain directory", "allocated grain tables").value()).isEqualTo("16");
        assertThat(field(img, "grain directory", "allocated grains").value()).isEqualTo("5");

        VmdkHeader h = (VmdkHeader) img.header();
        assertThat(h.capacity()).isEqualTo(2048);
        assertThat(h.grainDirectoryEntries()).isEqualTo(16);
        assertThat(h.allocatedGrainTables()).isEqualTo(16);
        assertThat(h.allocatedRedundantGrainTables()).isEqualTo(16);
        assertThat(h.allocatedGrains()).isEqualTo(5);
        assertThat(h.gdOffset()).isEqualTo(s.gdOffset);
        assertThat(h.rgdOffset()).isEqualTo(s.rgdOffset);
        assertThat(h.descriptor()).isPresent();
        assertThat(h.descriptor().get().extents()).hasSize(1);
        assertThat(h.descriptor().get().cid()).isEqualTo("12345678");
        assertThat(h.descriptor().get().ddb()).containsEntry("ddb.adapterType", "ide");
        assertThat(h.grainTablesScanned()).isTrue();

        assertCoversFile(img);
        assertThat(img.regions()).extracting(LayoutRegion::kind).contains(RegionKind.HEADER, RegionKind.METADATA,
                RegionKind.TABLE, RegionKind.DATA);
        assertThat(img.regions().get(0)).isEqualTo(new LayoutRegion(RegionKind.HEADER, 0, 512, "VMDK4 header"));
        // the five grains are contiguous in the file: one coalesced region
        assertThat(img.regions()).filteredOn(r -> r.kind() == RegionKind.DATA).singleElement()
                .satisfies(r -> {
                    assertThat(r.offset()).isEqualTo(s.overHead * 512);
                    assertThat(r.length()).isEqualTo(5L * 8 * 512);
                });
    }

    /** VMware's exported streams say RDONLY on the extent line; the flag names the access, not "0 sectors". */
    @Test
    void aReadOnlyExtentLineIsNamedNotMissing() throws Exception {
        VmdkImages.Sparse s = new VmdkImages.Sparse();
        s.descriptor = s.descriptor.replace("RW 2048 SPARSE", "RDONLY 2048 SPARSE");
        ProbedImage img = probe(s.build());
        assertThat(img.virtualSize()).isEqualTo(2048 * 512);
        assertThat(img.flags()).noneMatch(f -> f.contains("embedded descriptor lists"))
                .anyMatch(f -> f.contains("extent access RDONLY (line ") && f.contains("qemu ignores"));
        s.descriptor = s.descriptor.replace("RDONLY 2048 SPARSE", "RDONLY 1024 SPARSE");
        assertThat(probe(s.build()).flags()).anyMatch(f -> f.contains("embedded descriptor lists 1024 sectors"));
    }

    @Test
    void detectedThroughTheProber() throws Exception {
        byte[] bytes = new VmdkImages.Sparse().build();
        ProbedImage img = ImageProber.probe(PATH, new ByteArrayImageReader(bytes), Optional.of("vmdk"));
        assertThat(img.format()).isEqualTo(ImageFormat.VMDK4);
    }

    @Test
    void oddCapacityRoundsTheDirectoryUp() throws Exception {
        VmdkImages.Sparse s = new VmdkImages.Sparse();
        s.capacity = 2049;
        s.grains = new int[] {256};
        ProbedImage img = probe(s.build());
        assertThat(img.virtualSize()).isEqualTo(2049L * 512);
        assertThat(((VmdkHeader) img.header()).grainDirectoryEntries()).isEqualTo(17);
        assertCoversFile(img);
    }

    @Test
    void zeroedGrainsAreCountedApart() throws Exception {
        VmdkImages.Sparse s = new VmdkImages.Sparse();
        s.zeroedGrainFlag = true;
        s.version = 2;
        s.zeroedGrains = new int[] {40, 41};
        ProbedImage img = probe(s.build());
        VmdkHeader h = (VmdkHeader) img.header();
        assertThat(h.zeroedGrains()).isEqualTo(2);
        assertThat(h.allocatedGrains()).isEqualTo(5);
        assertThat(field(img, "VMDK4 header", "flags").value()).contains("zeroed-grain GTE");
    }

    @Test
    void withoutDescriptorItIsAnExtent() throws Exception {
        VmdkImages.Sparse s = new VmdkImages.Sparse();
        s.descriptor = null;
        s.redundant = false;
        ProbedImage img = probe(s.build());
        assertThat(img.subformat()).isEqualTo("sparse extent");
        assertThat(img.flags()).anyMatch(f -> f.contains("no embedded descriptor"));
        assertCoversFile(img);
    }

    @Test
    void dirtyAndParentAreFlagged() throws Exception {
        VmdkImages.Sparse s = new VmdkImages.Sparse();
        s.descriptor = VmdkImages.descriptor("monolithicSparse", 2048, "test.vmdk")
                .replace("parentCID=ffffffff", "parentCID=0badcafe\nparentFileNameHint=\"base.vmdk\"");
        byte[] bytes = s.build();
        bytes[72] = 1;
        ProbedImage img = probe(bytes);
        assertThat(img.flags()).contains("dirty (uncleanShutdown = 1)", "backing file: base.vmdk",
                "has parent (parentCID 0badcafe)");
        assertThat(((VmdkHeader) img.header()).descriptor().get().parentFileNameHint()).contains("base.vmdk");
    }

    @Test
    void streamOptimizedReadsTheFooter() throws Exception {
        byte[] bytes = VmdkImages.streamOptimized(100_001, new int[] {0, 1, 5, 600});
        ProbedImage img = probe(bytes);
        assertThat(img.subformat()).isEqualTo("streamOptimized");
        assertThat(img.virtualSize()).isEqualTo(100_001L * 512);
        VmdkHeader h = (VmdkHeader) img.header();
        assertThat(h.gdAtEnd()).isTrue();
        assertThat(h.footerOffset()).isEqualTo(bytes.length - 1536);
        assertThat(h.compressed()).isTrue();
        assertThat(h.allocatedGrainTables()).isEqualTo(2);
        assertThat(h.allocatedGrains()).isEqualTo(4);
        assertThat(img.flags()).anyMatch(f -> f.startsWith("grain directory at end"));
        assertThat(img.flags()).contains("compressed grains (deflate)");
        HeaderField gd = field(img, "VMDK4 header", "gdOffset");
        assertThat(gd.value()).isEqualTo("18446744073709551615 (0xffffffffffffffff)");
        HeaderField footerGd = field(img, "footer header", "gdOffset");
        assertThat(footerGd.offset()).isEqualTo(bytes.length - 1024 + 56);
        assertThat(field(img, "footer marker", "type").value()).isEqualTo("3");
        assertThat(field(img, "end-of-stream marker", "type").offset()).isEqualTo(bytes.length - 512 + 12);
        assertCoversFile(img);
        assertThat(img.regions().get(img.regions().size() - 1).kind()).isEqualTo(RegionKind.FOOTER);
        // compressed grains: region sizes follow the markers (12 + 700 bytes = 2 sectors for the first)
        assertThat(img.regions()).filteredOn(r -> r.kind() == RegionKind.DATA).first()
                .satisfies(r -> assertThat(r.offset()).isEqualTo(65536));
    }

    @Test
    void brokenFooterIsRefusedByName() {
        byte[] bytes = VmdkImages.streamOptimized(4096, new int[] {0});
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt(bytes.length - 1536 + 12, 7);
        assertThatThrownBy(() -> probe(bytes)).isInstanceOf(ProbeException.class)
                .hasMessageContaining("footer marker field type at offset " + (bytes.length - 1536 + 12))
                .hasMessageContaining("invalid footer");
    }

    @Test
    void hostileValuesNameTheField() {
        byte[] base = new VmdkImages.Sparse().build();
        assertRefused(base, 44, 4, 0xffffffffL, "numGTEsPerGT at offset 44");
        assertRefused(base, 20, 8, 0, "grainSize at offset 20"); // a grain table would cover nothing
        assertRefused(base, 20, 8, 0x200001, "grainSize at offset 20");
        assertRefused(base, 12, 8, Long.MIN_VALUE, "capacity at offset 12");
        assertRefused(base, 56, 8, 0x7fffffffffffffL, "gdOffset at offset 56");
        assertRefused(base, 64, 8, -2, "overHead at offset 64");
        assertRefused(base, 36, 8, 4096, "descriptorSize at offset 36");
        assertRefused(base, 28, 8, 1L << 40, "descriptorOffset at offset 28");
        assertRefused(base, 4, 4, 4, "version at offset 4");
    }

    private static void assertRefused(byte[] base, int off, int len, long value, String message) {
        byte[] b = base.clone();
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        if (len == 8) {
            bb.putLong(off, value);
        } else {
            bb.putInt(off, (int) value);
        }
        assertThatThrownBy(() -> probe(b)).isInstanceOf(ProbeException.class).hasMessageContaining(message);
    }

    @Test
    void truncatedFileIsRefused() {
        byte[] base = new VmdkImages.Sparse().build();
        assertThatThrownBy(() -> probe(Arrays.copyOf(base, 300))).isInstanceOf(ProbeException.class)
                .hasMessageContaining("512-byte header");
        assertThatThrownBy(() -> probe(Arrays.copyOf(base, 20_000))).isInstanceOf(ProbeException.class)
                .hasMessageContaining("overHead at offset 64");
    }

    /**
     * qemu's vmdk_open_vmdk4 checks no overlaps; DiskPlan's resize writes the descriptor, the
     * directory's spare entries, grain table entries past the old end and the tail of the last
     * grain, so structures sharing bytes with one another or with a grain are flagged corrupt,
     * naming the field and its offset (VmdkPlanner refuses "corrupt:" flags).
     */
    @Test
    void structuresAndGrainsSharingBytesAreCorrupt() throws Exception {
        VmdkImages.Sparse sound = new VmdkImages.Sparse();
        assertThat(probe(sound.build()).flags()).noneMatch(f -> f.contains("corrupt"));

        VmdkImages.Sparse s = new VmdkImages.Sparse();
        byte[] grainOverDescriptor = s.build();
        long gt0 = (s.gdOffset + s.gdSectors) * 512;
        ByteBuffer.wrap(grainOverDescriptor).order(ByteOrder.LITTLE_ENDIAN).putInt((int) gt0 + 4, 1);
        assertThat(probe(grainOverDescriptor).flags()).contains("corrupt: grain table entry at offset " + (gt0 + 4)
                + ": its grain (512 to 4608) overlaps the embedded descriptor (512 to 10752)");

        byte[] sharedTable = s.build();
        ByteBuffer b = ByteBuffer.wrap(sharedTable).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt((int) (s.gdOffset * 512 + 4), b.getInt((int) (s.gdOffset * 512)));
        assertThat(probe(sharedTable).flags()).contains("corrupt: grain directory entry 1 at offset "
                + (s.gdOffset * 512 + 4) + ": the grain table 1 (" + gt0 + " to " + (gt0 + 64)
                + ") overlaps the grain table 0 (" + gt0 + " to " + (gt0 + 64) + ")");

        byte[] sameDirectories = s.build();
        ByteBuffer.wrap(sameDirectories).order(ByteOrder.LITTLE_ENDIAN).putLong(48, s.gdOffset);
        assertThat(probe(sameDirectories).flags()).anyMatch(f -> f.startsWith("corrupt: VMDK4 header field gdOffset "
                + "at offset 56: the grain directory (" + s.gdOffset * 512 + " to " + (s.gdOffset + 1) * 512
                + ") overlaps the redundant grain directory"));

        byte[] sharedGrain = s.build();
        ByteBuffer g = ByteBuffer.wrap(sharedGrain).order(ByteOrder.LITTLE_ENDIAN);
        g.putInt((int) gt0 + 4, g.getInt((int) gt0));
        assertThat(probe(sharedGrain).flags()).anyMatch(f -> f.startsWith("corrupt: grain table entry at offset "
                + (gt0 + 4) + ": its grain (" + s.overHead * 512 + " to " + (s.overHead + 8) * 512
                + ") overlaps the grain of the entry at offset " + gt0));
    }

    /** qemu reads a sparse extent's CIDs at offset 512 whatever descriptorOffset says. */
    @Test
    void aDescriptorOffSectorOneWithoutCidsThereIsCorrupt() throws Exception {
        VmdkImages.Sparse s = new VmdkImages.Sparse();
        s.descSectors = 40;
        byte[] moved = s.build();
        ByteBuffer b = ByteBuffer.wrap(moved).order(ByteOrder.LITTLE_ENDIAN);
        byte[] text = new byte[20 * 512];
        b.get(512, text);
        b.put(21 * 512, text);
        b.put(512, new byte[20 * 512]);
        b.putLong(28, 21).putLong(36, 20);
        assertThat(probe(moved).flags()).contains("corrupt: VMDK4 header field descriptorOffset at offset 28: the "
                + "embedded descriptor is at sector 21, but qemu reads the CIDs at offset 512: no CID in the "
                + "descriptor there (qemu refuses to open)");
        // with the text left at sector 1 too, qemu opens it
        b.put(512, text);
        assertThat(probe(moved).flags()).noneMatch(f -> f.contains("corrupt"));
    }

    @Test
    void grainsPastTheEndAreFlaggedNotFatal() throws Exception {
        VmdkImages.Sparse s = new VmdkImages.Sparse();
        byte[] bytes = s.build();
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN)
                .putInt((int) ((s.gdOffset + s.gdSectors) * 512 + 4), 0x7fffffff);
        ProbedImage img = probe(bytes);
        assertThat(img.flags()).anyMatch(f -> f.contains("grains lie beyond the end of the file"));
        assertCoversFile(img);
    }

    @Test
    void hugeSparseImageProbesFast() throws Exception {
        // 64 TiB: a grain directory of 2 Mi entries, one grain table, one grain
        long capacity = 1L << 37;
        int gdEntries = 1 << 21;
        long gdSectors = gdEntries * 4L / 512;
        long gt = 1 + gdSectors;
        long overHead = (gt + 4 + 127) / 128 * 128;
        ByteBuffer b = ByteBuffer.allocate((int) ((overHead + 128) * 512)).order(ByteOrder.LITTLE_ENDIAN);
        b.put(0, new byte[] {'K', 'D', 'M', 'V'});
        b.putInt(4, 1);
        b.putLong(12, capacity);
        b.putLong(20, 128);
        b.putInt(44, 512);
        b.putLong(56, 1);
        b.putLong(64, overHead);
        b.putInt(512, (int) gt);
        b.putInt((int) (gt * 512), (int) overHead);
        long t = System.nanoTime();
        ProbedImage img = probe(b.array());
        assertThat((System.nanoTime() - t) / 1_000_000).isLessThan(3_000);
        assertThat(img.virtualSize()).isEqualTo(1L << 46);
        VmdkHeader h = (VmdkHeader) img.header();
        assertThat(h.grainDirectoryEntries()).isEqualTo(gdEntries);
        assertThat(h.allocatedGrainTables()).isEqualTo(1);
        assertThat(h.allocatedGrains()).isEqualTo(1);
        assertCoversFile(img);
    }

    @Test
    void fragmentedGrainsAreCoalescedUnderTheRegionLimit() throws Exception {
        VmdkImages.Sparse s = new VmdkImages.Sparse();
        s.capacity = 20_000;
        s.grainSize = 1;
        s.numGtes = 512;
        s.redundant = false;
        s.grains = new int[20_000];
        for (int i = 0; i < s.grains.length; i++) {
            s.grains[i] = i;
        }
        byte[] bytes = s.build();
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        for (int g = 1; g < 20_000; g += 2) {
            long gt = s.gdOffset + s.gdSectors + (g / 512) * s.gtSectors;
            b.putInt((int) (gt * 512 + (g % 512) * 4), 0);
        }
        ProbedImage img = probe(bytes);
        assertThat(((VmdkHeader) img.header()).allocatedGrains()).isEqualTo(10_000);
        assertThat(img.regions().size()).isLessThan(5_000);
        assertCoversFile(img);
    }
}
