package org.diskplan.app.fx.model;

import java.nio.file.Path;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.ReadOnlyStringWrapper;
import org.diskplan.planner.ResizePlan;

/** The hex diff under the timeline: the selected step's bytes before and after, read in the background. */
public final class PatchDiffModel {
    private final Workers workers;
    private final Workers.Generation generation = new Workers.Generation();
    private final ReadOnlyObjectWrapper<PatchDiff> diff = new ReadOnlyObjectWrapper<>(this, "diff", PatchDiff.EMPTY);
    private final ReadOnlyStringWrapper error = new ReadOnlyStringWrapper(this, "error", "");

    public PatchDiffModel(Workers workers) {
        this.workers = workers;
    }

    public ReadOnlyObjectProperty<PatchDiff> diffProperty() {
        return diff.getReadOnlyProperty();
    }

    public ReadOnlyStringProperty errorProperty() {
        return error.getReadOnlyProperty();
    }

    /** Shows step {@code step} of {@code plan} on {@code file}; the final-length step and no step show nothing. */
    public void show(Path file, ResizePlan plan, int step) {
        long g = generation.next();
        if (file == null || plan == null || step < 0 || step >= plan.patches().size()) {
            diff.set(PatchDiff.EMPTY);
            return;
        }
        workers.run(() -> PatchDiff.read(file, plan, step), d -> {
            if (generation.isCurrent(g)) {
                diff.set(d);
                error.set("");
            }
        }, e -> {
            if (generation.isCurrent(g)) {
                diff.set(PatchDiff.EMPTY);
                error.set("Could not read the bytes under step " + step + ": " + e.getMessage());
            }
        });
    }
}
