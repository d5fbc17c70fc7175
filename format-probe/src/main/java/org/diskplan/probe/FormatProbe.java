package org.diskplan.probe;

import java.nio.file.Path;
import org.diskplan.abi.ImageFormat;

/**
 * Parses one format. Implementations live in their format's package and are
 * found through {@link java.util.ServiceLoader}, so a new format is a new
 * package, not a new branch in a shared switch.
 */
public interface FormatProbe {
    ImageFormat format();

    ProbedImage probe(Path path, ImageReader reader) throws ProbeException;
}
