package org.diskplan.app.fx.model;

import java.util.List;
import java.util.Locale;
import javafx.beans.property.DoubleProperty;
import javafx.beans.property.IntegerProperty;
import javafx.beans.property.ObjectProperty;
import javafx.beans.property.SimpleDoubleProperty;
import javafx.beans.property.SimpleIntegerProperty;
import javafx.beans.property.SimpleObjectProperty;
import org.diskplan.planner.ResizePatch;
import org.diskplan.planner.ResizePlan;

/**
 * The plan timeline's state and geometry, without drawing: the steps of a plan
 * (every patch, then the final-length step) in apply order, one slot each on the
 * time axis; bar heights by bytes on a log scale; the file end after each step;
 * zoom, scroll, hover and selection. The canvas view draws what this says.
 */
public final class TimelineModel {
    /** Slot width at zoom 1, in pixels. */
    public static final double SLOT = 24;
    public static final double MIN_ZOOM = 1e-4;
    public static final double MAX_ZOOM = 8;
    /** Widest slot when a short plan is fitted to the view. */
    public static final double FIT_SLOT = 96;

    /** What a step does; the timeline colours by it. */
    public enum Kind { WRITE, APPEND, ZERO, LENGTH }

    private final ObjectProperty<ResizePlan> plan = new SimpleObjectProperty<>(this, "plan");
    private final DoubleProperty zoom = new SimpleDoubleProperty(this, "zoom", 1);
    private final DoubleProperty scroll = new SimpleDoubleProperty(this, "scroll", 0);
    private final IntegerProperty hover = new SimpleIntegerProperty(this, "hover", -1);
    private final IntegerProperty selected = new SimpleIntegerProperty(this, "selected", -1);
    private double width = 800;

    // Per step, precomputed when the plan changes.
    private Kind[] kinds = new Kind[0];
    private double[] heights = new double[0];
    private long[] offsets = new long[0];
    private long[] lengths = new long[0];
    private long[] endAfter = new long[0];
    private long fileMax = 1;
    private int[] files = new int[0];
    private List<String> laneNames = List.of();
    private boolean[] laneLengthChanges = new boolean[0];

    public TimelineModel() {
        // An invalidation listener registered first: the geometry is rebuilt before any
        // binding on the plan (which JavaFX notifies before change listeners) reads it.
        plan.addListener(o -> rebuild(plan.get()));
    }

    public ObjectProperty<ResizePlan> planProperty() {
        return plan;
    }

    public DoubleProperty zoomProperty() {
        return zoom;
    }

    public DoubleProperty scrollProperty() {
        return scroll;
    }

    public IntegerProperty hoverProperty() {
        return hover;
    }

    public IntegerProperty selectedProperty() {
        return selected;
    }

    private void rebuild(ResizePlan p) {
        int n = p == null ? 0 : p.patches().size() + 1;
        kinds = new Kind[n];
        heights = new double[n];
        offsets = new long[n];
        lengths = new long[n];
        endAfter = new long[n];
        files = new int[n];
        fileMax = 1;
        laneNames = p == null || p.files().size() < 2 ? List.of()
                : p.files().stream().map(f -> f.path().getFileName().toString()).toList();
        laneLengthChanges = new boolean[laneNames.size()];
        for (int f = 0; f < laneNames.size(); f++) {
            var pf = p.files().get(f);
            laneLengthChanges[f] = pf.newLength() != pf.oldLength() || pf.created() || pf.removed();
        }
        if (p != null) {
            long end = p.oldFileSize();
            double maxLog = 1;
            for (int i = 0; i < n; i++) {
                long len;
                if (i < p.patches().size()) {
                    ResizePatch patch = p.patches().get(i);
                    kinds[i] = switch (patch.kind()) {
                        case APPEND -> Kind.APPEND;
                        case ZERO_FILL, RESERVE, EXTEND -> Kind.ZERO;
                        case WRITE, COPY -> Kind.WRITE;
                    };
                    offsets[i] = patch.offset();
                    files[i] = patch.file();
                    len = patch.length();
                    if (patch.file() == ResizePatch.IMAGE) {
                        end = Math.max(end, patch.end());
                    }
                } else {
                    kinds[i] = Kind.LENGTH;
                    files[i] = -1;
                    offsets[i] = p.newFileSize();
                    len = 0;
                    end = p.newFileSize();
                }
                lengths[i] = len;
                endAfter[i] = end;
                heights[i] = Math.log1p(len);
                maxLog = Math.max(maxLog, heights[i]);
                fileMax = Math.max(fileMax, end);
            }
            fileMax = Math.max(fileMax, p.oldFileSize());
            for (int i = 0; i < n; i++) {
                heights[i] = kinds[i] == Kind.LENGTH ? 1 : 0.15 + 0.85 * heights[i] / maxLog;
            }
        }
        hover.set(-1);
        selected.set(-1);
        fit();
    }

    /** Number of steps (patches + the final-length step); 0 without a plan. */
    public int steps() {
        return kinds.length;
    }

    public Kind kind(int step) {
        return kinds[step];
    }

    /** Bar height in 0..1 (log of the bytes, relative to the largest patch). */
    public double height(int step) {
        return heights[step];
    }

