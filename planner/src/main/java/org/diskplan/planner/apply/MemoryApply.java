package org.diskplan.planner.apply;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.diskplan.planner.PlanFile;
import org.diskplan.planner.ResizePatch;
import org.diskplan.planner.ResizePatch.Copy;
import org.diskplan.planner.ResizePatch.Write;
import org.diskplan.planner.ResizePlan;

/**
 * Applies a plan to files in memory, one step at a time, with the applier's rules
 * (an append or extension exactly at the end, nothing past it): the state after every
 * prefix of a plan, for contract tests and for showing a step's "before" as the
 * earlier steps leave the file.
 */
public final class MemoryApply {
    private final ResizePlan plan;
    private final List<MemoryFile> files;
    private int next;

    private MemoryApply(ResizePlan plan, List<MemoryFile> files) {
        this.plan = plan;
        this.files = files;
    }

    /** The plan's files as they are on disk now (files the plan creates start empty). */
    public static MemoryApply load(ResizePlan plan, Path image) throws IOException {
        List<MemoryFile> files = new ArrayList<>();
        for (int i = 0; i < plan.files().size(); i++) {
            PlanFile f = plan.files().get(i);
            files.add(f.created() ? new MemoryFile() : MemoryFile.of(i == 0 ? image : f.path()));
        }
        return new MemoryApply(plan, files);
    }

    /** File {@code i} as the steps applied so far leave it. */
    public MemoryFile file(int i) {
        return files.get(i);
    }

    /** The next step to apply ({@code plan.finalStep() + 1} when done). */
    public int next() {
        return next;
    }

    /** Applies the next step: a patch, or the final lengths. */
    public void step() throws IOException {
        if (next > plan.finalStep()) {
            throw new IllegalStateException("the plan is applied");
        }
        if (next == plan.finalStep()) {
            for (int i = 0; i < files.size(); i++) {
                files.get(i).setLength(plan.files().get(i).newLength());
            }
        } else {
            apply(plan.patches().get(next));
        }
        next++;
    }

    private void apply(ResizePatch p) throws IOException {
        MemoryFile f = files.get(p.file());
        if (!p.startsValidly(f.size())) {
            throw new IOException("step " + next + " (" + p.label() + ") at " + p.offset() + " but the file ends at "
                    + f.size());
        }
        if (p instanceof Write w) {
            byte[] data = w.data();
            f.write(w.offset(), data, 0, data.length);
        } else if (p instanceof ResizePatch.Extend x) {
            f.setLength(x.end());
        } else if (p instanceof ResizePatch.ZeroFill z) {
            f.zero(z.offset(), z.length());
        } else if (p instanceof Copy c) {
            byte[] data = new byte[Math.toIntExact(c.length())];
            files.get(c.sourceFile()).readFullyUnchecked(c.source(), data, data.length);
            f.write(c.offset(), data, 0, data.length);
        }
    }
}
