package org.diskplan.probe;

/**
 * The format-specific parsed header a probe keeps for the planners (a qcow2
 * header record, a VHD footer record, ...). Each format package defines its own
 * record implementing this interface.
 */
public interface FormatHeader {

    /**
     * Files besides the probed one that hold the image's data (a VMDK descriptor's
     * extents), already resolved inside the image's folder. Empty for one-file formats.
     */
    default java.util.List<java.nio.file.Path> extentFiles() {
        return java.util.List.of();
    }
}
