package org.diskplan.app.fx.model;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import javafx.beans.property.BooleanProperty;
import javafx.beans.property.DoubleProperty;
import javafx.beans.property.ObjectProperty;
import javafx.beans.property.ReadOnlyBooleanProperty;
import javafx.beans.property.ReadOnlyBooleanWrapper;
import javafx.beans.property.ReadOnlyDoubleProperty;
import javafx.beans.property.ReadOnlyDoubleWrapper;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.beans.property.SimpleBooleanProperty;
import javafx.beans.property.SimpleDoubleProperty;
import javafx.beans.property.SimpleObjectProperty;
import javafx.beans.property.SimpleStringProperty;
import javafx.beans.property.StringProperty;
import org.diskplan.abi.Preallocation;
import org.diskplan.planner.Capabilities;
import org.diskplan.planner.Planners;
import org.diskplan.planner.ResizeError;
import org.diskplan.planner.ResizePlan;
import org.diskplan.planner.ResizeSession;
import org.diskplan.planner.ResizeRequest;
import org.diskplan.planner.SizeArgument;
import org.diskplan.planner.SizeSyntaxException;



import org.diskplan.probe.ProbedImage;

/**
 * The resize panel: the size as typed (the CLI's grammar), the shrink box, the
 * preallocation mode, and what they give: the CLI's error words, or a plan made
 * by the same planner the CLI calls. Every edit plans again in the background; a
 * late plan for an older edit is dropped.
 */
public final class ResizeModel {
    private final Workers workers;
    private final Workers.Generation generation = new Workers.Generation();
    private final ReadOnlyObjectWrapper<ProbedImage> image = new ReadOnlyObjectWrapper<>(this, "image");
    private final StringProperty sizeText = new SimpleStringProperty(this, "sizeText", "");
    private final BooleanProperty shrink = new SimpleBooleanProperty(this, "shrink");
    private final ObjectProperty<Preallocation> preallocation =
            new SimpleObjectProperty<>(this, "preallocation", Preallocation.OFF);
    private final ReadOnlyStringWrapper error = new ReadOnlyStringWrapper(this, "error", "");
    private final ReadOnlyStringWrapper hint = new ReadOnlyStringWrapper(this, "hint", "");
    private final ReadOnlyStringWrapper note = new ReadOnlyStringWrapper(this, "note", "");
    private final ReadOnlyObjectWrapper<ResizePlan> plan = new ReadOnlyObjectWrapper<>(this, "plan");
    /** The preallocation modes the open image's planner offers (every mode while none is open). */
    private final javafx.collections.ObservableList<Preallocation> modes =
            javafx.collections.FXCollections.observableArrayList(Preallocation.values());
    private final ReadOnlyBooleanWrapper planning = new ReadOnlyBooleanWrapper(this, "planning");
    private final ReadOnlyDoubleWrapper sliderMax = new ReadOnlyDoubleWrapper(this, "sliderMax", 1);
    private final ReadOnlyDoubleWrapper sliderStep = new ReadOnlyDoubleWrapper(this, "sliderStep", 1);
    private final DoubleProperty sliderValue = new SimpleDoubleProperty(this, "sliderValue");
    private final ReadOnlyBooleanWrapper noOp = new ReadOnlyBooleanWrapper(this, "noOp");
    private final ReadOnlyObjectWrapper<org.diskplan.probe.HostRanges> cut = new ReadOnlyObjectWrapper<>(this, "cut");
    private boolean syncing;
    private boolean keepRequest;
    private Runnable planShown = () -> { };

    public ResizeModel(Workers workers) {
        this.workers = workers;
        sizeText.addListener((o, a, b) -> replan());
        shrink.addListener((o, a, b) -> {
            if (!syncing) {
                replan();
            }
        });
        preallocation.addListener((o, a, b) -> replan());
        sliderValue.addListener((o, a, b) -> {
            if (!syncing) {
                long step = (long) sliderStep.get();
                long bytes = Math.max(step, Math.round(b.doubleValue() / step) * step);
                sizeText.set(SizeText.grammar(bytes));
            }
        });
    }

