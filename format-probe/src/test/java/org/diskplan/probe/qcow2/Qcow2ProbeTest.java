package org.diskplan.probe.qcow2;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.diskplan.abi.ImageFormat;
import org.diskplan.probe.ByteArrayImageReader;
import org.diskplan.probe.HeaderField;
import org.diskplan.probe.ImageProber;
import org.diskplan.probe.LayoutRegion;
import org.diskplan.probe.ProbeException;
import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.RegionKind;
import org.junit.jupiter.api.Test;

/** Every test is bounded: a probe that hangs on a hostile input fails instead of stalling the build. */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class Qcow2ProbeTest {
    private static final Path PATH = Path.of("test.qcow2");

    static ProbedImage probe(byte[] bytes) throws ProbeException {
        return new Qcow2Probe().probe(PATH, new ByteArrayImageReader(bytes));
    }

    static HeaderField field(ProbedImage img, String group, String name) {
        return img.fields().stream().filter(f -> f.group().equals(group) && f.name().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no field " + group + " / " + name));
    }

    static void assertCovers(ProbedImage img) {
        long pos = 0;
        for (LayoutRegion r : img.regions()) {
            assertThat(r.offset()).as("region %s", r).isEqualTo(pos);
            assertThat(r.length()).as("region %s", r).isPositive();
            pos = r.end();
        }
        assertThat(pos).isEqualTo(img.fileSize());
    }

    static LayoutRegion regionAt(ProbedImage img, long offset) {
        return img.regions().stream().filter(r -> r.offset() <= offset && offset < r.end()).findFirst()
                .orElseThrow();
    }

    @Test
    void v3HeaderFieldsExtensionsAndBackingFile() throws Exception {
        ProbedImage img = probe(Qcow2Images.v3());
        assertThat(img.format()).isEqualTo(ImageFormat.QCOW2);
        assertThat(img.subformat()).isEqualTo("v3");
        assertThat(img.virtualSize()).isEqualTo(65536);
        assertThat(img.allocationUnit()).isEqualTo(512);
        assertThat(img.fileSize()).isEqualTo(11 * 512);

        HeaderField size = field(img, "qcow2 header", "size");
        assertThat(size.offset()).isEqualTo(24);
        assertThat(size.length()).isEqualTo(8);
        assertThat(size.value()).isEqualTo("65536 (0x10000)");
        assertThat(field(img, "qcow2 header", "cluster_bits").value()).isEqualTo("9 (cluster size 512 bytes)");
        assertThat(field(img, "qcow2 header", "l1_size").offset()).isEqualTo(36);
        assertThat(field(img, "qcow2 header", "compatible_features").value())
                .isEqualTo("0x1 (bit 0 'lazy refcounts')");
        assertThat(field(img, "qcow2 header", "header_length").offset()).isEqualTo(100);
        assertThat(field(img, "qcow2 header", "compression_type").value()).isEqualTo("0 (zlib)");
        HeaderField fmt = field(img, "header extension 0xe2792aca (backing file format)", "backing format");
        assertThat(fmt.offset()).isEqualTo(120);
        assertThat(fmt.value()).isEqualTo("'raw'");
        assertThat(field(img, "header extension 0x00000000 (end of extensions)", "type").offset()).isEqualTo(128);
        assertThat(field(img, "backing file name", "backing file").offset()).isEqualTo(136);

        // header fields come first, in file order
        List<HeaderField> header = img.fields().stream().filter(f -> f.group().equals("qcow2 header")).toList();
        assertThat(header).extracting(HeaderField::offset).isSorted();
        assertThat(header.get(0).name()).isEqualTo("magic");

        assertThat(img.flags()).contains("compat 1.1", "lazy refcounts", "backing file: base.img",
                "backing format: raw", "snapshots: 1", "leaked clusters: 1");
        assertThat(img.flags()).doesNotContain("dirty", "corrupt");

        Qcow2Header h = (Qcow2Header) img.header();
        assertThat(h.version()).isEqualTo(3);
        assertThat(h.headerLength()).isEqualTo(112);
        assertThat(h.clusterSize()).isEqualTo(512);
        assertThat(h.l1Size()).isEqualTo(2);
        assertThat(h.l1TableOffset()).isEqualTo(3 * 512);
        assertThat(h.refcountTableOffset()).isEqualTo(512);
        assertThat(h.refcountBits()).isEqualTo(16);
        assertThat(h.lazyRefcounts()).isTrue();
        assertThat(h.backingFile()).isEqualTo("base.img");
        assertThat(h.backingFormat()).isEqualTo("raw");
        assertThat(h.extensions()).extracting(Qcow2Header.Extension::type, Qcow2Header.Extension::offset)
                .containsExactly(org.assertj.core.groups.Tuple.tuple(0xe2792acaL, 112L),
                        org.assertj.core.groups.Tuple.tuple(0L, 128L));
        assertThat(h.extensionsEnd()).isEqualTo(136);
        assertThat(h.l1AllocatedEntries()).isEqualTo(1);
        assertThat(h.l1EntriesNeeded()).isEqualTo(2);
    }

    @Test
    void v3SnapshotTable() throws Exception {
        ProbedImage img = probe(Qcow2Images.v3());
        Qcow2Header h = (Qcow2Header) img.header();
        assertThat(h.snapshots()).hasSize(1);
        Qcow2Header.Snapshot s = h.snapshots().get(0);
        assertThat(s.id()).isEqualTo("1");
        assertThat(s.name()).isEqualTo("snap");
        assertThat(s.l1TableOffset()).isEqualTo(10 * 512);
        assertThat(s.l1Size()).isEqualTo(2);
        assertThat(s.diskSize()).isEqualTo(65536);
        assertThat(s.dateSeconds()).isEqualTo(1_700_000_000L);
        assertThat(s.entryLength()).isEqualTo(72);
        HeaderField name = field(img, "snapshot 1", "name");
        assertThat(name.offset()).isEqualTo(9 * 512 + 65);
        assertThat(name.value()).isEqualTo("'snap'");
        assertThat(field(img, "snapshot 1", "date_sec").value()).contains("2023-11-14T22:13:20Z");
        assertThat(field(img, "snapshot 1", "disk_size").offset()).isEqualTo(9 * 512 + 48);
    }

    @Test
    void v3LayoutMap() throws Exception {
        ProbedImage img = probe(Qcow2Images.v3());
        assertCovers(img);
        assertThat(regionAt(img, 0).label()).isEqualTo("qcow2 header");
        assertThat(regionAt(img, 0).kind()).isEqualTo(RegionKind.HEADER);
        assertThat(regionAt(img, 112).label()).isEqualTo("header extensions");
        assertThat(regionAt(img, 136).label()).isEqualTo("backing file name");
        assertThat(regionAt(img, 512).label()).isEqualTo("refcount table");
        assertThat(regionAt(img, 1024).label()).isEqualTo("refcount blocks");
        assertThat(regionAt(img, 1536).label()).isEqualTo("L1 table");
        assertThat(regionAt(img, 2048).kind()).isEqualTo(RegionKind.TABLE);
        LayoutRegion data = regionAt(img, 2560);
        assertThat(data.kind()).isEqualTo(RegionKind.DATA);
        assertThat(data.offset()).isEqualTo(2560);
        assertThat(data.length()).isEqualTo(1024); // clusters 5 and 6 coalesced
        assertThat(regionAt(img, 7 * 512).label()).startsWith("leaked");
        assertThat(regionAt(img, 8 * 512).label()).isEqualTo("free (refcount 0)");
        assertThat(regionAt(img, 8 * 512).kind()).isEqualTo(RegionKind.FREE);
        assertThat(regionAt(img, 9 * 512).label()).isEqualTo("snapshot table");
        assertThat(regionAt(img, 10 * 512).label()).isEqualTo("snapshot 1 L1 table");
    }

    @Test
    void v2Image() throws Exception {
        ProbedImage img = probe(Qcow2Images.v2());
        assertThat(img.subformat()).isEqualTo("v2");
        assertThat(img.virtualSize()).isEqualTo(1 << 20);
        assertThat(img.flags()).contains("compat 0.10");
        assertThat(img.fields()).noneMatch(f -> f.name().equals("incompatible_features"));
        assertThat(field(img, "qcow2 header", "snapshots_offset").offset()).isEqualTo(64);
        Qcow2Header h = (Qcow2Header) img.header();
        assertThat(h.headerLength()).isEqualTo(72);
        assertThat(h.refcountOrder()).isEqualTo(4);
        assertCovers(img);
        assertThat(regionAt(img, 5 * 512).kind()).isEqualTo(RegionKind.DATA);
        assertThat(regionAt(img, 4 * 512).kind()).isEqualTo(RegionKind.TABLE);
        assertThat(img.flags()).noneMatch(f -> f.startsWith("leaked"));
    }

    @Test
    void extendedL2FeatureTableUnknownExtensionAndCompression() throws Exception {
        ProbedImage img = probe(Qcow2Images.extended());
        Qcow2Header h = (Qcow2Header) img.header();
        assertThat(h.extendedL2()).isTrue();
        assertThat(h.l2EntrySize()).isEqualTo(16);
        assertThat(h.compressionType()).isEqualTo(1);
        assertThat(img.flags()).contains("extended L2", "compression: zstd");
        assertThat(field(img, "qcow2 header", "incompatible_features").value())
                .isEqualTo("0x18 (bit 3 'compression type', bit 4 'extended L2 entries')");
        HeaderField unknown = field(img, "header extension 0x12345678 (unknown)", "data");
        assertThat(unknown.offset()).isEqualTo(176);
        assertThat(unknown.length()).isEqualTo(5);
        assertThat(unknown.value()).isEqualTo("5 bytes: 0102030405");
        assertThat(field(img, "header extension 0x12345678 (unknown)", "length").value()).isEqualTo("5");
        assertThat(field(img, "header extension 0x6803f857 (feature name table)", "feature 0 name").value())
                .isEqualTo("'extended L2 entries'");
        assertThat(h.extensions()).extracting(Qcow2Header.Extension::name)
                .containsExactly("feature name table", "unknown", "end of extensions");
        assertThat(field(img, "L1 table", "compressed clusters").value()).isEqualTo("1");
        assertCovers(img);
        assertThat(regionAt(img, 5 * 16384L).kind()).isEqualTo(RegionKind.DATA);
        LayoutRegion compressed = regionAt(img, 6 * 16384L + 100);
        assertThat(compressed.label()).isEqualTo("compressed guest data");
        assertThat(compressed.offset()).isEqualTo(6 * 16384L + 100);
        assertThat(compressed.end()).isEqualTo(6 * 16384L + 1024);
        assertThat(regionAt(img, 6 * 16384L + 2000).label()).isEqualTo("unused bytes in an allocated cluster");
    }

    @Test
    void bitmapsAndEmbeddedLuksHeader() throws Exception {
        ProbedImage img = probe(Qcow2Images.bitmapsAndLuks());
        Qcow2Header h = (Qcow2Header) img.header();
        assertThat(h.hasBitmaps()).isTrue();
        assertThat(h.bitmaps()).hasSize(1);
        Qcow2Header.Bitmap bm = h.bitmaps().get(0);
        assertThat(bm.name()).isEqualTo("bm");
        assertThat(bm.inUse()).isTrue();
        assertThat(bm.granularityBits()).isEqualTo(16);
        assertThat(bm.tableOffset()).isEqualTo(5 * 512);
        assertThat(h.extension(0x0537be77L)).hasValueSatisfying(e -> assertThat(e.offset()).isEqualTo(144));
        assertThat(field(img, "header extension 0x23852875 (bitmaps)", "bitmap_directory_offset").offset())
                .isEqualTo(136);
        assertThat(field(img, "bitmap 1", "name").offset()).isEqualTo(4 * 512 + 24);
        assertThat(field(img, "LUKS header (qcow2 encryption)", "cipher_mode").value()).isEqualTo("'xts-plain64'");
        assertThat(img.flags()).contains("bitmaps: 1", "bitmap 'bm' in use",
                "encrypted: luks (aes-xts-plain64, 1 key slots enabled)");
        assertThat(img.flags()).noneMatch(f -> f.startsWith("leaked") || f.startsWith("corrupt"));
        assertCovers(img);
        assertThat(regionAt(img, 4 * 512).label()).isEqualTo("bitmap directory");
        assertThat(regionAt(img, 5 * 512).label()).isEqualTo("bitmap table");
        assertThat(regionAt(img, 6 * 512).label()).isEqualTo("bitmap data");
        LayoutRegion luks = regionAt(img, 7 * 512);
        assertThat(luks.label()).isEqualTo("LUKS header");
        assertThat(luks.length()).isEqualTo(1024);
    }

    @Test
    void hugeSparseImageProbesQuickly() throws Exception {
        byte[] bytes = Qcow2Images.huge();
        ProbedImage img = probe(bytes);
        assertThat(img.virtualSize()).isEqualTo(64L << 40);
        assertCovers(img);
        assertThat(img.regions().size()).isLessThan(20);
        assertThat(field(img, "L1 table", "entries").value()).isEqualTo("131072");
        assertThat(field(img, "L1 table", "allocated entries").value()).isEqualTo("0");
    }

    @Test
    void viaImageProberDetection() throws Exception {
        ProbedImage img = ImageProber.probe(PATH, new ByteArrayImageReader(Qcow2Images.v3()), Optional.empty());
        assertThat(img.header()).isInstanceOf(Qcow2Header.class);
    }

    @Test
    void sizeNotMultipleOf512IsRoundedDownAsQemuDoes() throws Exception {
        byte[] b = Qcow2Images.v3();
        ByteBuffer.wrap(b).putLong(24, 65000);
        ProbedImage img = probe(b);
        assertThat(img.virtualSize()).isEqualTo(64512);
    }

    @Test
    void dirtyAndCorruptAndUnknownBits() throws Exception {
        byte[] b = Qcow2Images.v3();
        ByteBuffer.wrap(b).putLong(72, 0x3 | (1L << 40));
        ProbedImage img = probe(b);
        assertThat(img.flags()).contains("dirty", "corrupt");
        assertThat(img.flags()).anyMatch(f -> f.startsWith("unknown incompatible feature bit 40"));
    }

    static void assertRejected(byte[] b, String field, long offset, String text) {
        assertThatThrownBy(() -> probe(b)).isInstanceOfSatisfying(ProbeException.class, e -> {
            assertThat(e.field()).isEqualTo(field);
            assertThat(e.offset()).isEqualTo(offset);
            assertThat(e.getMessage()).contains(field).contains("offset " + offset).contains(text);
        });
    }

    /** A table past the end of the file, which qemu opens: shown with a flag naming the field (resize refuses). */
    static void assertFlagged(byte[] b, String field, long offset, String text) {
        ProbedImage img = assertDoesNotThrow(() -> probe(b));
        assertThat(img.flags()).anySatisfy(f -> assertThat(f).startsWith(Qcow2OpenChecks.DAMAGED)
                .contains(field + " at offset " + offset).contains(text));
        // typed for the planner, which refuses a resize on it without reading the flags
        assertThat(((Qcow2Header) img.header()).damage()).anySatisfy(d -> {
            assertThat(d.field()).isEqualTo(field);
            assertThat(d.offset()).isEqualTo(offset);
            assertThat(d.message()).contains(text);
        });
    }

    @Test
    void hostileHeaderValuesAreRejectedByField() {
        byte[] b = Qcow2Images.v3();
        ByteBuffer.wrap(b).putInt(36, -1);
        assertRejected(b, "l1_size", 36, "4294967295 entries exceed the 32 MiB limit");

        b = Qcow2Images.v3();
        ByteBuffer.wrap(b).putInt(20, 22);
        assertRejected(b, "cluster_bits", 20, "9..21");

        b = Qcow2Images.v3();
        ByteBuffer.wrap(b).putInt(4, 4);
        assertRejected(b, "version", 4, "unsupported qcow2 version 4");

        b = Qcow2Images.v3();
        ByteBuffer.wrap(b).putInt(100, 100);
        assertRejected(b, "header_length", 100, "too short");

        b = Qcow2Images.v3();
        ByteBuffer.wrap(b).putInt(96, 7);
        assertRejected(b, "refcount_order", 96, "too large");

        b = Qcow2Images.v3();
        ByteBuffer.wrap(b).putInt(60, -1);
        assertRejected(b, "nb_snapshots", 60, "exceed the limit");

        b = Qcow2Images.v3();
        ByteBuffer.wrap(b).putLong(40, 1L << 40);
        assertFlagged(b, "l1_table_offset", 40, "beyond the end of the file");

        b = Qcow2Images.v3();
        ByteBuffer.wrap(b).putLong(48, 513);
        assertRejected(b, "refcount_table_offset", 48, "not aligned");

        b = Qcow2Images.v3();
        ByteBuffer.wrap(b).putLong(24, Long.MIN_VALUE);
        assertRejected(b, "size", 24, "too big");

        b = Qcow2Images.v3();
        ByteBuffer.wrap(b).putInt(116, 0x7fffffff);
        assertRejected(b, "length", 116, "runs past the end of the extension area");

        b = Qcow2Images.v3();
        ByteBuffer.wrap(b).putInt(36, 1);
        assertRejected(b, "l1_size", 36, "too few");

        b = Qcow2Images.v3();
        ByteBuffer.wrap(b).putLong(72, Qcow2Header.INCOMPAT_EXTL2);
        assertRejected(b, "incompatible_features", 72, "extended L2 entries need clusters of at least 16384");
    }

    @Test
    void truncatedFilesAreRejected() {
        byte[] full = Qcow2Images.v3();
        assertRejected(java.util.Arrays.copyOf(full, 50), "header", 0, "shorter than the 72-byte");
        assertRejected(java.util.Arrays.copyOf(full, 90), "header_length", 100, "shorter than the 104-byte");
        assertFlagged(java.util.Arrays.copyOf(full, 1540), "l1_table_offset", 40, "beyond the end of the file");
    }

    @Test
    void seededMutationsEndInImageOrProbeException() {
        List<byte[]> bases = List.of(Qcow2Images.v3(), Qcow2Images.v2(), Qcow2Images.extended(),
                Qcow2Images.bitmapsAndLuks());
        long[] extremes = {0, 0xFFFFFFFFL, 1L << 63, -1L, 1, 512, 0x7fffffffL};
        Random rnd = new Random(0x9c0f2L);
        int images = 0;
        int errors = 0;
        for (int i = 0; i < 20_000; i++) {
            byte[] base = bases.get(i % bases.size());
            byte[] b = base.clone();
            int mode = rnd.nextInt(4);
            switch (mode) {
                case 0 -> {
                    int flips = 1 + rnd.nextInt(8);
                    for (int k = 0; k < flips; k++) {
                        int at = rnd.nextInt(rnd.nextBoolean() ? Math.min(b.length, 200) : b.length);
                        b[at] ^= (byte) (1 << rnd.nextInt(8));
                    }
                }
                case 1 -> {
                    int at = rnd.nextInt(Math.min(b.length, 200) - 8) & ~3;
                    long v = extremes[rnd.nextInt(extremes.length)];
                    if (rnd.nextBoolean()) {
                        ByteBuffer.wrap(b).putLong(at, v);
                    } else {
                        ByteBuffer.wrap(b).putInt(at, (int) v);
                    }
                }
                case 2 -> {
                    int at = rnd.nextInt(b.length - 8) & ~7;
                    ByteBuffer.wrap(b).putLong(at, extremes[rnd.nextInt(extremes.length)]);
                }
                default -> b = java.util.Arrays.copyOf(b, rnd.nextInt(b.length));
            }
            try {
                ProbedImage img = probe(b);
                assertThat(img).isNotNull();
                long pos = 0;
                for (LayoutRegion r : img.regions()) {
                    if (r.offset() != pos) {
                        fail("mutation %d: regions not contiguous at %d", i, pos);
                    }
                    pos = r.end();
                }
                if (pos != b.length) {
                    fail("mutation %d: regions end at %d, file is %d", i, pos, b.length);
                }
                images++;
            } catch (ProbeException e) {
                assertThat(e.getMessage()).isNotBlank();
                errors++;
            } catch (Throwable t) {
                throw new AssertionError("mutation " + i + " (mode " + mode + ") threw " + t, t);
            }
        }
        assertThat(images + errors).isEqualTo(20_000);
        assertThat(images).isPositive();
        assertThat(errors).isPositive();
    }

    @Test
    void anL1EntryWithFlagsButNoOffsetIsFlaggedCorrupt() throws Exception {
        byte[] bytes = Qcow2Images.v3();
        ByteBuffer.wrap(bytes).putLong((int) Qcow2Images.c(3) + 8, 1L << 63); // entry 1: COPIED, offset 0
        ProbedImage img = probe(bytes);
        assertThat(img.flags()).contains("corrupt: 1 entries of the L1 table have flags but no L2 table "
                + "offset (their L2 table would be the header)");
    }

    @Test
    void aSnapshotL1TableOverTheActiveOneIsFlaggedCorrupt() throws Exception {
        byte[] bytes = Qcow2Images.v3();
        ByteBuffer.wrap(bytes).putLong((int) Qcow2Images.c(9), Qcow2Images.c(3)); // snapshot L1 -> the active L1
        ProbedImage img = probe(bytes);
        assertThat(img.flags()).contains("corrupt: snapshot 1 L1 table (at 1536) overlaps the active L1 table");
    }

    @Test
    void aBitmapNameStartingWithNulIsOneQemuRefusesToOpenReadWrite() throws Exception {
        byte[] bytes = Qcow2Images.bitmapsAndLuks();
        bytes[(int) Qcow2Images.c(4) + 24] = 0; // "bm" -> "\0m": qemu's C string is empty
        ByteBuffer.wrap(bytes).putInt((int) Qcow2Images.c(4) + 12, 0); // not in use
        ProbedImage img = probe(bytes);
        assertThat(img.flags()).contains(Qcow2OpenChecks.FLAG + "Can't update bitmap directory: Invalid argument (name "
                + "of bitmap 1 at offset " + (Qcow2Images.c(4) + 24) + " starts with a NUL byte)");
    }

    @Test
    void twoCopiedL2EntriesOnOneClusterAreFlaggedCorrupt() throws Exception {
        byte[] bytes = Qcow2Images.v2();
        // L2 entry 63 maps cluster 5 with the copied flag; entry 0 now does too
        ByteBuffer.wrap(bytes).putLong((int) Qcow2Images.c(4), Qcow2Images.c(5) | 1L << 63);
        ProbedImage img = probe(bytes);
        assertThat(img.flags()).anyMatch(f -> f.startsWith("corrupt: 1 L2 entries (L2 table) map a cluster another entry maps"));
    }

    @Test
    void anL2TableWithRefcountZeroIsFlaggedCorrupt() throws Exception {
        byte[] bytes = Qcow2Images.v2();
        ByteBuffer.wrap(bytes).putShort((int) Qcow2Images.c(2) + 2 * 4, (short) 0); // cluster 4: the L2 table
        ProbedImage img = probe(bytes);
        assertThat(img.flags()).anyMatch(f -> f.startsWith("corrupt: 1 clusters in use have a refcount of 0 (e.g. L2"));
    }
}
