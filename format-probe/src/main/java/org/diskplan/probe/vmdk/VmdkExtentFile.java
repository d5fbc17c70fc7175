package org.diskplan.probe.vmdk;

import java.nio.file.Path;
import java.util.Optional;

/**
 * An extent of a descriptor file with the file it resolved to.
 *
 * @param extent          the extent line
 * @param file            the resolved file inside the descriptor's folder (empty for ZERO extents)
 * @param exists          whether the file exists
 * @param fileSize        its length in bytes (0 when missing)
 * @param sparseHeader    the parsed header of a sparse extent, when probed
 * @param sectors         the sectors qemu uses for this extent (a sparse extent's capacity, else the line's)
 */
public record VmdkExtentFile(VmdkExtent extent, Optional<Path> file, boolean exists, long fileSize,
                             Optional<VmdkHeader> sparseHeader, long sectors) {
}
