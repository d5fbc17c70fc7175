package org.diskplan.probe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.SplittableRandom;
import java.util.zip.GZIPInputStream;
import org.diskplan.abi.ErrorCode;
import org.diskplan.abi.ImageFormat;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The formats DiskPlan recognises but does not resize: each is detected by content (never as
 * raw), probed to qemu's virtual size with a layout that covers the file, refused for a resize
 * in one line where qemu cannot write it, and every truncation or mutation of it ends in an
 * image or in an error that names a field and its offset.
 */
class RecognisedFormatsTest {
    /** The committed fixtures: tiny archives made by the real tools, a seSparse extent and its descriptor. */
    static final String FIXTURES = "recognised/";

    @TempDir
    Path dir;

    static SampleWriter writer(String format) {
        return SampleWriterRoundTripTest.writers().get(format);
    }

    /** A sample image written to {@code file} and read back. */
    static byte[] sample(String format, Path file, long size, Map<String, String> options) throws IOException {
        writer(format).write(file, size, options);
        return Files.readAllBytes(file);
    }

    static byte[] fixture(String name) throws IOException {
        try (InputStream in = RecognisedFormatsTest.class.getResourceAsStream(FIXTURES + name)) {
            assertThat(in).as(name).isNotNull();
            return name.endsWith(".gz") && !name.startsWith("t.") ? new GZIPInputStream(in).readAllBytes()
                    : in.readAllBytes();
        }
    }

    static ProbedImage probe(Path path, byte[] bytes) throws ProbeException {
        return ImageProber.probe(path, ByteArrayImageReader.wrap(bytes), Optional.empty());
    }

