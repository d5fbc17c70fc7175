package org.diskplan.planner;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import org.diskplan.abi.ErrorCode;
import org.diskplan.abi.Preallocation;
import org.diskplan.probe.ImageReader;
import org.diskplan.probe.ProbedImage;

/** Entry point of the planner module: the shared checks, then the format's planner. */
public final class Planners {
    /** qemu's BDRV_MAX_LENGTH: INT64_MAX rounded down to whole GiB. */
    public static final long MAX_LENGTH = 9223372035781033984L;
    public static final String SHRINK_WARNING = "Shrinking an image will delete all data beyond the shrunken "
            + "image's end. Before performing such an operation, make sure there is no important data there.";

    private static final Map<org.diskplan.abi.ImageFormat, FormatPlanner> PLANNERS = load();

    private Planners() {
    }

    private static Map<org.diskplan.abi.ImageFormat, FormatPlanner> load() {
        Map<org.diskplan.abi.ImageFormat, FormatPlanner> map = new EnumMap<>(org.diskplan.abi.ImageFormat.class);
        for (FormatPlanner p : ServiceLoader.load(FormatPlanner.class, Planners.class.getClassLoader())) {
            map.put(p.format(), p);
        }
        return map;
    }

    /** Whether DiskPlan can resize images of this format yet. */
    public static boolean canResize(org.diskplan.abi.ImageFormat format) {
        return PLANNERS.containsKey(format);
    }

    /**
     * Plans a resize: the checks qemu-img makes for every format, in qemu-img's
     * order, then the format's own planner.
     */
    public static ResizePlan plan(ProbedImage image, ImageReader reader, ResizeRequest request) throws ResizeError {
        FormatPlanner planner = PLANNERS.get(image.format());
        if (planner == null) {
            throw new ResizeError(ErrorCode.UNSUPPORTED_FORMAT, "DiskPlan cannot resize "
                    + image.format().displayName() + " images yet (" + supportedList() + ")");
        }
        planner.checkOpen(image);
        checkCommon(image.virtualSize(), request);
        return planner.plan(image, reader, request);
    }

    /** "raw and qcow2 are supported": the formats that have a planner, in code order. */
    static String supportedList() {
        List<String> names = PLANNERS.keySet().stream().map(org.diskplan.abi.ImageFormat::qemuName).toList();
        if (names.size() == 1) {
            return names.get(0) + " is supported";
        }
        return String.join(", ", names.subList(0, names.size() - 1)) + " and " + names.get(names.size() - 1)
                + " are supported";
    }

    /** The checks of qemu-img resize and bdrv_co_truncate that do not depend on the format. */
    public static void checkCommon(long currentSize, ResizeRequest request) throws ResizeError {
        long total = request.newSize();
        if (total <= 0) {
            throw new ResizeError(ErrorCode.INVALID_NEW_SIZE, "New image size must be positive");
        }
        if (total <= currentSize && request.preallocation() != Preallocation.OFF) {
            throw new ResizeError(ErrorCode.INVALID_OPTION, "Preallocation can only be used for growing images");
        }
        if (total < currentSize && !request.shrinkAllowed()) {
            throw new ResizeError(ErrorCode.SHRINK_WITHOUT_FLAG,
                    "Use the --shrink option to perform a shrink operation.", List.of(SHRINK_WARNING));
        }
        if (total > MAX_LENGTH) {
            throw new ResizeError(ErrorCode.INVALID_NEW_SIZE,
                    "offset(" + total + ") exceeds maximum(" + MAX_LENGTH + ")");
        }
    }

    /** The action a size change amounts to. */
    public static org.diskplan.abi.ResizeAction actionFor(long oldSize, long newSize) {
        if (newSize > oldSize) {
            return org.diskplan.abi.ResizeAction.GROW;
        }
        return newSize < oldSize ? org.diskplan.abi.ResizeAction.SHRINK : org.diskplan.abi.ResizeAction.NOOP;
    }
}
