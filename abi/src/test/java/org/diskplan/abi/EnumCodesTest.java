package org.diskplan.abi;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Pins every wire code against the literal numbers of docs/abi.md. */
class EnumCodesTest {

    @Test
    void imageFormatCodesMatchAbiMd() {
        assertThat(ImageFormat.UNKNOWN.code()).isEqualTo(0);
        assertThat(ImageFormat.RAW.code()).isEqualTo(1);
        assertThat(ImageFormat.QCOW2.code()).isEqualTo(2);
        assertThat(ImageFormat.VMDK4.code()).isEqualTo(3);
        assertThat(ImageFormat.VMDK3.code()).isEqualTo(4);
        assertThat(ImageFormat.VHD.code()).isEqualTo(5);
        assertThat(ImageFormat.VHDX.code()).isEqualTo(6);
        assertThat(ImageFormat.QCOW1.code()).isEqualTo(7);
        assertThat(ImageFormat.VDI.code()).isEqualTo(8);
        assertThat(ImageFormat.QED.code()).isEqualTo(9);
        assertThat(ImageFormat.ISO.code()).isEqualTo(10);
        assertThat(ImageFormat.LUKS.code()).isEqualTo(11);
        assertThat(ImageFormat.VMDK_DESCRIPTOR.code()).isEqualTo(12);
        assertThat(ImageFormat.PARALLELS.code()).isEqualTo(13);
        assertThat(ImageFormat.BOCHS.code()).isEqualTo(14);
        assertThat(ImageFormat.CLOOP.code()).isEqualTo(15);
        assertThat(ImageFormat.DMG.code()).isEqualTo(16);
        assertThat(ImageFormat.VMDK_SESPARSE.code()).isEqualTo(17);
        assertThat(ImageFormat.GZIP.code()).isEqualTo(18);
        assertThat(ImageFormat.XZ.code()).isEqualTo(19);
        assertThat(ImageFormat.BZIP2.code()).isEqualTo(20);
        assertThat(ImageFormat.ZSTD.code()).isEqualTo(21);
        assertThat(ImageFormat.ZIP.code()).isEqualTo(22);
        assertThat(ImageFormat.TAR.code()).isEqualTo(23);
        assertThat(ImageFormat.SEVEN_ZIP.code()).isEqualTo(24);
        assertThat(ImageFormat.values()).hasSize(25);
    }

    @Test
    void imageFormatNames() {
        assertThat(Arrays.stream(ImageFormat.values()).map(ImageFormat::qemuName)).containsExactly(
                "unknown", "raw", "qcow2", "vmdk", "vmdk", "vpc", "vhdx", "qcow", "vdi", "qed",
                "iso", "luks", "vmdk", "parallels", "bochs", "cloop", "dmg", "vmdk", "gzip", "xz", "bzip2", "zstd",
                "zip", "tar", "7z");
        assertThat(Arrays.stream(ImageFormat.values()).map(ImageFormat::displayName))
                .containsExactly("unknown", "raw", "qcow2", "VMDK (sparse extent)",
                        "VMDK3 (COWD)", "VHD", "VHDX", "qcow (v1)", "VDI", "QED", "ISO 9660",
                        "LUKS", "VMDK descriptor", "Parallels", "Bochs", "cloop", "DMG", "VMDK seSparse extent",
                        "gzip-compressed file", "xz-compressed file", "bzip2-compressed file", "zstd-compressed file",
                        "zip archive", "tar archive", "7z archive");
    }

    @Test
    void errorCodesMatchAbiMd() {
        assertThat(ErrorCode.OK.code()).isEqualTo(0);
        assertThat(ErrorCode.INVALID_OPTION.code()).isEqualTo(1);
        assertThat(ErrorCode.INVALID_NEW_SIZE.code()).isEqualTo(2);
        assertThat(ErrorCode.SHRINK_WITHOUT_FLAG.code()).isEqualTo(3);
        assertThat(ErrorCode.SHRINK_BELOW_ALLOCATED.code()).isEqualTo(4);
        assertThat(ErrorCode.UNSUPPORTED_FORMAT.code()).isEqualTo(5);
        assertThat(ErrorCode.UNSUPPORTED_SUBFORMAT.code()).isEqualTo(6);
        assertThat(ErrorCode.UNSUPPORTED_SHRINK.code()).isEqualTo(7);
        assertThat(ErrorCode.PREALLOCATION_UNSUPPORTED.code()).isEqualTo(8);
        assertThat(ErrorCode.SCRATCH_TOO_SMALL.code()).isEqualTo(9);
        assertThat(ErrorCode.READ_FAILED.code()).isEqualTo(10);
        assertThat(ErrorCode.WRITE_FAILED.code()).isEqualTo(11);
        assertThat(ErrorCode.PARSE_FAILED.code()).isEqualTo(12);
        assertThat(ErrorCode.HEADER_MISMATCH.code()).isEqualTo(13);
        assertThat(ErrorCode.BITMAPS_UNSUPPORTED.code()).isEqualTo(14);
        assertThat(ErrorCode.IMAGE_LOCKED.code()).isEqualTo(15);
        assertThat(ErrorCode.NEEDS_REPAIR.code()).isEqualTo(16);
        assertThat(ErrorCode.INTERRUPTED_RESIZE.code()).isEqualTo(17);
        assertThat(ErrorCode.values()).hasSize(18);
    }

