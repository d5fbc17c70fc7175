package org.diskplan.planner;

import java.util.EnumMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.diskplan.abi.ErrorCode;
import org.diskplan.abi.ImageFormat;
import org.diskplan.abi.Preallocation;
import org.diskplan.abi.ResizeAction;
import org.diskplan.probe.FormatHeader;
import org.diskplan.probe.ProbedImage;

/**
 * The registry of format planners and the checks every format shares. Use
 * {@link ResizeSession} to resize a file; this class is what it calls.
 */
public final class Planners {
    /** qemu's BDRV_MAX_LENGTH: INT64_MAX rounded down to whole GiB. */
    public static final long MAX_LENGTH = 9223372035781033984L;
    public static final String SHRINK_WARNING = "Shrinking an image will delete all data beyond the shrunken "
            + "image's end. Before performing such an operation, make sure there is no important data there.";

    /** The planners made so far, one per format ({@link #plannerFor}). */
    private static final Map<ImageFormat, FormatPlanner<?>> MADE = new EnumMap<>(ImageFormat.class);

    private Planners() {
    }

    /** Every planner, for the lists of what DiskPlan resizes (help, messages): made only when one is asked for. */
    private static final class All {
        static final Map<ImageFormat, FormatPlanner<?>> PLANNERS = load();
    }

    /**
     * The planner of {@code format}, or null where DiskPlan resizes none: made when first
     * asked for, so that a command loads (and the JVM verifies) the planner of its image's
     * format only. PlannerListTest checks that it gives every format the planner
     * {@link #planners()} gives it.
     */
    static synchronized FormatPlanner<?> plannerFor(ImageFormat format) {
        FormatPlanner<?> planner = MADE.get(format);
        if (planner == null) {
            planner = newPlanner(format);
            if (planner != null) {
                MADE.put(format, planner);
            }
        }
        return planner;
    }

    private static FormatPlanner<?> newPlanner(ImageFormat format) {
        switch (format) {
            case RAW:
                return new org.diskplan.planner.raw.RawPlanner();
            case QCOW2:
                return new org.diskplan.planner.qcow2.Qcow2Planner();
            case VHD:
                return new org.diskplan.planner.vhd.VhdPlanner();
            case VDI:
                return new org.diskplan.planner.vdi.VdiPlanner();
            case VHDX:
                return new org.diskplan.planner.vhdx.VhdxPlanner();
            case VMDK4:
                return new org.diskplan.planner.vmdk.VmdkPlanner();
            case VMDK_DESCRIPTOR:
                return new org.diskplan.planner.vmdk.VmdkDescriptorPlanner();
            case QED:
                return new org.diskplan.planner.qed.QedPlanner();
            case LUKS:
                return new org.diskplan.planner.luks.LuksPlanner();
            default:
                return null;
        }
    }

    private static Map<ImageFormat, FormatPlanner<?>> load() {
        Map<ImageFormat, FormatPlanner<?>> map = new EnumMap<>(ImageFormat.class);
        for (FormatPlanner<?> p : planners()) {
            for (ImageFormat f : p.formats()) {
                if (map.putIfAbsent(f, p) != null) {
                    throw new IllegalStateException("two planners for " + f);
                }
            }
        }
        return map;
    }

    /**
     * The planners, in the order of META-INF/services/org.diskplan.planner.FormatPlanner.
     * Named here rather than found through {@link java.util.ServiceLoader}, whose look-up
     * costs every command's start-up more than the planners themselves; the services file
     * stays, and PlannerListTest checks that it names the same planners in the same order.
     */
    static List<FormatPlanner<?>> planners() {
        return List.of(
                new org.diskplan.planner.raw.RawPlanner(),
                new org.diskplan.planner.qcow2.Qcow2Planner(),
                new org.diskplan.planner.vhd.VhdPlanner(),
                new org.diskplan.planner.vdi.VdiPlanner(),
                new org.diskplan.planner.vhdx.VhdxPlanner(),
                new org.diskplan.planner.vmdk.VmdkPlanner(),
                new org.diskplan.planner.vmdk.VmdkDescriptorPlanner(),
                new org.diskplan.planner.qed.QedPlanner(),
                new org.diskplan.planner.luks.LuksPlanner());
    }

    /** Whether DiskPlan can resize images of this format. */
    public static boolean canResize(ImageFormat format) {
        return plannerFor(format) != null;
    }

    /** The formats that have a planner, in code order. */
    public static Set<ImageFormat> resizable() {
        return new LinkedHashSet<>(All.PLANNERS.keySet());
    }

    /** What DiskPlan can do for this image, or empty when it cannot resize its format. */
    public static Optional<Capabilities> capabilities(ProbedImage image) {
        FormatPlanner<?> p = plannerFor(image.format());
        return p == null ? Optional.empty() : Optional.of(capabilities(p, image));
    }

    private static <H extends FormatHeader> Capabilities capabilities(FormatPlanner<H> p, ProbedImage image) {
        return p.capabilities(image, p.headerType().cast(image.header()));
    }

    /** The size the image will have for {@code requested} (the size as asked for if it cannot be resized). */
    public static long effectiveSize(ProbedImage image, long requested) {
        FormatPlanner<?> p = plannerFor(image.format());
        return p == null ? requested : effectiveSize(p, image, requested);
    }

