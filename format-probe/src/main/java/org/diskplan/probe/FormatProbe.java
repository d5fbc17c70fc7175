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

    /** Every format this probe parses; one probe may serve a family (the compressed files). */
    default java.util.Set<ImageFormat> formats() {
        return java.util.Set.of(format());
    }

    ProbedImage probe(Path path, ImageReader reader) throws ProbeException;

    /**
     * What a resize planner needs: the parsed header and everything the planner checks,
     * possibly without the layout map ({@link ProbedImage#regions()} may then be empty),
     * so that planning does not cost a walk over every table. Defaults to {@link #probe}.
     */
    default ProbedImage probeForResize(Path path, ImageReader reader) throws ProbeException {
        return probe(path, reader);
    }
}
