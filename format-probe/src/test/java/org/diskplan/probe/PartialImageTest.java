package org.diskplan.probe;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A probe that fails keeps what it parsed ({@link ProbeException#partial()}): the detected format,
 * the fields read so far, and the bad field marked when it was read.
 */
class PartialImageTest {
    private static final Path PATH = Path.of("damaged.img");

    /** qcow2 with an unaligned L1 table offset (qemu refuses it too): the header is shown, l1_table_offset marked. */
    @Test
    void qcow2UnalignedL1MarksL1TableOffset() throws Exception {
        byte[] b = ProbeMutationTest.load("qcow2-v2-4k.qcow2");
        ByteBuffer.wrap(b).putLong(40, (1L << 40) + 8);
        ProbeException e = fails(b);
        assertThat(e.field()).isEqualTo("l1_table_offset");
        PartialImage p = e.partial().orElseThrow();
        assertThat(p.format().qemuName()).isEqualTo("qcow2");
        assertThat(p.fileSize()).isEqualTo(b.length);
        assertThat(p.fields()).extracting(HeaderField::name).contains("magic", "version", "size", "l1_size",
                "refcount_table_offset", "snapshots_offset");
        HeaderField bad = p.bad().orElseThrow();
        assertThat(bad.name()).isEqualTo("l1_table_offset");
        assertThat(bad.offset()).isEqualTo(40);
        assertThat(bad.value()).startsWith(Long.toString((1L << 40) + 8));
        assertThat(p.regions()).isNotEmpty().allSatisfy(r -> assertThat(r.end()).isLessThanOrEqualTo(b.length));
        assertThat(p.regions().get(0).label()).isEqualTo("qcow2 header");
    }

    /** A field refused while the fixed header is read (refcount_order 7) is still listed and marked. */
    @Test
    void qcow2RefcountOrderRefusedInTheHeaderIsListed() throws Exception {
        byte[] b = ProbeMutationTest.load("qcow2-backing.qcow2");
        ByteBuffer.wrap(b).putInt(96, 7);
        PartialImage p = fails(b).partial().orElseThrow();
        assertThat(p.bad().orElseThrow().name()).isEqualTo("refcount_order");
        assertThat(p.bad().orElseThrow().offset()).isEqualTo(96);
        assertThat(p.fields()).extracting(HeaderField::name).contains("l1_table_offset", "header_length");
    }

    /** An undetected file has nothing to show: no partial result. */
    @Test
    void undetectedFormatHasNoPartial() {
        ProbeException e = org.junit.jupiter.api.Assertions.assertThrows(ProbeException.class,
                () -> ImageProber.probe(PATH, ByteArrayImageReader.wrap(new byte[0]), Optional.of("qcow2")));
        assertThat(e.partial()).isEmpty();
    }

    /**
     * For every format with a field list: each of the first 512 bytes in turn set to 0xff (then 0x00),
     * and the file cut 1000 bytes after k/32 of its length; every
     * failure that follows detection carries the format, a bad field (when marked) of the failure's
     * name, and (where failures name fields) at least one marks its bad field among the parsed fields.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"qcow2, qcow2-512-snapshot-bitmap.qcow2, true", "vpc, vpc-dynamic.vhd, true",
        "vhdx, vhdx-dynamic.vhdx, false", "vmdk, vmdk-sparse.vmdk, true", "vdi, vdi-dynamic.vdi, true",
        "qed, qed.qed, true", "qcow, qcow1.qcow, true"})
    void everyFormatKeepsWhatItParsed(String format, String seed, boolean namesFields) throws Exception {
        byte[] original = ProbeMutationTest.load(seed);
        int marked = 0;
        int failures = 0;
        List<String> wrong = new ArrayList<>();
        int bytes = Math.min(512, original.length);
        for (int i = 0; i < 2 * bytes + 31; i++) {
            byte[] b;
            if (i < 2 * bytes) {
                byte v = i % 2 == 0 ? (byte) 0xff : 0;
                if (original[i / 2] == v) {
                    continue;
                }
                b = original.clone();
                b[i / 2] = v;
            } else { // truncated files: headers read, later structures missing
                b = java.util.Arrays.copyOf(original, (int) ((long) original.length * (i - 2 * bytes + 1) / 32) + 1000);
            }
            {
                ProbeException e;
                try {
                    ImageProber.probe(PATH, ByteArrayImageReader.wrap(b), Optional.of(format));
                    continue;
                } catch (ProbeException x) {
                    e = x;
                }
                if (e.partial().isEmpty()) {
                    continue; // detection failed: no format to show
                }
                failures++;
                PartialImage p = e.partial().get();
                if (!p.format().qemuName().equals(format)) {
                    wrong.add(e.getMessage() + ": format " + p.format());
                }
                if (p.bad().isPresent()) {
                    marked++;
                    if (!p.bad().get().name().equals(e.field())) {
                        wrong.add(e.getMessage() + ": bad field " + p.bad().get().name() + " for " + e.field());
                    }
                }
            }
        }
        assertThat(wrong).isEmpty();
        assertThat(failures).as("header mutations the probe refuses").isPositive();
        if (!namesFields) {
            return; // VHDX's failures name a structure (header, region table), not one of its fields
        }
        assertThat(marked).as("failures whose bad field is in the parsed list (of " + failures + ")").isPositive();
    }

    private static ProbeException fails(byte[] b) {
        return org.junit.jupiter.api.Assertions.assertThrows(ProbeException.class,
                () -> ImageProber.probe(PATH, ByteArrayImageReader.wrap(b), Optional.empty()));
    }
}
