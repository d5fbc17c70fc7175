package org.diskplan.planner;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The size grammar; expected values were observed from qemu-img 7.2 on this machine. */
class SizeArgumentTest {
    private static final long G = 1L << 30;

    @ParameterizedTest(name = "{0} on 1 GiB -> {1}")
    @CsvSource(delimiter = '|', value = {
        "2G|2147483648",
        "+1G|2147483648",
        "-1M|1072693248",
        "1.5G|1610612736",
        "+0.5G|1610612736",
        "0.5k|512",
        "512|512",
        "512b|512",
        "512B|512",
        "1k|1024",
        "1K|1024",
        "1m|1048576",
        "1t|1099511627776",
        "1P|1125899906842624",
        "1E|1152921504606846976",
        "0x100000|1048576",
        "' 5M'|5242880",
        "5.M|5242880",
        "1.|1",
        "1.0000000000000000001G|1073741824",
        "+0|1073741824",
        "-0|1073741824",
        "1.5e|1729382256910270464",
        "8E|-9223372036854775808",
        "+8E|-9223372035781033984",
    })
    void resolvesLikeQemu(String arg, long expected) throws Exception {
        assertThat(SizeArgument.parse(arg).resolve(G)).isEqualTo(expected);
    }

    @ParameterizedTest
    @ValueSource(strings = {"1.1", "abc", "1e3k", ".5G", "1,5G", "", "+", "1k5", "1kb", "+-5", "0x1.8", "1.5x",
        "+1.5b", "--1", "1.5e3k"})
    void rejectsLikeQemu(String arg) {
        assertThatThrownBy(() -> SizeArgument.parse(arg))
                .isInstanceOf(SizeSyntaxException.class)
                .hasMessage(SizeArgument.INVALID)
                .satisfies(e -> assertThat(((SizeSyntaxException) e).hint()).isEqualTo(SizeArgument.SUFFIX_HINT));
    }

    @ParameterizedTest
    @ValueSource(strings = {"18446744073709551616", "16E", "99999999999999999999"})
    void outOfRange(String arg) {
        assertThatThrownBy(() -> SizeArgument.parse(arg))
                .isInstanceOf(SizeSyntaxException.class)
                .hasMessage("Value '" + arg + "' is out of range for parameter 'size'");
    }

    @org.junit.jupiter.api.Test
    void overflowWithTrailingTextIsInvalidNotOutOfRange() {
        assertThatThrownBy(() -> SizeArgument.parse("99999999999999999999k")).hasMessage(SizeArgument.INVALID);
    }

    @org.junit.jupiter.api.Test
    void hexWithSuffixWarnsAsDeprecated() throws Exception {
        SizeArgument s = SizeArgument.parse("0x10k");
        assertThat(s.amount()).isEqualTo(16 * 1024);
        assertThat(s.warnings()).containsExactly("Using a multiplier suffix on hex numbers is deprecated: 0x10k");
    }

    @org.junit.jupiter.api.Test
    void largestUnsignedValueIsAccepted() throws Exception {
        assertThat(SizeArgument.parse("18446744073709551615").amount()).isEqualTo(-1L);
    }
}