    @Test
    void errorMeaningsComeFromAbiMd() {
        assertThat(ErrorCode.OK.meaning()).isEmpty();
        assertThat(ErrorCode.SHRINK_WITHOUT_FLAG.meaning())
                .isEqualTo("smaller size asked without `--shrink`");
        assertThat(ErrorCode.INTERRUPTED_RESIZE.meaning())
                .isEqualTo("an undo journal from an interrupted resize exists; recover first");
        for (ErrorCode e : ErrorCode.values()) {
            if (e != ErrorCode.OK) {
                assertThat(e.meaning()).as(e.name()).isNotBlank();
            }
        }
    }

    @Test
    void smallEnumCodesAndNames() {
        assertThat(List.of(Preallocation.OFF.code(), Preallocation.METADATA.code(),
                Preallocation.FALLOC.code(), Preallocation.FULL.code())).containsExactly(0, 1, 2, 3);
        assertThat(Arrays.stream(Preallocation.values()).map(Preallocation::qemuName))
                .containsExactly("off", "metadata", "falloc", "full");
        assertThat(List.of(VmdkSubformat.MONOLITHIC_SPARSE.code(),
                VmdkSubformat.STREAM_OPTIMIZED.code(), VmdkSubformat.MONOLITHIC_FLAT.code(),
                VmdkSubformat.TWO_GB_MAX_EXTENT_SPARSE.code(),
                VmdkSubformat.TWO_GB_MAX_EXTENT_FLAT.code())).containsExactly(0, 1, 2, 3, 4);
        assertThat(Arrays.stream(VmdkSubformat.values()).map(VmdkSubformat::createType))
                .containsExactly("monolithicSparse", "streamOptimized", "monolithicFlat",
                        "twoGbMaxExtentSparse", "twoGbMaxExtentFlat");
        assertThat(List.of(VhdSubformat.DYNAMIC.code(), VhdSubformat.FIXED.code()))
                .containsExactly(0, 1);
        assertThat(VhdSubformat.FIXED.qemuName()).isEqualTo("fixed");
        assertThat(List.of(ResizeAction.NOOP.code(), ResizeAction.GROW.code(),
                ResizeAction.SHRINK.code())).containsExactly(0, 1, 2);
        assertThat(Arrays.stream(ResizeAction.values()).map(ResizeAction::jsonName))
                .containsExactly("noop", "grow", "shrink");
    }

    @Test
    void fromCodeRoundTripsEveryValue() {
        for (ImageFormat v : ImageFormat.values()) {
            assertThat(ImageFormat.fromCode(v.code())).contains(v);
        }
        for (ErrorCode v : ErrorCode.values()) {
            assertThat(ErrorCode.fromCode(v.code())).contains(v);
        }
        for (Preallocation v : Preallocation.values()) {
            assertThat(Preallocation.fromCode(v.code())).contains(v);
            assertThat(Preallocation.fromQemuName(v.qemuName())).contains(v);
        }
        for (VmdkSubformat v : VmdkSubformat.values()) {
            assertThat(VmdkSubformat.fromCode(v.code())).contains(v);
            assertThat(VmdkSubformat.fromCreateType(v.createType())).contains(v);
        }
        for (VhdSubformat v : VhdSubformat.values()) {
            assertThat(VhdSubformat.fromCode(v.code())).contains(v);
        }
        for (ResizeAction v : ResizeAction.values()) {
            assertThat(ResizeAction.fromCode(v.code())).contains(v);
        }
    }

    @Test
    void unknownCodesAndNamesAreEmpty() {
        assertThat(ImageFormat.fromCode(25)).isEmpty();
        assertThat(ImageFormat.fromCode(-1)).isEmpty();
        assertThat(ImageFormat.fromCode(0x1_0000_0001L)).isEmpty();
        assertThat(ErrorCode.fromCode(18)).isEmpty();
        assertThat(Preallocation.fromCode(4)).isEmpty();
        assertThat(Preallocation.fromQemuName("Full")).isEmpty();
        assertThat(Preallocation.fromQemuName(null)).isEmpty();
        assertThat(VmdkSubformat.fromCode(5)).isEmpty();
        assertThat(VmdkSubformat.fromCreateType("monolithicsparse")).isEmpty();
        assertThat(VhdSubformat.fromCode(2)).isEmpty();
        assertThat(ResizeAction.fromCode(3)).isEmpty();
    }

    @Test
    void abiExceptionCarriesCode() {
        AbiException e = new AbiException(ErrorCode.IMAGE_LOCKED, "locked");
        assertThat(e.code()).isEqualTo(ErrorCode.IMAGE_LOCKED);
        assertThat(e).hasMessage("locked");
    }
}
