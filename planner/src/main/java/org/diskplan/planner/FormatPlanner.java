package org.diskplan.planner;

import org.diskplan.abi.ImageFormat;
import org.diskplan.probe.ImageReader;
import org.diskplan.probe.ProbedImage;

/**
 * Plans a resize for one format. Implementations live in their format's package
 * and are found through {@link java.util.ServiceLoader}. A planner only reads;
 * it never writes. It is called after the checks every format shares
 * ({@link Planners#plan}), so it sees a positive size and a shrink only when allowed.
 */
public interface FormatPlanner {
    ImageFormat format();

    /**
     * Refusals qemu makes when it opens the image, before any size check (a corrupt
     * qcow2 image, unknown incompatible features). Called before the shared checks.
     */
    default void checkOpen(ProbedImage image) throws ResizeError {
    }

    ResizePlan plan(ProbedImage image, ImageReader reader, ResizeRequest request) throws ResizeError;
}
