package org.diskplan.abi;

import java.util.Optional;

/**
 * Disk image formats, as the u32 {@code target_format} codes of {@code docs/abi.md}
 * ("ImageFormat codes"). Append only: a code is never renumbered or reused.
 */
public enum ImageFormat {
    UNKNOWN(0, "unknown", "unknown"),
    RAW(1, "raw", "raw"),
    QCOW2(2, "qcow2", "qcow2"),
    /** Sparse extent with a VMDK4 header. */
    VMDK4(3, "vmdk", "VMDK (sparse extent)"),
    /** COWD sparse extent. */
    VMDK3(4, "vmdk", "VMDK3 (COWD)"),
    VHD(5, "vpc", "VHD"),
    VHDX(6, "vhdx", "VHDX"),
    QCOW1(7, "qcow", "qcow (v1)"),
    VDI(8, "vdi", "VDI"),
    QED(9, "qed", "QED"),
    ISO(10, "iso", "ISO 9660"),
    LUKS(11, "luks", "LUKS"),
    /** Text descriptor file of a VMDK. */
    VMDK_DESCRIPTOR(12, "vmdk", "VMDK descriptor"),
    /** Parallels / OpenVZ ploop image ("WithoutFreeSpace" or "WithouFreSpacExt"). */
    PARALLELS(13, "parallels", "Parallels"),
    /** Bochs growing redolog image. */
    BOCHS(14, "bochs", "Bochs"),
    /** Compressed loopback (cloop) image. */
    CLOOP(15, "cloop", "cloop"),
    /** Apple disk image (UDIF, "koly" trailer). */
    DMG(16, "dmg", "DMG"),
    /** VMDK space-efficient sparse extent (ESXi seSparse). */
    VMDK_SESPARSE(17, "vmdk", "VMDK seSparse extent"),
    /** Compressed files and archives: recognised so that they are never taken for raw disks. */
    GZIP(18, "gzip", "gzip-compressed file"),
    XZ(19, "xz", "xz-compressed file"),
    BZIP2(20, "bzip2", "bzip2-compressed file"),
    ZSTD(21, "zstd", "zstd-compressed file"),
    ZIP(22, "zip", "zip archive"),
    TAR(23, "tar", "tar archive"),
    SEVEN_ZIP(24, "7z", "7z archive");

    private final int code;
    private final String qemuName;
    private final String displayName;

    ImageFormat(int code, String qemuName, String displayName) {
        this.code = code;
        this.qemuName = qemuName;
        this.displayName = displayName;
    }

    /** The wire code (abi.md). */
    public int code() {
        return code;
    }

    /** The driver name qemu-img uses for this format, e.g. {@code "vpc"} for VHD. */
    public String qemuName() {
        return qemuName;
    }

    /** A short human-readable name. */
    public String displayName() {
        return displayName;
    }

    /** The format with this wire code, or empty if the code is unknown. */
    public static Optional<ImageFormat> fromCode(long code) {
        for (ImageFormat f : values()) {
            if (f.code == code) {
                return Optional.of(f);
            }
        }
        return Optional.empty();
    }
}