    public long offset(int step) {
        return offsets[step];
    }

    public long length(int step) {
        return lengths[step];
    }

    /** The file length once the step is done. */
    public long fileEndAfter(int step) {
        return endAfter[step];
    }

    /** The largest file length the plan reaches (the file track's scale). */
    public long fileMax() {
        return fileMax;
    }

    public long oldFileSize() {
        return plan.get() == null ? 0 : plan.get().oldFileSize();
    }

    /** The commit step, or -1 without a plan. */
    public int commit() {
        return plan.get() == null ? -1 : plan.get().commitIndex();
    }

    /** The view's width in pixels; keeps the scroll inside the content. */
    public void setWidth(double w) {
        width = Math.max(1, w);
        clampScroll();
    }

    public double width() {
        return width;
    }

    public double slot() {
        return SLOT * zoom.get();
    }

    public double contentWidth() {
        return steps() * slot();
    }

    /** Left edge of a step's slot in view pixels. */
    public double x(int step) {
        return step * slot() - scroll.get();
    }

    /** The step under view x, or -1. */
    public int stepAt(double viewX) {
        if (steps() == 0) {
            return -1;
        }
        int s = (int) Math.floor((viewX + scroll.get()) / slot());
        return s >= 0 && s < steps() ? s : -1;
    }

    /** First and one-past-last step with a slot in view. */
    public int[] visible() {
        int first = (int) Math.min(steps(), Math.max(0, Math.floor(scroll.get() / slot())));
        int last = (int) Math.min(steps(), Math.ceil((scroll.get() + width) / slot()) + 1);
        return new int[] {first, Math.max(first, last)};
    }

    /** Zooms by {@code factor}, keeping the point under view x still. */
    public void zoomBy(double factor, double anchorX) {
        double before = (anchorX + scroll.get()) / slot();
        zoom.set(Math.max(minZoom(), Math.min(MAX_ZOOM, zoom.get() * factor)));
        scroll.set(before * slot() - anchorX);
        clampScroll();
    }

    /**
     * Zooms by {@code factor} from the keyboard: around the selected step when there is
     * one (which stays in view), else around the middle of the view.
     */
    public void zoomKeepingSelection(double factor) {
        int s = selected.get();
        if (s < 0 || s >= steps()) {
            zoomBy(factor, width / 2);
            return;
        }
        zoomBy(factor, Math.max(0, Math.min(width, x(s) + slot() / 2)));
        select(s);
    }

    public void scrollBy(double pixels) {
        scroll.set(scroll.get() + pixels);
        clampScroll();
    }

    /** Zoom that fits the whole plan into the width, with slots at most {@link #FIT_SLOT} wide. */
    private double fitZoom() {
        return steps() == 0 ? 1 : Math.max(MIN_ZOOM, Math.min(FIT_SLOT / SLOT, width / (steps() * SLOT)));
    }

    /** Fits the whole plan into the width. */
    public void fit() {
        scroll.set(0);
        zoom.set(fitZoom());
    }

    private double minZoom() {
        return Math.min(1, fitZoom());
    }

    private void clampScroll() {
        double max = Math.max(0, contentWidth() - width);
        scroll.set(Math.max(0, Math.min(max, scroll.get())));
    }

    /** Selects a step and scrolls it into view. */
    public void select(int step) {
        if (steps() == 0) {
            return;
        }
        int s = Math.max(0, Math.min(steps() - 1, step));
        selected.set(s);
        if (x(s) < 0) {
            scroll.set(s * slot());
        } else if (x(s) + slot() > width) {
            scroll.set((s + 1) * slot() - width);
        }
        clampScroll();
    }

    /**
     * Lanes of the per-file track: one per file of a plan that writes more than one file
     * (a multi-file VMDK), none for a one-file plan.
     */
    public int lanes() {
        return laneNames.size();
    }

    /** The file name of lane {@code lane}. */
    public String laneName(int lane) {
        return laneNames.get(lane);
    }

    /** The file (lane) step {@code step} writes; -1 for the final step, which sets the files' lengths. */
    public int file(int step) {
        return files[step];
    }

    /** Whether the final step changes the length of the file of lane {@code lane} (also: creates or removes it). */
    public boolean lengthChanges(int lane) {
        return laneLengthChanges[lane];
    }

    /** The hover text for a step: "step 3 · write · 0x10000 + 64 KiB · L1 table". */
    public String describe(int step) {
        ResizePlan p = plan.get();
        if (p == null || step < 0 || step >= steps()) {
            return "";
        }
        String commitNote = step == p.commitIndex() ? " · commit: the image shows the new size after this step" : "";
        if (kinds[step] == Kind.LENGTH) {
            return String.format(Locale.ROOT, "step %d · set the file length to %s%s", step,
                    SizeText.exact(p.newFileSize()), commitNote);
        }
        ResizePatch patch = p.patches().get(step);
        String file = patch.file() == ResizePatch.IMAGE ? ""
                : " of " + p.files().get(patch.file()).path().getFileName();
        return String.format(Locale.ROOT, "step %d · %s · offset %s%s, %s · %s%s", step, patch.kind().word(),
                SizeText.hex(patch.offset()), file, SizeText.exact(patch.length()), patch.label(), commitNote);
    }
}
