package org.diskplan.probe;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** FieldReader's text helpers write what java.util.Formatter wrote before them. */
class FieldReaderTest {
    @Test
    void hexDigitsAsTheFormatterWritesThem() {
        SplittableRandom r = new SplittableRandom(7);
        for (int i = 0; i < 50_000; i++) {
            long v = r.nextLong(0, 1L << 32) >>> r.nextInt(32);
            assertThat(FieldReader.hexDigits(v, 8)).isEqualTo(String.format("%08x", v));
            assertThat(FieldReader.hexDigits(v & 0xff, 2)).isEqualTo(String.format("%02x", v & 0xff));
        }
        assertThat(FieldReader.hexDigits(0, 8)).isEqualTo("00000000");
        assertThat(FieldReader.hexDigits(0x1_0000_0000L, 8)).isEqualTo("100000000");
    }

    @Test
    void printableEscapesAsBefore() {
        byte[] raw = {'a', 0x01, '\\', (byte) 0xff, 'z', 0, 0};
        assertThat(FieldReader.printable(raw)).isEqualTo("a\\x01\\x5c\\xffz");
    }
}
