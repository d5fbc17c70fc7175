package org.diskplan.planner;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;
import org.diskplan.abi.ResizeResult;
import org.diskplan.planner.apply.ApplyOptions;
import org.diskplan.planner.apply.LockedImage;
import org.diskplan.planner.apply.PlanApplier;
import org.diskplan.planner.apply.ResizeCancelled;
import org.diskplan.planner.apply.UndoJournal;
import org.diskplan.probe.ImageProber;
import org.diskplan.probe.ImageReader;
import org.diskplan.probe.ProbeException;
import org.diskplan.probe.ProbedImage;

/**
 * The one way to resize a file, used by the command line, the window, the benchmarks
 * and the tests, so that the lock and journal policy lives here: open (locked for a
 * resize, read-only for a dry run), refuse a file an interrupted resize left a journal
 * beside, probe for the resize, plan, apply.
 *
 * <p>Everything the probe and the planner read is recorded through one
 * {@link PlanReader}, so the plan carries every range it was made from and the applier
 * re-checks them all before writing: a plan made now and applied later (the window) is
 * refused if anything it was built from changed.
 */
public final class ResizeSession implements AutoCloseable {
    private final Path path;
    private final LockedImage locked;
    private final ImageReader file;
    private final PlanReader reader;
    private ProbedImage image;

    private ResizeSession(Path path, LockedImage locked, ImageReader file) {
        this.path = path;
        this.locked = locked;
        this.file = file;
        this.reader = new PlanReader(file);
    }

    /** Opens {@code path} read-write under the resize lock (refused while a journal lies beside it). */
    public static ResizeSession forResize(Path path) throws ResizeError {
        LockedImage locked = LockedImage.open(path, false);
        try {
            return new ResizeSession(path, locked, locked.reader());
        } catch (ResizeError e) {
            locked.close();
            throw e;
        }
    }

    /** Opens {@code path} read-only to plan (refused while a journal lies beside it). */
    public static ResizeSession forPlanning(Path path) throws ResizeError, ProbeException {
        UndoJournal.refuseIfPresent(path);
        return new ResizeSession(path, null, ImageProber.openReader(path));
    }

    /** Probes the file for a resize ({@code driver}: the qemu driver asked for, or empty to detect). */
    public ProbedImage probe(Optional<String> driver) throws ProbeException {
        image = ImageProber.probeForResize(path, reader.probeView(), driver);
        return image;
    }

    /** The image {@link #probe} found. */
    public ProbedImage image() {
        if (image == null) {
            throw new IllegalStateException("probe first");
        }
        return image;
    }

    /** Plans the resize of the probed image. */
    public ResizePlan plan(ResizeRequest request) throws ResizeError {
        return Planners.plan(image(), reader, request);
    }

    /** Applies {@code plan} under this session's lock. */
    public ResizeResult apply(ResizePlan plan, ApplyOptions options) throws ResizeError, ResizeCancelled {
        if (locked == null) {
            throw new IllegalStateException("a planning session cannot apply");
        }
        return PlanApplier.apply(locked, plan, options);
    }

    /** Opens, locks and applies a plan made earlier (the window's Apply); refused if the file changed. */
    public static ResizeResult applyLater(Path path, ResizePlan plan, ApplyOptions options)
            throws ResizeError, ResizeCancelled {
        return PlanApplier.apply(path, plan, options);
    }

    /** Probes and plans {@code path} read-only in one go; {@code request} sees the probed image. */
    public static <X extends Exception> ResizePlan planFile(Path path, Optional<String> driver, RequestFor<X> request)
            throws ResizeError, ProbeException, X {
        try (ResizeSession s = forPlanning(path)) {
            return s.plan(request.of(s.probe(driver)));
        }
    }

    /** Probes, plans and applies {@code path} under one lock. */
    public static <X extends Exception> ResizeResult resizeFile(Path path, Optional<String> driver,
                                                                RequestFor<X> request, ApplyOptions options)
            throws ResizeError, ProbeException, ResizeCancelled, X {
        try (ResizeSession s = forResize(path)) {
            return s.apply(s.plan(request.of(s.probe(driver))), options);
        }
    }

    /** The request for a probed image (a size relative to the current one, say). */
    @FunctionalInterface
    public interface RequestFor<X extends Exception> {
        ResizeRequest of(ProbedImage image) throws X;
    }

    @Override
    public void close() {
        if (locked != null) {
            locked.close();
        } else {
            try {
                file.close();
            } catch (IOException ignored) {
                // a read-only file: nothing was written
            }
        }
    }

}
