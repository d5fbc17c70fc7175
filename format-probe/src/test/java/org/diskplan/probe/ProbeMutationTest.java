package org.diskplan.probe;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.zip.GZIPInputStream;
import org.diskplan.abi.ImageFormat;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Seeded mutation of real images (made by qemu-img, committed gzipped under
 * {@code seeds/}): at least {@value #PER_FORMAT} mutated or truncated inputs per format
 * each run, through detection and the format's probe. Every one must end in a
 * {@link ProbedImage} (whose layout covers the file) or a {@link ProbeException} — no
 * other exception, no hang. The seed is fixed so a failure reproduces; set
 * {@code -Ddiskplan.mutation.seed=N} to explore further.
 */
class ProbeMutationTest {
    static final int PER_FORMAT = 100_000;
    private static final long[] EXTREMES = {0, 1, 0x7f, 0xff, 0x7fff, 0xffff, 0x7fffffffL, 0xffffffffL, 0x80000000L,
        Long.MAX_VALUE, Long.MIN_VALUE, -1, 512, 65536, 1L << 40};

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "qcow2, qcow2-512-snapshot-bitmap.qcow2 qcow2-v2-4k.qcow2 qcow2-backing.qcow2",
        "vpc, vpc-dynamic.vhd vpc-fixed.vhd",
        "vhdx, vhdx-dynamic.vhdx",
        "vmdk, vmdk-sparse.vmdk vmdk-stream.vmdk",
        "vdi, vdi-dynamic.vdi",
        "qed, qed.qed",
        "qcow, qcow1.qcow",
    })
    void everyMutationEndsInAnImageOrATypedError(String format, String seeds) throws Exception {
        String[] names = seeds.split(" ");
        long seed = Long.getLong("diskplan.mutation.seed", 0x5eed_d15cL) ^ format.hashCode();
        SplittableRandom random = new SplittableRandom(seed);
        List<String> failures = new ArrayList<>();
        int[] outcomes = new int[2];
        for (String name : names) {
            byte[] original = load(name);
            Path path = dir.resolve(name);
            ProbedImage clean = ImageProber.probe(path, ByteArrayImageReader.wrap(original), Optional.empty());
            assertThat(clean.format().qemuName()).as(name).isEqualTo(format);
            int runs = PER_FORMAT / names.length + 1;
            // a hang guard, not a speed test: generous, because CI machines share their cores
            Assertions.assertTimeoutPreemptively(Duration.ofMinutes(6), () -> {
                byte[] bytes = original.clone();
                for (int i = 0; i < runs && failures.size() < 5; i++) {
                    String what = mutate(random, bytes, original);
                    int length = random.nextInt(8) == 0 ? random.nextInt(bytes.length + 1) : bytes.length;
                    try {
                        ProbedImage p = ImageProber.probe(path, ByteArrayImageReader.wrap(bytes, length),
                                Optional.empty());
                        checkCovers(p, length);
                        outcomes[0]++;
                    } catch (ProbeException e) {
                        outcomes[1]++;
                    } catch (Throwable t) {
                        failures.add(name + " #" + i + " (" + what + ", length " + length + "): " + t);
                    }
                    System.arraycopy(original, 0, bytes, 0, bytes.length);
                }
            });
        }
        assertThat(failures).as("inputs that ended in neither an image nor a ProbeException").isEmpty();
        assertThat(outcomes[0] + outcomes[1]).isGreaterThanOrEqualTo(PER_FORMAT);
        assertThat(outcomes[1]).as("some mutations must be refused, or the test mutates nothing").isPositive();
    }

    private static void checkCovers(ProbedImage p, long length) {
        long pos = 0;
        for (LayoutRegion r : p.regions()) {
            if (r.offset() != pos) {
                throw new AssertionError("layout gap or overlap at " + pos + ": " + r);
            }
            pos = r.end();
        }
        if (pos != length && !(p.format() == ImageFormat.RAW && length == 0)) {
            throw new AssertionError("layout ends at " + pos + ", the file at " + length);
        }
    }

    /** One mutation, mostly where the headers and tables are; returns what it did. */
    private static String mutate(SplittableRandom r, byte[] bytes, byte[] original) {
        int hot = Math.min(bytes.length, 1 << 18);
        int count = 1 + r.nextInt(4);
        StringBuilder what = new StringBuilder();
        for (int k = 0; k < count; k++) {
            int at = r.nextInt(4) == 0 ? bytes.length - 1 - r.nextInt(Math.min(bytes.length, 1024)) : r.nextInt(hot);
            switch (r.nextInt(3)) {
                case 0 -> {
                    bytes[at] = (byte) r.nextInt(256);
                    what.append("byte@").append(at).append(' ');
                }
                case 1 -> {
                    int width = 1 << r.nextInt(4);
                    int start = Math.max(0, Math.min(bytes.length - width, at - at % width));
                    long v = EXTREMES[r.nextInt(EXTREMES.length)];
                    boolean big = r.nextBoolean();
                    for (int b = 0; b < width && start + b < bytes.length; b++) {
                        int shift = 8 * (big ? width - 1 - b : b);
                        bytes[start + b] = (byte) (v >>> shift);
                    }
                    what.append("u").append(8 * width).append(big ? "be" : "le").append('@').append(start)
                            .append('=').append(v).append(' ');
                }
                default -> {
                    bytes[at] ^= (byte) (1 << r.nextInt(8));
                    what.append("bit@").append(at).append(' ');
                }
            }
        }
        return what.toString().trim();
    }

    static byte[] load(String name) throws IOException {
        try (InputStream in = ProbeMutationTest.class.getResourceAsStream("seeds/" + name + ".gz")) {
            assertThat(in).as("seed " + name).isNotNull();
            return new GZIPInputStream(in).readAllBytes();
        }
    }
}
