package org.diskplan.planner;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.TreeSet;
import org.diskplan.abi.ErrorCode;
import org.diskplan.abi.ImageFormat;
import org.diskplan.abi.ResizeAction;
import org.diskplan.probe.RegionKind;

// No lambdas or streams here: this class runs on the command line's start-up path (see ReadWatch / issue 20).
/**
 * Builds a {@link ResizePlan} phase by phase. A planner says what to write and in
 * which order; the builder numbers the steps, puts the barriers between phases and
 * marks the commit, and {@link #build} checks the invariants every plan must hold:
 * <ul>
 *   <li>exactly one commit step;</li>
 *   <li>an append or an extension starts exactly at its target's end at that moment,
 *       every other patch at or before it, except an overwrite, which may start past it
 *       (the gap reads as zeros); a copy reads inside its source;</li>
 *   <li>no two steps of one phase (the steps between two barriers) touch the same bytes
 *       of a file, so a crash inside a phase cannot leave a mix that depends on
 *       the order the disk wrote them in;</li>
 *   <li>a copy reads bytes no earlier step has written (it moves the file's own data).</li>
 * </ul>
 * A broken invariant is a planner bug: {@link #build} refuses the plan, nothing is written.
 */
public final class PlanBuilder {
    private final ImageFormat format;
    private final FormatOptions options;
    private final ResizeRequest request;
    private final List<PlanFile> files = new ArrayList<>();
    /** Each file's length after the patches added so far. */
    private final List<Long> lengths = new ArrayList<>();
    private final List<Long> finalLengths = new ArrayList<>();
    private final List<Boolean> removed = new ArrayList<>();
    private final List<ResizePatch> patches = new ArrayList<>();
    private final TreeSet<Integer> barriers = new TreeSet<>();
    private final List<String> notes = new ArrayList<>();
    private int commit = -1;
    private boolean commitAtFinalStep;

    /** A plan for the image at {@code path}, {@code length} bytes long now. */
    public PlanBuilder(ImageFormat format, FormatOptions options, ResizeRequest request, Path path, long length) {
        this.format = format;
        this.options = options;
        this.request = request;
        add(new PlanFile(path, PlanFile.Role.IMAGE, length, length, false));
    }

    private int add(PlanFile f) {
        files.add(f);
        lengths.add(f.oldLength());
        finalLengths.add(-1L);
        removed.add(false);
        return files.size() - 1;
    }

    /** Another existing file the plan changes; returns its index for patches. */
    public int file(Path path, PlanFile.Role role, long length) {
        return add(new PlanFile(path, role, length, length, false));
    }

    /** A file the plan creates (empty at first); returns its index for patches. */
    public int createFile(Path path, PlanFile.Role role) {
        return add(new PlanFile(path, role, 0, 0, true));
    }

    /** The length of {@code file} after the patches added so far. */
    public long length(int file) {
        return lengths.get(file);
    }

    /** Steps added so far (the index the next patch gets). */
    public int size() {
        return patches.size();
    }

    /** Adds one patch, without a barrier after it. */
    public PlanBuilder add(ResizePatch p) {
        patches.add(p);
        lengths.set(p.file(), Math.max(lengths.get(p.file()), p.end()));
        return this;
    }

    /** Ends the current phase: the applier flushes after the last step added. */
    public PlanBuilder barrier() {
        if (!patches.isEmpty()) {
            barriers.add(patches.size() - 1);
        }
        return this;
    }

    /** Adds the patches as one phase (a barrier after them); nothing for an empty list. */
    public PlanBuilder phase(List<? extends ResizePatch> phase) {
        if (!phase.isEmpty()) {
            for (ResizePatch p : phase) {
                add(p);
            }
            barrier();
        }
        return this;
    }