    /**
     * The next {@link #setImage} keeps the typed size and the Shrink box (a reload to plan
     * again after the file changed); otherwise a new image clears them.
     */
    public void keepRequestOnNextImage() {
        keepRequest = true;
    }

    /** A new image: clears the request (and unticks Shrink) and sets the slider's range. */
    public void setImage(ProbedImage img) {
        boolean keep = keepRequest;
        keepRequest = false;
        image.set(img);
        List<Preallocation> offered = img == null ? List.of(Preallocation.values())
                : Planners.capabilities(img).map(c -> Arrays.stream(Preallocation.values()).filter(c::offers)
                        .toList()).orElse(List.of(Preallocation.values()));
        if (!offered.contains(preallocation.get())) {
            preallocation.set(Preallocation.OFF);
        }
        if (!modes.equals(offered)) {
            modes.setAll(offered);
        }
        long current = img == null ? 0 : img.virtualSize();
        long unit = current >= 1L << 30 ? 1L << 30 : 1L << 20;
        sliderStep.set(unit);
        sliderMax.set(Math.max(4.0 * current, current + 64.0 * unit));
        syncing = true;
        sliderValue.set(current);
        syncing = false;
        if (keep) {
            replan();
            return;
        }
        syncing = true; // one replan below, not one per property
        shrink.set(false);
        syncing = false;
        if (sizeText.get().isEmpty()) {
            replan();
        } else {
            sizeText.set("");
        }
    }

    /** The preallocation modes to offer: the open image's planner's, from its capabilities. */
    public javafx.collections.ObservableList<Preallocation> modes() {
        return javafx.collections.FXCollections.unmodifiableObservableList(modes);
    }

    public ReadOnlyObjectProperty<ProbedImage> imageProperty() {
        return image.getReadOnlyProperty();
    }

    public StringProperty sizeTextProperty() {
        return sizeText;
    }

    public BooleanProperty shrinkProperty() {
        return shrink;
    }

    public ObjectProperty<Preallocation> preallocationProperty() {
        return preallocation;
    }

    /** The CLI's message for the current input, or empty. */
    public ReadOnlyStringProperty errorProperty() {
        return error.getReadOnlyProperty();
    }

    /** Lines the CLI prints after the message (the suffix help, the shrink warning). */
    public ReadOnlyStringProperty hintProperty() {
        return hint.getReadOnlyProperty();
    }

    /** "You asked for X; the image will be Y" when the format rounds. */
    public ReadOnlyStringProperty noteProperty() {
        return note.getReadOnlyProperty();
    }

    public ReadOnlyObjectProperty<ResizePlan> planProperty() {
        return plan.getReadOnlyProperty();
    }

    /** True when the plan changes nothing (the image already has the size asked for): no Apply. */
    public ReadOnlyBooleanProperty noOpProperty() {
        return noOp.getReadOnlyProperty();
    }

    /**
     * While a shrink is planned: the file bytes holding the allocated data past the new end
     * (read from the block map off the FX thread; for raw, the file's tail); null for a grow, or
     * when the image does not say where its data lies.
     */
    public ReadOnlyObjectProperty<org.diskplan.probe.HostRanges> cutProperty() {
        return cut.getReadOnlyProperty();
    }

    public ReadOnlyBooleanProperty planningProperty() {
        return planning.getReadOnlyProperty();
    }

    public ReadOnlyDoubleProperty sliderMaxProperty() {
        return sliderMax.getReadOnlyProperty();
    }

    public ReadOnlyDoubleProperty sliderStepProperty() {
        return sliderStep.getReadOnlyProperty();
    }

    public DoubleProperty sliderValueProperty() {
        return sliderValue;
    }

    /** Called (on the UI thread) each time a new plan is shown; the benchmark times it. */
    public void setOnPlanShown(Runnable r) {
        planShown = r;
    }

    /** The size the current text asks for, or the current size when it does not parse. */
    public long requestedOrCurrent() {
        ProbedImage img = image.get();
        long current = img == null ? 0 : img.virtualSize();
        try {
            long asked = SizeArgument.parse(sizeText.get().strip()).resolve(current);
            return asked > 0 ? asked : current;
        } catch (SizeSyntaxException e) {
            return current;
        }
    }

