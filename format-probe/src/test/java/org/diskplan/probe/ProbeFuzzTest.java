package org.diskplan.probe;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * Jazzer fuzz tests of detection and every probe. In plain {@code mvn verify} they run in
 * regression mode over the committed inputs in {@code ProbeFuzzTestInputs/} (real images
 * made by qemu-img, cut to 64 KiB, and any crash Jazzer ever found). For a real fuzzing
 * run, coverage-guided and mutating:
 *
 * <pre>JAZZER_FUZZ=1 mvn -pl format-probe -am test -Dtest=ProbeFuzzTest -Dsurefire.failIfNoSpecifiedTests=false</pre>
 *
 * Every input must end in a {@link ProbedImage} whose layout covers the file, or in a
 * {@link ProbeException} naming a field; anything else (another exception, an
 * OutOfMemoryError, a hang caught by Jazzer's timeout) is a finding.
 */
class ProbeFuzzTest {
    /** qemu driver names; {@link #asFormat} takes its first byte as an index into this list. */
    static final List<String> DRIVERS = List.of("raw", "qcow2", "qcow", "qed", "luks", "vpc", "vhdx", "vmdk", "vdi");
    private static final Path PATH = Path.of("fuzz.img");

    /** Detection by content, then the detected format's probe. */
    @FuzzTest(maxDuration = "5m")
    void anyFile(byte[] data) {
        check(data, Optional.empty());
    }

    /** Each format's probe forced on the bytes (as {@code -f FMT}), so no magic is needed to reach it. */
    @FuzzTest(maxDuration = "5m")
    void asFormat(byte[] data) {
        if (data.length == 0) {
            return;
        }
        String driver = DRIVERS.get(Byte.toUnsignedInt(data[0]) % DRIVERS.size());
        check(Arrays.copyOfRange(data, 1, data.length), Optional.of(driver));
    }

    private static void check(byte[] image, Optional<String> driver) {
        ProbedImage p;
        try {
            p = ImageProber.probe(PATH, ByteArrayImageReader.wrap(image), driver);
        } catch (ProbeException e) {
            if (e.getMessage() == null || e.getMessage().isBlank()) {
                throw new AssertionError("a probe error without a message", e);
            }
            return;
        }
        long pos = 0;
        for (LayoutRegion r : p.regions()) {
            if (r.offset() != pos) {
                throw new AssertionError("layout gap or overlap at " + pos + ": " + r);
            }
            pos = r.end();
        }
        if (pos != image.length && image.length > 0) {
            throw new AssertionError("layout ends at " + pos + ", the file at " + image.length);
        }
    }
}