    /**
     * Adds new structures as one phase, in offset order per file, lengthening the file
     * sparsely over any gap before each; a sparse extension that starts inside the file
     * as it then is keeps only its part past the end.
     */
    public PlanBuilder freshPhase(List<? extends ResizePatch> fresh) {
        List<ResizePatch> sorted = new ArrayList<>(fresh);
        sorted.sort(PatchOrder.INSTANCE);
        List<ResizePatch> out = new ArrayList<>();
        long[] length = new long[lengths.size()];
        for (int i = 0; i < length.length; i++) {
            length[i] = lengths.get(i);
        }
        for (ResizePatch p : sorted) {
            int f = p.file();
            if (p.offset() > length[f]) {
                out.add(new ResizePatch.Extend(f, length[f], p.offset() - length[f],
                        "extend the file to the next new structure", RegionKind.FREE));
                length[f] = p.offset();
            }
            if (p instanceof ResizePatch.Extend x && x.offset() < length[f]) {
                if (x.end() > length[f]) {
                    out.add(new ResizePatch.Extend(f, length[f], x.end() - length[f], x.label(), x.region()));
                }
            } else {
                out.add(p);
            }
            length[f] = Math.max(length[f], p.end());
        }
        return phase(out);
    }

    /** Adds {@code p} as the commit step, a phase of its own; returns its step. */
    public int commit(ResizePatch p) {
        requireNoCommit();
        barrier();
        add(p);
        commit = patches.size() - 1;
        barrier();
        return commit;
    }

    /** Marks step {@code step}, already added, as the commit: the applier flushes after it. */
    public int commitAt(int step) {
        requireNoCommit();
        if (step < 0 || step >= patches.size()) {
            throw new IllegalStateException("no step " + step + " to commit");
        }
        commit = step;
        barriers.add(step);
        return commit;
    }

    /** The image takes its new size at the final-length step (raw: the size is the length). */
    public PlanBuilder commitAtFinalStep() {
        requireNoCommit();
        commitAtFinalStep = true;
        return this;
    }

    private void requireNoCommit() {
        if (commit >= 0 || commitAtFinalStep) {
            throw new IllegalStateException("the plan has a commit step already");
        }
    }

    /** The final length of {@code file} (by default: its length after the last patch). */
    public PlanBuilder finalLength(int file, long length) {
        finalLengths.set(file, length);
        return this;
    }

    /**
     * Removes {@code file}, an existing file other than the image (an extent wholly past a
     * shrink's new end), at the final step: after every patch and the commit, the
     * applier renames it aside and deletes it once the resize is complete; {@code recover}
     * puts it back byte for byte. No patch may touch it.
     */
    public PlanBuilder removeFile(int file) {
        if (file == ResizePatch.IMAGE || files.get(file).created()) {
            throw new IllegalArgumentException("only another existing file can be removed: " + files.get(file).path());
        }
        removed.set(file, true);
        return this;
    }

    public PlanBuilder note(String note) {
        notes.add(note);
        return this;
    }

    /** A plan that changes nothing. */
    public static ResizePlan noop(ImageFormat format, FormatOptions options, ResizeRequest request, Path path,
                                  long length, long virtualSize) throws ResizeError {
        return new PlanBuilder(format, options, request, path, length).commitAtFinalStep()
                .build(ResizeAction.NOOP, virtualSize, virtualSize);
    }

    /** Checks the invariants and returns the plan. */
    public ResizePlan build(ResizeAction action, long oldVirtualSize, long newVirtualSize) throws ResizeError {
        if (commit < 0 && !commitAtFinalStep) {
            throw broken("it has no commit step");
        }
        List<PlanFile> out = new ArrayList<>();
        for (int i = 0; i < files.size(); i++) {
            if (removed.get(i)) {
                if (finalLengths.get(i) >= 0 || lengths.get(i) != files.get(i).oldLength()) {
                    throw broken("file " + files.get(i).path() + " is removed but also lengthened or cut");
                }
                out.add(files.get(i).asRemoved());
                continue;
            }
            long fin = finalLengths.get(i) >= 0 ? finalLengths.get(i) : lengths.get(i);
            out.add(files.get(i).withNewLength(fin));
        }
        checkSteps();
        return new ResizePlan(format, options, action, oldVirtualSize, newVirtualSize, request, out, patches,
                commitAtFinalStep ? patches.size() : commit, barriers, List.of(), notes);
    }

