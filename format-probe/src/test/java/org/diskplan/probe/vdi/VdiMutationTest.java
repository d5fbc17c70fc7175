package org.diskplan.probe.vdi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.diskplan.probe.ByteArrayImageReader;
import org.diskplan.probe.ProbeException;
import org.diskplan.probe.ProbedImage;
import org.junit.jupiter.api.Test;

/** Seeded mutations of valid VDI images: every outcome is a ProbedImage or a ProbeException. */
class VdiMutationTest {
    private static final long SEED = 0x0d1_5eedL;
    private static final long[] EXTREMES = {0, 1, 0xffffffffL, 0xfffffffeL, 0x80000000L, 1L << 63, -1L,
            0x7fffffffffffffffL, 512, 1 << 20, 0x3fffffffL};
    private static final int[] FIELDS = {64, 68, 72, 76, 80, 340, 344, 348, 352, 356, 360, 364, 368, 372, 376, 380,
            384, 388, 392, 424, 440, 456, 468, 512, 516, 520, 524, 528};

    @Test
    void twentyThousandMutations() {
        long f = 0xffffffffL;
        List<byte[]> bases = List.of(VdiProbeTest.dynamic(),
                VdiProbeTest.vdi(2, 4 * 4096, 4096, 384, new long[] {0, 1, 2, 3}),
                VdiProbeTest.vdi(1, 8 * 512, 512, 400, new long[] {3, f, 1, 0, f, 2, f, 0xfffffffeL}));
        VdiProbe probe = new VdiProbe();
        Random rnd = new Random(SEED);
        int images = 0;
        int exceptions = 0;
        long start = System.nanoTime();
        for (int i = 0; i < 20_000; i++) {
            byte[] m = mutate(bases.get(i % bases.size()), rnd);
            try {
                ProbedImage img = probe.probe(Path.of("m.vdi"), new ByteArrayImageReader(m));
                VdiProbeTest.assertCoversFile(img);
                assertThat(img.virtualSize()).isNotNegative();
                images++;
            } catch (ProbeException e) {
                assertThat(e.getMessage()).isNotBlank();
                exceptions++;
            } catch (Throwable t) {
                fail("mutation " + i + " (seed " + SEED + ") threw " + t, t);
            }
        }
        assertThat(images).isPositive();
        assertThat(exceptions).isPositive();
        assertThat((System.nanoTime() - start) / 1_000_000_000.0).isLessThan(30.0);
    }

    private static byte[] mutate(byte[] base, Random rnd) {
        byte[] m = base.clone();
        int ops = 1 + rnd.nextInt(3);
        for (int k = 0; k < ops && m.length > 0; k++) {
            switch (rnd.nextInt(4)) {
                case 0 -> m[rnd.nextInt(m.length)] ^= (byte) (1 << rnd.nextInt(8));
                case 1, 2 -> {
                    int at = FIELDS[rnd.nextInt(FIELDS.length)];
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
                default -> m = Arrays.copyOf(m, rnd.nextInt(m.length + 1));
            }
        }
        return m;
    }
}
