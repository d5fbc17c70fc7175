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

    /**
     * The keys {@code qemu-img info --output=json} reports for this image beyond the
     * common ones ({@code format-specific}, {@code snapshots}, {@code backing-filename},
     * {@code encrypted}, ...), with qemu's names and values: maps, lists, strings,
     * numbers and booleans only, ready for a JSON writer. Empty when qemu reports none.
     *
     * @param filename the image's name as the user gave it: qemu resolves relative names
     *                 (full-backing-filename, extent files) against it
     */
    default java.util.Map<String, Object> qemuInfo(String filename) {
        return java.util.Map.of();
    }
}
