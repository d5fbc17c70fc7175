package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Hostile and broken images through the real command line: {@code diskplan info} prints
 * one line naming what is wrong and exits 1 — never a stack trace — and
 * {@code diskplan resize} leaves the file byte for byte as it was.
 */
@RequiresOracle("qemu-img")
class HostileInputTest {
    private static final String FILE = "disk.img";

    @TempDir
    Path dir;

    /** An image made by qemu-img, then broken: bytes written at an offset, or the file cut. */
    record Breakage(String name, String format, String size, long offset, byte[] bytes, long truncateTo,
                    String mentions) {
        @Override
        public String toString() {
            return name;
        }
    }

    private static Breakage poke(String name, String format, long offset, String mentions, int... bytes) {
        byte[] b = new byte[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            b[i] = (byte) bytes[i];
        }
        return new Breakage(name, format, "64M", offset, b, -1, mentions);
    }

    static Stream<Breakage> breakages() {
        return Stream.of(
                new Breakage("qcow2 cut inside its header", "qcow2", "64M", 0, new byte[0], 40, ""),
                poke("qcow2 l1_size 0xffffffff", "qcow2", 36, "l1", 0xff, 0xff, 0xff, 0xff),
                poke("qcow2 cluster_bits 40", "qcow2", 20, "cluster", 0, 0, 0, 40),
                poke("qcow2 refcount table past the end", "qcow2", 48, "refcount", 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0),
                poke("qcow2 header_length 0xffffffff", "qcow2", 100, "header", 0xff, 0xff, 0xff, 0xff),
                poke("qcow2 snapshots 65536 far away", "qcow2", 60, "snapshot", 0, 1, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0),
                new Breakage("vhdx cut after its headers", "vhdx", "64M", 0, new byte[0], 200_000, ""),
                poke("vhdx both headers broken", "vhdx", 65536 + 4, "header", 1, 2, 3, 4),
                new Breakage("vmdk cut inside its grain directory", "vmdk", "64M", 0, new byte[0], 1024, ""),
                poke("vmdk grainSize 0", "vmdk", 20, "grain", 0, 0, 0, 0, 0, 0, 0, 0),
                poke("vdi block count huge", "vdi", 0x170, "block", 0xff, 0xff, 0xff, 0x7f),
                poke("vpc dynamic header table offset past the end", "vpc", 512 + 16, "table",
                        0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("breakages")
    void infoSaysOneLineAndResizeChangesNothing(Breakage b) throws Exception {
        ProcessRunner.Result made = Qemu.img(dir, "create", "-q", "-f", b.format(), FILE, b.size());
        assertThat(made.exitCode()).as(made.describe()).isZero();
        Path file = dir.resolve(FILE);
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            if (b.bytes().length > 0) {
                raf.seek(b.offset());
                raf.write(b.bytes());
            }
            if (b.truncateTo() >= 0) {
                raf.setLength(b.truncateTo());
            }
        }
        assertOneLineRefusalOrImage(Diskplan.run(dir, "info", FILE), b.mentions());
        assertOneLineRefusalOrImage(Diskplan.run(dir, "info", "--output=json", FILE), b.mentions());

        byte[] before = Files.readAllBytes(file);
        ProcessRunner.Result resize = Diskplan.run(dir, "resize", FILE, "+1G");
        assertThat(resize.exitCode()).as(resize.describe()).isEqualTo(1);
        assertThat(resize.stderr()).as(resize.describe()).doesNotContain("Exception", "\tat ");
        assertThat(Files.readAllBytes(file)).as("resize left the file alone").isEqualTo(before);
    }

    private static void assertOneLineRefusalOrImage(ProcessRunner.Result r, String mentions) {
        assertThat(r.stderr()).as(r.describe()).doesNotContain("Exception", "\tat ");
        if (r.exitCode() == 0) {
            return; // parsed, with the damage shown as flags
        }
        assertThat(r.exitCode()).as(r.describe()).isEqualTo(1);
        List<String> lines = r.stderr().lines().toList();
        assertThat(lines).as(r.describe()).hasSize(1);
        assertThat(lines.get(0)).as(r.describe()).startsWith("diskplan: ").containsIgnoringCase(mentions)
                .containsPattern("offset \\d+");
    }

    @org.junit.jupiter.api.Test
    void vmdkExtentsOutsideTheFolderAreRefused() throws Exception {
        Path inner = Files.createDirectories(dir.resolve("vm"));
        Files.writeString(dir.resolve("secret.raw"), "outside");
        for (String extent : List.of("../secret.raw", "/etc/passwd", "sub/../../secret.raw")) {
            String descriptor = "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n"
                    + "createType=\"monolithicFlat\"\n\nRW 16 FLAT \"" + extent + "\" 0\n\n"
                    + "ddb.virtualHWVersion = \"4\"\n";
            Files.writeString(inner.resolve("d.vmdk"), descriptor, StandardCharsets.US_ASCII);
            ProcessRunner.Result r = Diskplan.run(inner, "info", "d.vmdk");
            assertThat(r.exitCode()).as(r.describe()).isEqualTo(1);
            assertThat(r.stderr().lines().toList()).as(r.describe()).hasSize(1);
            assertThat(r.stderr()).as(r.describe()).contains("diskplan: ").contains(extent).containsPattern("offset \\d+");
        }
        Path link = inner.resolve("link.raw");
        Files.createSymbolicLink(link, dir.resolve("secret.raw"));
        Files.writeString(inner.resolve("d.vmdk"), "# Disk DescriptorFile\nversion=1\nCID=fffffffe\n"
                + "parentCID=ffffffff\ncreateType=\"monolithicFlat\"\n\nRW 16 FLAT \"link.raw\" 0\n",
                StandardCharsets.US_ASCII);
        ProcessRunner.Result r = Diskplan.run(inner, "info", "d.vmdk");
        assertThat(r.exitCode()).as(r.describe()).isEqualTo(1);
        assertThat(r.stderr()).as(r.describe()).contains("link.raw");
    }
}