    private static <H extends FormatHeader> long effectiveSize(FormatPlanner<H> p, ProbedImage image, long requested) {
        return p.effectiveSize(image, p.headerType().cast(image.header()), requested);
    }

    /**
     * The refusals the image's planner makes whatever size is asked for (a corrupt or dirty
     * qcow2, a differencing VHDX, an inconsistent block map): what {@link #plan} checks first.
     * Does nothing for a format without a planner. Reads nothing.
     *
     * @return whether the image's format has a planner ({@link #canResize}): false when nothing was checked
     */
    public static boolean checkOpen(ProbedImage image) throws ResizeError {
        FormatPlanner<?> planner = plannerFor(image.format());
        if (planner != null) {
            checkOpen(planner, image);
        }
        return planner != null;
    }

    private static <H extends FormatHeader> void checkOpen(FormatPlanner<H> planner, ProbedImage image)
            throws ResizeError {
        if (planner.headerType().isInstance(image.header())) {
            planner.checkOpen(image, planner.headerType().cast(image.header()));
        }
    }

    /**
     * Plans a resize: the checks qemu-img makes for every format, in qemu-img's order,
     * the format's capabilities, then the format's own planner. The plan carries every
     * range read through {@code reader} (the probe's reads included, when it read through
     * {@link PlanReader#probeView()}), for the applier to re-check.
     */
    public static ResizePlan plan(ProbedImage image, PlanReader reader, ResizeRequest request) throws ResizeError {
        FormatPlanner<?> planner = plannerFor(image.format());
        if (planner == null) {
            throw new ResizeError(ErrorCode.UNSUPPORTED_FORMAT, "DiskPlan cannot resize "
                    + image.format().displayName() + " images yet (" + supportedList() + ")");
        }
        return plan(planner, image, reader, request);
    }

    private static <H extends FormatHeader> ResizePlan plan(FormatPlanner<H> planner, ProbedImage image,
                                                            PlanReader reader, ResizeRequest request)
            throws ResizeError {
        if (!planner.headerType().isInstance(image.header())) {
            throw new ResizeError(ErrorCode.PARSE_FAILED, "the " + image.format().displayName() + " probe gave a "
                    + image.header().getClass().getSimpleName() + ", not the header its planner reads");
        }
        H header = planner.headerType().cast(image.header());
        planner.checkOpen(image, header);
        checkCommon(image.virtualSize(), request);
        DeviceRules.checkRequest(image, request);
        planner.checkRequest(image, header, request);
        checkCapabilities(planner.capabilities(image, header), image.virtualSize(), request);
        return DeviceRules.check(planner.plan(image, header, reader, request).withExpected(reader.expected()));
    }

    /**
     * One line per format DiskPlan resizes, from the planners' capabilities: "qcow2:
     * preallocation off, metadata, falloc or full; sizes a multiple of 512; can shrink".
     */
    public static List<String> summary() {
        // a set: two planners of one qemu driver (vmdk's sparse files and its descriptors) say the same line once
        java.util.Set<String> out = new java.util.LinkedHashSet<>();
        java.util.Set<FormatPlanner<?>> seen = new java.util.LinkedHashSet<>(All.PLANNERS.values());
        for (FormatPlanner<?> p : seen) {
            Capabilities c = p.typical();
            String names = p.formats().stream().map(ImageFormat::qemuName).distinct()
                    .collect(java.util.stream.Collectors.joining("/"));
            out.add(names + ": preallocation " + c.modesInWords() + "; new sizes " + c.sizeRule()
                    + (c.roundsUp() ? " (rounded up)" : "") + (c.shrink() ? "; shrinks with --shrink" : "; grows only"));
        }
        return List.copyOf(out);
    }

    /** "raw and qcow2 are supported": the formats that have a planner, in code order. */
    static String supportedList() {
        List<String> names = All.PLANNERS.keySet().stream().map(ImageFormat::qemuName).distinct().toList();
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

    /** The checks a format's capabilities imply, after {@link #checkCommon}. */
    public static void checkCapabilities(Capabilities c, long currentSize, ResizeRequest request)
            throws ResizeError {
        long total = request.newSize();
        if (!c.offers(request.preallocation())) {
            throw new ResizeError(ErrorCode.PREALLOCATION_UNSUPPORTED,
                    "Unsupported preallocation mode: " + request.preallocation().qemuName());
        }
        if (total < currentSize && !c.shrink()) {
            throw new ResizeError(ErrorCode.UNSUPPORTED_SHRINK, "this format cannot be shrunk");
        }
        if (!c.roundsUp() && total % c.sizeMultiple() != 0) {
            throw new ResizeError(ErrorCode.INVALID_NEW_SIZE, "The new size must be " + c.sizeRule());
        }
        if (c.round(total) > c.maxSize()) {
            throw new ResizeError(ErrorCode.INVALID_NEW_SIZE, c.tooLarge());
        }
    }

    /** The action a size change amounts to. */
    public static ResizeAction actionFor(long oldSize, long newSize) {
        if (newSize > oldSize) {
            return ResizeAction.GROW;
        }
        return newSize < oldSize ? ResizeAction.SHRINK : ResizeAction.NOOP;
    }
}
