package org.diskplan.probe.vmdk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.diskplan.probe.vmdk.VmdkImages.assertCoversFile;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.diskplan.abi.ImageFormat;
import org.diskplan.probe.ByteArrayImageReader;
import org.diskplan.probe.HeaderField;
import org.diskplan.probe.ImageProber;
import org.diskplan.probe.ProbeException;
import org.diskplan.probe.ProbedImage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VmdkDescriptorProbeTest {
    /** As written by qemu-img create -f vmdk -o subformat=monolithicFlat (1 MiB). */
    static final String FLAT = "# Disk DescriptorFile\nversion=1\nCID=f061daaf\nparentCID=ffffffff\n"
            + "createType=\"monolithicFlat\"\n\n# Extent description\nRW 2048 FLAT \"d-flat.vmdk\" 0\n\n"
            + "# The Disk Data Base\n#DDB\n\nddb.virtualHWVersion = \"4\"\nddb.geometry.cylinders = \"2\"\n"
            + "ddb.geometry.heads = \"16\"\nddb.geometry.sectors = \"63\"\nddb.adapterType = \"ide\"\n"
            + "ddb.toolsVersion = \"2147483647\"\n";

    @TempDir
    Path dir;

    private ProbedImage probe(String text) throws Exception {
        Path d = dir.resolve("d.vmdk");
        Files.writeString(d, text, StandardCharsets.ISO_8859_1);
        return ImageProber.probe(d, Optional.empty());
    }

    private static void sparseFile(Path p, long size) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(size);
        }
    }

    /**
     * Two RW lines naming one file (directly or through a link): qemu opens the file once per
     * line for writing and refuses the second ("Failed to get "resize" lock"). Flagged.
     */
    @Test
    void twoLinesNamingOneFileAreFlagged() throws Exception {
        sparseFile(dir.resolve("d-flat.vmdk"), 4096 * 512);
        Files.createSymbolicLink(dir.resolve("e-flat.vmdk"), Path.of("d-flat.vmdk"));
        String two = FLAT.replace("RW 2048 FLAT \"d-flat.vmdk\" 0\n",
                "RW 2048 FLAT \"d-flat.vmdk\" 0\nRW 2048 FLAT \"e-flat.vmdk\" 2048\n");
        ProbedImage img = probe(two);
        assertThat(img.flags()).contains(VmdkDescriptorProbe.SAME_FILE + "extent line 9 at offset "
                + two.indexOf("RW 2048 FLAT \"e") + " names \"e-flat.vmdk\", the file of extent line 8 (\"d-flat.vmdk\"): "
                + "qemu opens each extent line's file for writing and refuses the second (Failed to get \"resize\" lock)");
        // a read-only line is not opened by qemu
        assertThat(probe(two.replace("RW 2048 FLAT \"e", "RDONLY 2048 FLAT \"e")).flags())
                .noneMatch(f -> f.startsWith(VmdkDescriptorProbe.SAME_FILE));
    }

    @Test
    void monolithicFlat() throws Exception {
        sparseFile(dir.resolve("d-flat.vmdk"), 2048 * 512);
        ProbedImage img = probe(FLAT);
        assertThat(img.format()).isEqualTo(ImageFormat.VMDK_DESCRIPTOR);
        assertThat(img.subformat()).isEqualTo("monolithicFlat");
        assertThat(img.virtualSize()).isEqualTo(2048L * 512);
        assertThat(img.flags()).isEmpty();
        HeaderField extent = img.fields().stream().filter(f -> f.name().equals("extent 1")).findFirst().orElseThrow();
        assertThat(extent.group()).isEqualTo("descriptor");
        assertThat(extent.offset()).isEqualTo(FLAT.indexOf("RW 2048"));
        assertThat(extent.value()).isEqualTo("'RW 2048 FLAT \"d-flat.vmdk\" 0'");
        VmdkDescriptorHeader h = (VmdkDescriptorHeader) img.header();
        assertThat(h.extents()).singleElement().satisfies(e -> {
            assertThat(e.exists()).isTrue();
            assertThat(e.extent().type()).isEqualTo("FLAT");
            assertThat(e.extent().offset()).hasValue(0);
            assertThat(e.file()).contains(dir.resolve("d-flat.vmdk"));
            assertThat(e.fileSize()).isEqualTo(2048L * 512);
        });
        assertCoversFile(img);
    }

    @Test
    void twoGbMaxExtentSparseUsesTheExtentCapacities() throws Exception {
        VmdkImages.Sparse s = new VmdkImages.Sparse();
        s.descriptor = null;
        Files.write(dir.resolve("d-s001.vmdk"), s.build());
        VmdkImages.Sparse s2 = new VmdkImages.Sparse();
        s2.descriptor = null;
        s2.capacity = 1000;
        s2.grains = new int[] {1};
        Files.write(dir.resolve("d-s002.vmdk"), s2.build());
        String text = FLAT.replace("monolithicFlat", "twoGbMaxExtentSparse")
                .replace("RW 2048 FLAT \"d-flat.vmdk\" 0", "RW 2048 SPARSE \"d-s001.vmdk\"\nRW 1000 SPARSE \"d-s002.vmdk\"");
        ProbedImage img = probe(text);
        assertThat(img.subformat()).isEqualTo("twoGbMaxExtentSparse");
        assertThat(img.virtualSize()).isEqualTo(3048L * 512);
        assertThat(img.allocationUnit()).isEqualTo(4096);
        VmdkDescriptorHeader h = (VmdkDescriptorHeader) img.header();
        assertThat(h.extents()).hasSize(2);
        assertThat(h.extents().get(1).sparseHeader()).hasValueSatisfying(x -> {
            assertThat(x.capacity()).isEqualTo(1000);
            assertThat(x.allocatedGrains()).isEqualTo(1);
        });
        assertThat(img.fields()).anyMatch(f -> f.group().equals("extent 2 (d-s002.vmdk): VMDK4 header")
                && f.name().equals("capacity") && f.offset() == 12);
    }

    @Test
    void twoGbMaxExtentFlatAndMissingExtent() throws Exception {
        sparseFile(dir.resolve("d-f001.vmdk"), 4096L * 512);
        String text = FLAT.replace("monolithicFlat", "twoGbMaxExtentFlat")
                .replace("RW 2048 FLAT \"d-flat.vmdk\" 0", "RW 4096 FLAT \"d-f001.vmdk\" 0\nRW 777 FLAT \"d-f002.vmdk\" 0");
        ProbedImage img = probe(text);
        assertThat(img.virtualSize()).isEqualTo(4873L * 512);
        assertThat(img.flags()).contains("extent 2 file \"d-f002.vmdk\" is missing");
    }

    @Test
    void zeroAndReadOnlyExtentsAreListedButNotCountedLikeQemu() throws Exception {
        sparseFile(dir.resolve("d-flat.vmdk"), 2048 * 512);
        String text = FLAT.replace("RW 2048 FLAT \"d-flat.vmdk\" 0",
                "RW 2048 FLAT \"d-flat.vmdk\" 0\nRW 100 ZERO\nRDONLY 50 FLAT \"d-flat.vmdk\" 0");
        ProbedImage img = probe(text);
        assertThat(img.virtualSize()).isEqualTo(2048L * 512);
        assertThat(((VmdkDescriptorHeader) img.header()).extents()).hasSize(3);
        assertThat(img.flags()).anyMatch(f -> f.contains("ZERO extent"));
    }

    @Test
    void flatExtentWithoutOffsetIsInvalidAsInQemu() {
        String text = FLAT.replace("\"d-flat.vmdk\" 0", "\"d-flat.vmdk\"");
        assertThatThrownBy(() -> probe(text)).isInstanceOf(ProbeException.class)
                .hasMessageContaining("extent line 8 at offset " + FLAT.indexOf("RW 2048"))
                .hasMessageContaining("invalid extent line");
    }

    @Test
    void extentsMustStayInsideTheFolder() throws Exception {
        int at = FLAT.indexOf("RW 2048");
        for (String bad : new String[] {"/etc/passwd", "../d-flat.vmdk", "sub/../../x", "..\\x", "C:\\disk.vmdk"}) {
            String text = FLAT.replace("\"d-flat.vmdk\"", "\"" + bad + "\"");
            assertThatThrownBy(() -> probe(text)).as(bad).isInstanceOf(ProbeException.class)
                    .hasMessageContaining("extent line 8 at offset " + at)
                    .hasMessageContaining("inside the descriptor's folder");
        }
        Path outside = Files.createTempFile("outside", ".vmdk");
        try {
            Files.createSymbolicLink(dir.resolve("link.vmdk"), outside);
            String text = FLAT.replace("\"d-flat.vmdk\"", "\"link.vmdk\"");
            assertThatThrownBy(() -> probe(text)).isInstanceOf(ProbeException.class)
                    .hasMessageContaining("extent line 8 at offset " + at).hasMessageContaining("symbolic link");
        } finally {
            Files.deleteIfExists(outside);
        }
        // a symlink that stays inside is fine, and so is a subfolder
        Files.createDirectories(dir.resolve("sub"));
        sparseFile(dir.resolve("sub/real.vmdk"), 2048 * 512);
        Files.createSymbolicLink(dir.resolve("inside.vmdk"), dir.resolve("sub/real.vmdk"));
        assertThat(probe(FLAT.replace("\"d-flat.vmdk\"", "\"inside.vmdk\"")).virtualSize()).isEqualTo(2048L * 512);
        assertThat(probe(FLAT.replace("\"d-flat.vmdk\"", "\"sub/real.vmdk\"")).virtualSize())
                .isEqualTo(2048L * 512);
    }

    @Test
    void oversizedDescriptorIsRefused() {
        byte[] big = new byte[(1 << 20) + 1];
        byte[] head = FLAT.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(head, 0, big, 0, head.length);
        assertThatThrownBy(() -> new VmdkDescriptorProbe().probe(dir.resolve("d.vmdk"),
                new ByteArrayImageReader(big))).isInstanceOf(ProbeException.class)
                .hasMessageContaining("more than the 1 MiB");
    }

    @Test
    void missingCreateTypeIsRefused() {
        assertThatThrownBy(() -> probe(FLAT.replace("createType=\"monolithicFlat\"\n", "")))
                .isInstanceOf(ProbeException.class).hasMessageContaining("createType");
    }

    @Test
    void overflowingSectorsAreRefused() throws Exception {
        sparseFile(dir.resolve("d-flat.vmdk"), 512);
        String text = FLAT.replace("RW 2048 FLAT \"d-flat.vmdk\" 0",
                "RW 9223372036854775807 FLAT \"d-flat.vmdk\" 0\nRW 9 FLAT \"d-flat.vmdk\" 0");
        assertThatThrownBy(() -> probe(text)).isInstanceOf(ProbeException.class)
                .hasMessageContaining("extent line").hasMessageContaining("overflow");
    }

    @Test
    void blankLineBeforeAnExtentIsCountedTwiceLikeQemu() throws Exception {
        // qemu-img info reports 2 MiB for this 1 MiB descriptor: its sscanf skips the blank line's newline
        sparseFile(dir.resolve("d-flat.vmdk"), 2048 * 512);
        String text = "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\n"
                + "createType=\"monolithicFlat\"\n\nRW 2048 FLAT \"d-flat.vmdk\" 0\n";
        ProbedImage img = probe(text);
        assertThat(img.virtualSize()).isEqualTo(2 * 2048L * 512);
        assertThat(img.flags()).anyMatch(f -> f.startsWith("qemu counts extent line 7 twice: blank line 6"));
        assertThat(((VmdkDescriptorHeader) img.header()).extents()).hasSize(1);
    }

    @Test
    void negativeFlatOffsetIsInvalid() {
        String text = FLAT.replace("\"d-flat.vmdk\" 0", "\"d-flat.vmdk\" -1");
        assertThatThrownBy(() -> probe(text)).isInstanceOf(ProbeException.class)
                .hasMessageContaining("invalid extent line");
    }
}
