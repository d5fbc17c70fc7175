package org.diskplan.probe;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import org.diskplan.abi.ImageFormat;

/**
 * Everything a probe learnt about an image, read-only.
 *
 * @param path           the image file
 * @param format         the detected format
 * @param subformat      e.g. "dynamic", "monolithicSparse", "v3"; empty when the format has none
 * @param virtualSize    the size the guest sees, in bytes, as qemu reports it
 * @param fileSize       the length of the image file in bytes
 * @param allocationUnit cluster, block or grain size in bytes; 0 when the format has none
 * @param flags          notable flags for the summary ("dirty", "backing file: x", ...)
 * @param fields         every parsed field, in file order per group
 * @param regions        the layout map, covering the whole file
 * @param header         the parsed format-specific header for the planners
 */
public record ProbedImage(Path path, ImageFormat format, String subformat, long virtualSize, long fileSize,
                          long allocationUnit, List<String> flags, List<HeaderField> fields,
                          List<LayoutRegion> regions, FormatHeader header) {
    public ProbedImage {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(format, "format");
        Objects.requireNonNull(subformat, "subformat");
        Objects.requireNonNull(header, "header");
        flags = List.copyOf(flags);
        fields = List.copyOf(fields);
        regions = List.copyOf(regions);
    }
}
