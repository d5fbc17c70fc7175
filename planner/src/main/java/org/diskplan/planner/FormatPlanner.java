package org.diskplan.planner;

import java.util.Set;
import org.diskplan.abi.ImageFormat;
import org.diskplan.probe.FormatHeader;
import org.diskplan.probe.ProbedImage;

/**
 * Plans resizes for one format. Implementations live in their format's package and
 * are found through {@link java.util.ServiceLoader}. A planner only reads; it never
 * writes. {@link Planners} checks the header type once, runs the checks every format
 * shares (qemu-img's, then the {@link #capabilities}), and only then calls
 * {@link #plan}: a planner sees a positive, allowed size and a supported mode.
 *
 * @param <H> the probe's header record for these formats
 */
public interface FormatPlanner<H extends FormatHeader> {
    /** The probe formats it handles (VMDK has three). */
    Set<ImageFormat> formats();

    /** The header record the probe puts in {@link ProbedImage#header()} for these formats. */
    Class<H> headerType();

    /** What it can do for this image. */
    Capabilities capabilities(ProbedImage image, H header);

    /** What it can do for a typical new image of its format (for help texts, before any image is open). */
    Capabilities typical();

    /**
     * The virtual size the image will have when {@code requested} is asked for (already
     * a valid size for {@link #capabilities}): by default {@link Capabilities#round}.
     */
    default long effectiveSize(ProbedImage image, H header, long requested) {
        return capabilities(image, header).round(requested);
    }

    /**
     * Refusals qemu makes when it opens the image, before any size check (a corrupt
     * qcow2 image, unknown incompatible features).
     */
    default void checkOpen(ProbedImage image, H header) throws ResizeError {
    }

    /**
     * Refusals the format's driver makes for this request, in its own words and order,
     * after the checks every format shares and before the capabilities are checked
     * (qemu's QED driver refuses a preallocation mode before a shrink, for instance).
     */
    default void checkRequest(ProbedImage image, H header, ResizeRequest request) throws ResizeError {
    }

    ResizePlan plan(ProbedImage image, H header, PlanReader reader, ResizeRequest request) throws ResizeError;
}
