package org.diskplan.probe.vmdk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.diskplan.probe.ByteArrayImageReader;
import org.diskplan.probe.FormatProbe;
import org.diskplan.probe.ProbeException;
import org.diskplan.probe.ProbedImage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Seeded mutations of valid images: every outcome is a ProbedImage or a ProbeException. */
class VmdkMutationTest {
    private static final long SEED = 0x5eed_0d15cL;
    private static final long[] EXTREMES = {0, 1, 0xffffffffL, 0x80000000L, 1L << 63, -1L, 0x7fffffffffffffffL,
            512, 0x200000, 1L << 32};

    @TempDir
    Path dir;

    private record Base(String name, FormatProbe probe, byte[] bytes, int[] offsets) {
    }

    private static Base base(String name, FormatProbe probe, byte[] bytes) throws ProbeException {
        ProbedImage clean = probe.probe(Path.of(name), new ByteArrayImageReader(bytes));
        VmdkImages.assertCoversFile(clean);
        List<Integer> offs = VmdkImages.fieldOffsets(clean);
        return new Base(name, probe, bytes, offs.stream().mapToInt(Integer::intValue).toArray());
    }

    @Test
    void twentyThousandMutationsOfSparseStreamAndCowdImages() throws Exception {
        VmdkImages.Sparse plain = new VmdkImages.Sparse();
        VmdkImages.Sparse zeroed = new VmdkImages.Sparse();
        zeroed.redundant = false;
        zeroed.zeroedGrainFlag = true;
        zeroed.version = 2;
        zeroed.zeroedGrains = new int[] {9, 10};
        List<Base> bases = List.of(
                base("sparse", new VmdkProbe(), plain.build()),
                base("zeroed", new VmdkProbe(), zeroed.build()),
                base("stream", new VmdkProbe(), VmdkImages.streamOptimized(100_001, new int[] {0, 1, 5, 600})),
                base("cowd", new Vmdk3Probe(), Vmdk3ProbeTest.cowd(null)));
        Random rnd = new Random(SEED);
        long start = System.nanoTime();
        int images = 0;
        int exceptions = 0;
        for (int i = 0; i < 20_000; i++) {
            Base b = bases.get(i % bases.size());
            byte[] m = mutate(b.bytes, b.offsets, rnd);
            try {
                ProbedImage img = b.probe.probe(Path.of(b.name), new ByteArrayImageReader(m));
                VmdkImages.assertCoversFile(img);
                assertThat(img.virtualSize()).isNotNegative();
                images++;
            } catch (ProbeException e) {
                assertThat(e.getMessage()).isNotBlank();
                exceptions++;
            } catch (Throwable t) {
                fail("mutation " + i + " of " + b.name + " (seed " + SEED + ") threw " + t, t);
            }
        }
        assertThat(images).isPositive();
        assertThat(exceptions).isPositive();
        assertThat((System.nanoTime() - start) / 1_000_000_000.0).isLessThan(30.0);
    }

    @Test
    void mutatedDescriptorsStayInsideTheFolder() throws Exception {
        VmdkImages.Sparse s = new VmdkImages.Sparse();
        s.descriptor = null;
        Files.write(dir.resolve("d-s001.vmdk"), s.build());
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("d-f001.vmdk").toFile(), "rw")) {
            f.setLength(4096 * 512);
        }
        String text = VmdkDescriptorProbeTest.FLAT.replace("monolithicFlat", "twoGbMaxExtentSparse")
                .replace("RW 2048 FLAT \"d-flat.vmdk\" 0", "RW 2048 SPARSE \"d-s001.vmdk\"\nRW 4096 FLAT \"d-f001.vmdk\" 0");
        byte[] bytes = text.getBytes(StandardCharsets.US_ASCII);
        VmdkDescriptorProbe probe = new VmdkDescriptorProbe();
        Path path = dir.resolve("d.vmdk");
        assertThat(probe.probe(path, new ByteArrayImageReader(bytes)).virtualSize()).isEqualTo(6144L * 512);
        int[] offsets = new int[bytes.length];
        for (int i = 0; i < offsets.length; i++) {
            offsets[i] = i;
        }
        byte[] alphabet = "RW \"0123456789./\\\n=#-SPARSEFLATZERO".getBytes(StandardCharsets.US_ASCII);
        Random rnd = new Random(SEED + 1);
        for (int i = 0; i < 3_000; i++) {
            byte[] m = bytes.clone();
            int n = 1 + rnd.nextInt(4);
            for (int k = 0; k < n; k++) {
                int at = rnd.nextInt(m.length);
                m[at] = rnd.nextBoolean() ? alphabet[rnd.nextInt(alphabet.length)] : (byte) rnd.nextInt(256);
            }
            if (rnd.nextInt(10) == 0) {
                m = Arrays.copyOf(m, rnd.nextInt(m.length + 1));
            }
            try {
                ProbedImage img = probe.probe(path, new ByteArrayImageReader(m));
                VmdkImages.assertCoversFile(img);
                VmdkDescriptorHeader h = (VmdkDescriptorHeader) img.header();
                for (VmdkExtentFile e : h.extents()) {
                    e.file().ifPresent(p -> assertThat(p.normalize()).startsWithRaw(dir));
                }
            } catch (ProbeException e) {
                assertThat(e.getMessage()).isNotBlank();
            } catch (Throwable t) {
                fail("descriptor mutation " + i + " threw " + t + " for:\n" + new String(m,
                        StandardCharsets.ISO_8859_1), t);
            }
        }
    }

    static byte[] mutate(byte[] base, int[] offsets, Random rnd) {
        byte[] m = base.clone();
        int ops = 1 + rnd.nextInt(3);
        for (int k = 0; k < ops; k++) {
            switch (rnd.nextInt(4)) {
                case 0 -> {
                    int at = rnd.nextBoolean() ? rnd.nextInt(Math.min(2048, m.length)) : rnd.nextInt(m.length);
                    m[at] ^= (byte) (1 << rnd.nextInt(8));
                }
                case 1, 2 -> {
                    int at = offsets[rnd.nextInt(offsets.length)];
                    int width = new int[] {1, 2, 4, 8}[rnd.nextInt(4)];
                    if (at + width <= m.length) {
                        long v = rnd.nextInt(4) == 0 ? rnd.nextLong() : EXTREMES[rnd.nextInt(EXTREMES.length)];
                        ByteBuffer bb = ByteBuffer.wrap(m).order(ByteOrder.LITTLE_ENDIAN);
                        switch (width) {
                            case 1 -> bb.put(at, (byte) v);
                            case 2 -> bb.putShort(at, (short) v);
                            case 4 -> bb.putInt(at, (int) v);
                            default -> bb.putLong(at, v);
                        }
                    }
                }
                default -> {
                    if (rnd.nextInt(3) == 0) {
                        m = Arrays.copyOf(m, rnd.nextInt(m.length + 1));
                    } else {
                        m[rnd.nextInt(m.length)] = (byte) rnd.nextInt(256);
                    }
                }
            }
            if (m.length == 0) {
                break;
            }
        }
        return m;
    }
}