    /** Quick button: adds {@code bytes} to the size asked for (or the current size). */
    public void add(long bytes) {
        sizeText.set(SizeText.grammar(requestedOrCurrent() + bytes));
    }

    /** Quick button ×2. */
    public void twice() {
        sizeText.set(SizeText.grammar(requestedOrCurrent() * 2));
    }

    /** Plans again for the current input. */
    public void replan() {
        long g = generation.next();
        plan.set(null);
        cut.set(null);
        noOp.set(false);
        note.set("");
        ProbedImage img = image.get();
        String text = sizeText.get() == null ? "" : sizeText.get().strip();
        if (img == null || text.isEmpty()) {
            error.set("");
            hint.set("");
            planning.set(false);
            return;
        }
        ResizeRequest request;
        try {
            SizeArgument size = SizeArgument.parse(text);
            request = new ResizeRequest(size.resolve(img.virtualSize()), shrink.get(), preallocation.get());
            Planners.checkCommon(img.virtualSize(), request);
            Optional<Capabilities> caps = Planners.capabilities(img);
            if (caps.isPresent()) {
                Planners.checkCapabilities(caps.get(), img.virtualSize(), request);
            }
            hint.set(String.join("\n", size.warnings()));
            note.set(asked(request.newSize(), Planners.effectiveSize(img, request.newSize())));
        } catch (SizeSyntaxException e) {
            fail(WindowWords.sizeError(text, e), WindowWords.SIZE_HELP);
            return;
        } catch (ResizeError e) {
            fail(WindowWords.resizeError(e, img.virtualSize(), askedOrZero(text, img.virtualSize())), "");
            return;
        }
        syncing = true;
        sliderValue.set(request.newSize());
        syncing = false;
        error.set("");
        planning.set(true);
        Path path = img.path();
        workers.run(() -> plan(img, path, request), p -> {
            if (!generation.isCurrent(g)) {
                return;
            }
            planning.set(false);
            noOp.set(p.newVirtualSize() == p.oldVirtualSize() && p.newFileSize() == p.oldFileSize());
            plan.set(p);
            hint.set(p.newVirtualSize() < p.oldVirtualSize()
                    ? WindowWords.shrinkHint(p.oldVirtualSize(), p.newVirtualSize()) : "");
            note.set(noOp.get() ? WindowWords.NO_OP : asked(request.newSize(), p.newVirtualSize()));
            planShown.run();
            if (p.newVirtualSize() < p.oldVirtualSize()) {
                // reading the block map is file I/O: off the FX thread
                workers.run(() -> org.diskplan.probe.GuestAllocations.hosts(img, p.newVirtualSize(),
                        p.oldVirtualSize()).orElse(null), h -> {
                            if (generation.isCurrent(g)) {
                                cut.set(h);
                            }
                        }, e -> { });
            }
        }, e -> {
            if (generation.isCurrent(g)) {
                planning.set(false);
                if (e instanceof ResizeError r) {
                    fail(WindowWords.resizeError(r, img.virtualSize(), request.newSize()), "");
                } else if (e instanceof org.diskplan.probe.ReadWatch.Timeout t) {
                    fail("Could not plan: " + WindowWords.noAnswer(t), "");
                } else {
                    fail("Could not plan: " + WindowWords.sentence(String.valueOf(e.getMessage())), "");
                }
            }
        });
    }

    private static long askedOrZero(String text, long current) {
        try {
            return SizeArgument.parse(text).resolve(current);
        } catch (SizeSyntaxException e) {
            return 0;
        }
    }

    /** "You asked for X; the image will be Y." where the format rounds the size. */
    private static String asked(long requested, long effective) {
        return effective != requested ? "You asked for " + SizeText.exact(requested) + "; the image will be "
                + SizeText.exact(effective) + "." : "";
    }

    private void fail(String message, String extra) {
        planning.set(false);
        error.set(message);
        hint.set(extra);
    }

    /** Plans as `diskplan plan` does (blocking: reads the file). */
    static ResizePlan plan(ProbedImage img, Path path, ResizeRequest request) throws Exception {
        return ResizeSession.planFile(path, Optional.of(img.format().qemuName()), probed -> request);
    }
}