    /** Replays the steps over the files' lengths and checks each against the invariants. */
    private void checkSteps() throws ResizeError {
        long[] length = new long[files.size()];
        for (int i = 0; i < length.length; i++) {
            length[i] = files.get(i).oldLength();
        }
        List<Span> written = new ArrayList<>();
        List<Span> phase = new ArrayList<>();
        for (int i = 0; i < patches.size(); i++) {
            ResizePatch p = patches.get(i);
            if (p.file() >= files.size()) {
                throw broken("step " + i + " (" + p.label() + ") names file " + p.file() + " of " + files.size());
            }
            long end = length[p.file()];
            if (removed.get(p.file())) {
                throw broken("step " + i + " (" + p.label() + ") writes " + files.get(p.file()).path()
                        + ", which the plan removes");
            }
            if (!p.startsValidly(end)) {
                throw broken("step " + i + " (" + p.label() + ") starts at " + p.offset() + " but "
                        + files.get(p.file()).path() + " will end at " + end);
            }
            if (p instanceof ResizePatch.Copy c) {
                if (c.sourceFile() >= files.size() || c.sourceEnd() > length[c.sourceFile()]) {
                    throw broken("step " + i + " (" + p.label() + ") copies from outside its source file");
                }
                Span src = new Span(c.sourceFile(), c.source(), c.sourceEnd(), i);
                if (src.overlaps(new Span(c.file(), c.offset(), c.end(), i))) {
                    throw broken("step " + i + " (" + p.label() + ") copies onto its own source");
                }
                for (Span w : written) {
                    if (w.overlaps(src)) {
                        throw broken("step " + i + " (" + p.label() + ") copies bytes step " + w.step
                                + " wrote");
                    }
                }
            }
            Span span = new Span(p.file(), p.offset(), p.end(), i);
            phase.add(span);
            written.add(span);
            length[p.file()] = Math.max(end, p.end());
            if (barriers.contains(i) || i == commit || i == patches.size() - 1) {
                checkPhase(phase);
                phase.clear();
            }
        }
    }

    /** No two steps of one phase touch the same bytes of a file. */
    private void checkPhase(List<Span> phase) throws ResizeError {
        phase.sort(SpanOrder.INSTANCE);
        for (int k = 1; k < phase.size(); k++) {
            Span a = phase.get(k - 1);
            Span b = phase.get(k);
            if (a.overlaps(b)) {
                throw broken("steps " + Math.min(a.step, b.step) + " and " + Math.max(a.step, b.step)
                        + " of one phase touch the same bytes (" + patches.get(b.step).label() + ")");
            }
        }
    }

    private record Span(int file, long from, long to, int step) {
        boolean overlaps(Span o) {
            return file == o.file && from < o.to && o.from < to;
        }
    }

    /** Patches by file, then by offset. */
    private static final class PatchOrder implements Comparator<ResizePatch> {
        static final PatchOrder INSTANCE = new PatchOrder();

        @Override
        public int compare(ResizePatch a, ResizePatch b) {
            int c = Integer.compare(a.file(), b.file());
            return c != 0 ? c : Long.compare(a.offset(), b.offset());
        }
    }

    /** Spans by file, then by start. */
    private static final class SpanOrder implements Comparator<Span> {
        static final SpanOrder INSTANCE = new SpanOrder();

        @Override
        public int compare(Span a, Span b) {
            int c = Integer.compare(a.file, b.file);
            return c != 0 ? c : Long.compare(a.from, b.from);
        }
    }

    private ResizeError broken(String what) {
        return new ResizeError(ErrorCode.INVALID_OPTION, "DiskPlan made an inconsistent " + format.displayName()
                + " plan (" + what + "); refusing it, nothing was written");
    }
}