    static void assertCovers(ProbedImage p, long length) {
        long pos = 0;
        for (LayoutRegion r : p.regions()) {
            assertThat(r.offset()).as("regions are contiguous: " + r).isEqualTo(pos);
            pos = r.end();
        }
        assertThat(pos).as("regions cover the file").isEqualTo(length);
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({
        "parallels, 100M, PARALLELS, ''",
        "parallels, 1000000000, PARALLELS, ''",
        "bochs, 100M, BOCHS, 'reads but never writes'",
        "bochs, 3T, BOCHS, 'reads but never writes'",
        "cloop, 10M, CLOOP, 'reads but never writes'",
        "cloop, 1000000, CLOOP, 'reads but never writes'",
        "dmg, 100M, DMG, 'reads but never writes'",
        "dmg, 1000000000, DMG, 'reads but never writes'",
    })
    void samplesAreDetectedProbedAndRefused(String format, String size, ImageFormat expected, String refusal)
            throws Exception {
        Path file = dir.resolve("s." + format);
        long written = writer(format).write(file, SampleWriterRoundTripTest.parse(size), Map.of());
        try (FileImageReader r = ImageProber.openReader(file)) {
            assertThat(ImageProber.detect(r, Optional.empty()).format()).isEqualTo(expected);
            ProbedImage p = ImageProber.probe(file, r, Optional.empty());
            assertThat(p.format()).isEqualTo(expected);
            assertThat(p.virtualSize()).isEqualTo(written);
            assertThat(p.fields()).isNotEmpty();
            assertCovers(p, Files.size(file));
            assertThatThrownBy(() -> ImageProber.detect(r, Optional.of("raw")))
                    .isInstanceOf(ProbeException.class).hasMessageContaining("not raw");
            if (refusal.isEmpty()) {
                assertThat(ImageProber.probeForResize(file, r, Optional.empty()).format()).isEqualTo(expected);
            } else {
                assertThatThrownBy(() -> ImageProber.probeForResize(file, r, Optional.empty()))
                        .isInstanceOf(ProbeException.class)
                        .hasMessageStartingWith("'" + file + "' is a")
                        .hasMessageContaining(refusal)
                        .satisfies(e -> assertThat(((ProbeException) e).code()).isEqualTo(ErrorCode.UNSUPPORTED_FORMAT))
                        .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "t.img.gz, GZIP, 'is a gzip-compressed file; decompress it first'",
        "t.img.xz, XZ, 'is an xz-compressed file; decompress it first'",
        "t.img.bz2, BZIP2, 'is a bzip2-compressed file; decompress it first'",
        "t.img.zst, ZSTD, 'is a zstd-compressed file; decompress it first'",
        "t.zip, ZIP, 'is a zip archive; extract the image from it first'",
        "t.tar, TAR, 'is a tar archive; extract the image from it first'",
        "t.pax.tar, TAR, 'is a tar archive; extract the image from it first'",
        "t.7z, SEVEN_ZIP, 'is a 7z archive; extract the image from it first'",
    })
    void compressedFilesAndArchivesAreNamedAndRefused(String name, ImageFormat expected, String refusal)
            throws Exception {
        byte[] bytes = fixture(name);
        Path path = dir.resolve(name);
        ProbedImage p = probe(path, bytes);
        assertThat(p.format()).isEqualTo(expected);
        assertThat(p.virtualSize()).as("the file size in whole sectors, as qemu-img (raw) reports it")
                .isEqualTo((bytes.length + 511) / 512 * 512);
        assertThat(p.flags().get(0)).startsWith("not a disk image: ");
        assertThat(p.fields()).isNotEmpty();
        assertCovers(p, bytes.length);
        assertThatThrownBy(() -> ImageProber.probeForResize(path, ByteArrayImageReader.wrap(bytes), Optional.empty()))
                .isInstanceOf(ProbeException.class).hasMessage("'" + path + "' " + refusal);
        assertThatThrownBy(() -> ImageProber.probe(path, ByteArrayImageReader.wrap(bytes), Optional.of("raw")))
                .isInstanceOf(ProbeException.class).hasMessageContaining("not a raw disk")
                .hasMessageEndingWith(refusal.substring(refusal.indexOf("; ") + 2));
    }

    @Test
    void gzipShowsTheOriginalNameAndSize() throws Exception {
        ProbedImage p = probe(dir.resolve("t.img.gz"), fixture("t.img.gz"));
        assertThat(p.flags()).contains("uncompressed size (modulo 4 GiB): 9 bytes");
        assertThat(p.regions()).extracting(LayoutRegion::label)
                .containsExactly("gzip header", "compressed data", "gzip trailer");
    }

    @Test
    void damagedArchiveChecksumsAreNotTakenForArchives() throws Exception {
        byte[] xz = fixture("t.img.xz");
        xz[8] ^= 1; // stream header CRC32
        assertThat(probe(dir.resolve("x"), xz).format()).isEqualTo(ImageFormat.RAW);
        byte[] tar = fixture("t.tar");
        tar[0] ^= 1; // the name no longer matches the header checksum
        assertThat(probe(dir.resolve("x"), tar).format()).isEqualTo(ImageFormat.RAW);
        byte[] sevenZip = fixture("t.7z");
        sevenZip[20] = 1; // start header CRC32 no longer matches
        assertThat(probe(dir.resolve("x"), sevenZip).format()).isEqualTo(ImageFormat.RAW);
    }

    @Test
    void rawDisksWithAnMbrStayRaw() throws Exception {
        SplittableRandom random = new SplittableRandom(17);
        byte[][] bootCode = {{(byte) 0xeb, 0x63, (byte) 0x90}, {(byte) 0xfa, 0x33, (byte) 0xc0},
            {0x33, (byte) 0xc0, (byte) 0x8e}, {(byte) 0xeb, 0x3c, (byte) 0x90}, {0, 0, 0}};
        for (int i = 0; i < 5_000; i++) {
            byte[] disk = new byte[64 << 10];
            random.nextBytes(disk);
            System.arraycopy(bootCode[i % bootCode.length], 0, disk, 0, 3);
            disk[446] = (byte) 0x80;
            disk[450] = (byte) 0x83;
            disk[510] = 0x55;
            disk[511] = (byte) 0xaa;
            assertThat(FormatDetector.detect(ByteArrayImageReader.wrap(disk)).format()).as("disk " + i)
                    .isEqualTo(ImageFormat.RAW);
        }
    }

    @Test
    void parallelsWithoutFreeSpaceKeepsA32BitSizeAndCountsSectors() throws Exception {
        Path file = dir.resolve("p.img");
        byte[] b = sample("parallels", file, 4L << 20, Map.of("cluster_size", "64K"));
        ByteBuffer h = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        h.put(0, "WithoutFreeSpace".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        h.putLong(36, (1L << 32) | 8192);
        h.putInt(64, b.length / 512); // cluster 0 at the first sector past the file: flagged, not mapped
        ProbedImage p = probe(file, b);
        assertThat(p.format()).isEqualTo(ImageFormat.PARALLELS);
        assertThat(p.subformat()).isEqualTo("WithoutFreeSpace");
        assertThat(p.virtualSize()).isEqualTo(8192L * 512);
        assertThat(p.flags()).contains("corrupt: 1 BAT entries point past the end of the file");
        h.putInt(16, 3);
        assertThatThrownBy(() -> probe(file, b)).isInstanceOf(ProbeException.class)
                .hasMessageContaining("version at offset 16");
    }

    @Test
    void seSparseExtentAloneAndThroughItsDescriptor() throws Exception {
        byte[] extent = fixture("se-sesparse.vmdk.gz");
        Path e = dir.resolve("se-sesparse.vmdk");
        Files.write(e, extent);
        Files.write(dir.resolve("se.vmdk"), fixture("se.vmdk"));
        ProbedImage alone = ImageProber.probe(e, Optional.empty());
        assertThat(alone.format()).isEqualTo(ImageFormat.VMDK_SESPARSE);
        assertThat(alone.virtualSize()).isEqualTo(4096L * 512);
        assertCovers(alone, extent.length);
        assertThatThrownBy(() -> ImageProber.probeForResize(e, ByteArrayImageReader.wrap(extent), Optional.empty()))
                .isInstanceOf(ProbeException.class).hasMessageContaining("reads but never writes");
        ProbedImage described = ImageProber.probe(dir.resolve("se.vmdk"), Optional.empty());
        assertThat(described.format()).isEqualTo(ImageFormat.VMDK_DESCRIPTOR);
        assertThat(described.virtualSize()).isEqualTo(4096L * 512);
        extent[512 + 24] = 1; // volatile header: replay_journal
        assertThatThrownBy(() -> probe(e, extent)).isInstanceOf(ProbeException.class)
                .hasMessageContaining("replay_journal at offset 536");
    }

    @Test
    void bochsVersion1AndDamagedFields() throws Exception {
        Path file = dir.resolve("b.bochs");
        byte[] b = sample("bochs", file, 10L << 20, Map.of());
        ByteBuffer h = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        h.putInt(64, 0x10000);
        h.putLong(84, (10L << 20) + 100); // v1: disk at 84; qemu drops the partial sector
        h.putInt(92, 0);
        ProbedImage p = probe(file, b);
        assertThat(p.virtualSize()).isEqualTo(10L << 20);
        assertThat(p.subformat()).isEqualTo("growing v1");
        h.putInt(80, 3000);
        assertThatThrownBy(() -> probe(file, b)).isInstanceOf(ProbeException.class)
                .hasMessageContaining("extent at offset 80").hasMessageContaining("not a power of two");
    }

    @Test
    void cloopOtherVersionsAndBadOffsetsAreNamed() throws Exception {
        Path file = dir.resolve("c.cloop");
        byte[] b = sample("cloop", file, 1L << 20, Map.of());
        ByteBuffer.wrap(b).putLong(136 + 16, 0); // offsets[2] below offsets[1]
        assertThatThrownBy(() -> probe(file, b)).isInstanceOf(ProbeException.class)
                .hasMessageContaining("offsets[2] at offset 152").hasMessageContaining("not monotonically increasing");
        byte[] v4 = Files.readAllBytes(file); // as written
        v4[12] = '4';
        assertThat(FormatDetector.detect(ByteArrayImageReader.wrap(v4)).format()).isEqualTo(ImageFormat.CLOOP);
        assertThatThrownBy(() -> probe(file, v4)).isInstanceOf(ProbeException.class)
                .hasMessageContaining("preamble at offset 0").hasMessageContaining("V4.0");
    }

    @Test
    void dmgTrailerIsFoundWhereQemuLooksForIt() throws Exception {
        Path file = dir.resolve("d.dmg");
        byte[] b = sample("dmg", file, 1L << 20, Map.of());
        byte[] padded = java.util.Arrays.copyOf(b, b.length + 300);
        ProbedImage p = probe(file, padded);
        assertThat(p.format()).isEqualTo(ImageFormat.DMG);
        assertThat(p.virtualSize()).isEqualTo(1L << 20);
        assertThat(p.flags()).contains("trailer at " + (b.length - 512) + ", 300 bytes before the end");
        byte[] tooFar = java.util.Arrays.copyOf(b, b.length + 600);
        assertThat(probe(file, tooFar).format()).as("beyond the last 1023 bytes").isEqualTo(ImageFormat.RAW);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"parallels", "bochs", "cloop", "dmg", "sesparse"})
    void everyTruncationAndMutationEndsInAnImageOrAFieldError(String format) throws Exception {
        byte[] original;
        if (format.equals("sesparse")) {
            original = fixture("se-sesparse.vmdk.gz");
        } else {
            original = sample(format, dir.resolve("m." + format), 3L << 20,
                    format.equals("parallels") ? Map.of("cluster_size", "4K") : Map.of());
        }
        FormatProbe probe = null;
        for (FormatProbe p : ServiceLoader.load(FormatProbe.class)) {
            if (p.format() == probe(dir.resolve("x"), original).format()) {
                probe = p;
            }
        }
        assertThat(probe).isNotNull();
        FormatProbe target = probe;
        Path path = dir.resolve("m");
        List<String> failures = new ArrayList<>();
        int[] refused = new int[1];
        Assertions.assertTimeoutPreemptively(Duration.ofMinutes(3), () -> {
            for (int length = 0; length <= original.length; length += length < 2048 ? 1 : 509) {
                check(target, path, original, length, "truncated to " + length, failures, refused);
            }
            SplittableRandom random = new SplittableRandom(format.hashCode());
            long[] extremes = {0, 1, 0xff, 0xffff, 0xffffffffL, 1L << 31, -1, Long.MAX_VALUE, 512, 1L << 40};
            for (int i = 0; i < 20_000 && failures.size() < 5; i++) {
                byte[] b = original.clone();
                int region = random.nextInt(3);
                int at = region == 0 ? random.nextInt(Math.min(b.length, 1024))
                        : region == 1 ? b.length - 1 - random.nextInt(Math.min(b.length, 1024)) : random.nextInt(b.length);
                if (random.nextBoolean()) {
                    b[at] = (byte) random.nextInt(256);
                } else {
                    long v = extremes[random.nextInt(extremes.length)];
                    int start = Math.max(0, Math.min(b.length - 8, at & ~3));
                    ByteBuffer.wrap(b).order(random.nextBoolean() ? ByteOrder.LITTLE_ENDIAN : ByteOrder.BIG_ENDIAN)
                            .putLong(start, v);
                }
                check(target, path, b, b.length, "mutation " + i + " at " + at, failures, refused);
            }
        });
        assertThat(failures).isEmpty();
        assertThat(refused[0]).as("some inputs must be refused").isPositive();
    }

    private static void check(FormatProbe probe, Path path, byte[] bytes, int length, String what,
                              List<String> failures, int[] refused) {
        try {
            ProbedImage p = probe.probe(path, ByteArrayImageReader.wrap(bytes, length));
            long pos = 0;
            for (LayoutRegion r : p.regions()) {
                if (r.offset() != pos) {
                    failures.add(what + ": layout gap at " + pos);
                }
                pos = r.end();
            }
            if (pos != length) {
                failures.add(what + ": layout ends at " + pos + ", the file at " + length);
            }
        } catch (ProbeException e) {
            refused[0]++;
            if (e.getMessage() == null || !e.getMessage().contains("at offset") || e.field().isEmpty()) {
                failures.add(what + ": error without a field and offset: " + e.getMessage());
            }
        } catch (Throwable t) {
            failures.add(what + ": " + t);
        }
    }
}
