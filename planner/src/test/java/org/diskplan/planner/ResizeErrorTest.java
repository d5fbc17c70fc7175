package org.diskplan.planner;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.diskplan.abi.ErrorCode;
import org.junit.jupiter.api.Test;

class ResizeErrorTest {
    @Test
    void aRefusalAtAFieldSaysTheFieldInItsWordsAndCarriesItTyped() {
        ResizeError e = ResizeError.atField(ErrorCode.UNSUPPORTED_SUBFORMAT, ResizeError.Kind.UNSUPPORTED,
                "VHD footer", "disk_type", 1084, ": unknown disk type 7");
        assertThat(e.getMessage()).isEqualTo("VHD footer field disk_type at offset 1084: unknown disk type 7");
        assertThat(e.code()).isEqualTo(ErrorCode.UNSUPPORTED_SUBFORMAT);
        assertThat(e.location()).hasValueSatisfying(l -> {
            assertThat(l.kind()).isEqualTo(ResizeError.Kind.UNSUPPORTED);
            assertThat(l.field()).isEqualTo("disk_type");
            assertThat(l.offset()).isEqualTo(1084);
            assertThat(l.namesField()).isTrue();
        });
    }

    @Test
    void aRefusalWithoutALocationHasNoneAndAKindAloneNamesNoField() {
        assertThat(new ResizeError(ErrorCode.INVALID_NEW_SIZE, "too big").location()).isEmpty();
        ResizeError.Location corrupt = ResizeError.Location.of(ResizeError.Kind.CORRUPT);
        assertThat(corrupt.namesField()).isFalse();
        assertThat(corrupt.offset()).isEqualTo(-1);
        assertThatThrownBy(() -> new ResizeError.Location(ResizeError.Kind.REFUSED, "size", -1))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new ResizeError.Location(ResizeError.Kind.REFUSED, "", 8))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
