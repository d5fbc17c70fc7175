package org.diskplan.planner.apply;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.diskplan.abi.ErrorCode;
import org.diskplan.abi.ResizeAction;
import org.diskplan.abi.ResizeConfig;
import org.diskplan.abi.ResizeResult;
import org.diskplan.planner.ExpectedBytes;
import org.diskplan.planner.PatchKind;
import org.diskplan.planner.PlanFile;
import org.diskplan.planner.ResizeError;
import org.diskplan.planner.ResizePatch;
import org.diskplan.planner.ResizePatch.Copy;
import org.diskplan.planner.ResizePatch.Write;
import org.diskplan.planner.ResizePatch.ZeroFill;
import org.diskplan.planner.ResizePlan;
import org.diskplan.probe.ImageProber;

// No lambdas or streams here: this class runs on the command line's start-up path (see ReadWatch / issue 20).
/**
 * Writes a plan, knowing nothing of formats: lock every file of the plan, check each
 * is as planned (length and every range the plan was built from), journal the bytes it
 * will overwrite and the files it will create, apply the patches in order with a flush
 * at the barriers and the commit, set every file's final length (the image's last),
 * remove the journal. Any failure before the end rolls every file back from the journal.
 */
public final class PlanApplier {
    /** A long zero fill starts the write-back of every this many bytes as it goes. */
    private static final long WRITE_BACK_EVERY = 8L << 20;
    /** Zeros to write from: direct, so the JDK need not copy each chunk into a native buffer. */
    private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(Io.CHUNK).asReadOnlyBuffer();

    private PlanApplier() {
    }

    /** Opens and locks {@code path}, then applies. */
    public static ResizeResult apply(Path path, ResizePlan plan, ApplyOptions options)
            throws ResizeError, ResizeCancelled {
        try (LockedImage image = LockedImage.open(path, false)) {
            return apply(image, plan, options);
        }
    }

    public static ResizeResult apply(LockedImage image, ResizePlan plan, ApplyOptions options)
            throws ResizeError, ResizeCancelled {
        try (Targets targets = Targets.forPlan(image, plan.files())) {
            return new Run(image, targets, plan, options).run();
        }
    }

    /** One apply: the files, the journal, the progress. */
    private static final class Run {
        final LockedImage image;
        final Targets targets;
        final ResizePlan plan;
        final ApplyOptions options;
        final boolean[] unsynced;
        final long total;
        long done;
        Path journal;

        Run(LockedImage image, Targets targets, ResizePlan plan, ApplyOptions options) {
            this.image = image;
            this.targets = targets;
            this.plan = plan;
            this.options = options;
            this.unsynced = new boolean[plan.files().size()];
            this.total = plan.bytesWritten();
        }

        ResizeResult run() throws ResizeError, ResizeCancelled {
            checkUnchanged(targets, plan);
            List<UndoJournal.Range> saved = journalRanges(plan);
            ResizeConfig config = plan.options().applyTo(ResizeConfig.of(plan.format(), plan.oldVirtualSize(),
                            plan.newVirtualSize(), plan.oldFileSize()))
                    .withShrink(plan.action() == ResizeAction.SHRINK)
                    .withPreallocation(plan.request().preallocation())
                    .withQuiet(false);
            List<UndoJournal.Target> recorded = new ArrayList<>();
            for (int i = 0; i < plan.files().size(); i++) {
                PlanFile f = plan.files().get(i);
                Path real = image.identity().realPath();
                Path stored = i == 0 ? real.getFileName() : Targets.stored(real, f.path());
                recorded.add(new UndoJournal.Target(stored, f.role().ordinal(), f.created(), f.removed(),
                        f.oldLength(), f.newLength()));
            }
            try {
                options.faults().before(IoFaults.Op.JOURNAL, -1);
                journal = UndoJournal.write(image.identity(), config, recorded, saved, new UndoJournal.Source() {
                    @Override
                    public FileChannel channel(int target) {
                        return targets.channel(target);
                    }
                });
                org.diskplan.probe.ReadWatch.journalInPlace(journal);
            } catch (IOException e) {
                throw new ResizeError(ErrorCode.WRITE_FAILED, "cannot write the undo journal beside '" + image.path()
                        + "': " + ImageProber.describe(e) + "; the image was not touched");
            }
            options.afterStep().accept(-1);
            int steps = plan.patches().size() + 1;
            int step = 0;
            try {
                createFiles();
                for (; step < plan.patches().size(); step++) {
                    ResizePatch patch = plan.patches().get(step);
                    if (step <= plan.commitIndex() && options.cancelRequested().getAsBoolean()) {
                        throw cancelled();
                    }
                    options.listener().step(step, steps, patch.label());
                    applyPatch(patch, step <= plan.commitIndex());
                    unsynced[patch.file()] = true;
                    if (plan.barriersAfter().contains(step) || step == plan.commitIndex()) {
                        // fdatasync: the data and what is needed to read it back (the length), as
                        // qemu flushes; the timestamps need no barrier
                        force();
                    }
                    options.afterStep().accept(step);
                }
                if (plan.commitIndex() == step && options.cancelRequested().getAsBoolean()) {
                    throw cancelled();
                }
                options.listener().step(step, steps, "set the file length to " + plan.newFileSize());
                moveRemovedAside();
                setFinalLengths();
                force();
                options.afterStep().accept(step);
            } catch (IOException | FinalLengthFailure e) {
                IOException cause = e instanceof FinalLengthFailure f ? f.io : (IOException) e;
                String what = e instanceof FinalLengthFailure ? "Could not resize file: " + ImageProber.describe(cause)
                        : "writing step " + step + " of the plan failed: " + ImageProber.describe(cause);
                throw rollBackAfterFailure(what);
            } catch (ResizeError e) {
                throw rollBackAfterFailure(e.getMessage());
            }
            try {
                discardRemoved();
            } catch (IOException e) {
                throw new ResizeError(ErrorCode.WRITE_FAILED, "the image was resized, but a file it no longer uses "
                        + "could not be removed (" + ImageProber.describe(e) + "); run `diskplan recover "
                        + image.path() + "` to finish");
            }
            try {
                UndoJournal.delete(journal);
                org.diskplan.probe.ReadWatch.journalInPlace(null);
            } catch (IOException e) {
                throw new ResizeError(ErrorCode.WRITE_FAILED, "the image was resized, but the undo journal '"
                        + journal + "' could not be removed: " + ImageProber.describe(e));
            }
            return new ResizeResult(plan.format(), plan.newVirtualSize(), plan.oldFileSize(), plan.newFileSize(),
                    plan.action(), ErrorCode.OK);
        }

        /** fdatasync of every file written since the last flush. */
        private void force() throws IOException {
            for (int i = 0; i < unsynced.length; i++) {
                if (unsynced[i]) {
                    options.faults().before(IoFaults.Op.FLUSH, i);
                }
            }
            targets.force(unsynced);
        }

        private void createFiles() throws ResizeError {
            for (int i = 1; i < plan.files().size(); i++) {
                if (plan.files().get(i).created()) {
                    targets.create(i);
                }
            }
        }

        /**
         * Renames every file the plan removes to its removed name, then syncs the folder:
         * the descriptor no longer names them (the commit is behind), and a rollback can
         * still rename them back as they were.
         */
        private void moveRemovedAside() throws IOException {
            java.util.Set<Path> folders = new java.util.LinkedHashSet<>();
            for (int i = 1; i < plan.files().size(); i++) {
                if (plan.files().get(i).removed()) {
                    options.faults().before(IoFaults.Op.TRUNCATE, i);
                    targets.moveAside(i);
                    folders.add(UndoJournal.directoryOf(targets.path(i)));
                }
            }
            for (Path folder : folders) {
                Io.syncDirectory(folder);
            }
        }

        /** Deletes the files the plan removes, once every file has its final length (the journal still there). */
        private void discardRemoved() throws IOException {
            java.util.Set<Path> folders = new java.util.LinkedHashSet<>();
            for (int i = 1; i < plan.files().size(); i++) {
                if (plan.files().get(i).removed()) {
                    targets.discard(i);
                    folders.add(UndoJournal.directoryOf(targets.path(i)));
                }
            }
            for (Path folder : folders) {
                Io.syncDirectory(folder);
            }
        }

        /** Every other file first, the image last: a cut image means every file is done. */
        private void setFinalLengths() throws FinalLengthFailure {
            for (int n = plan.files().size(), k = 1; k <= n; k++) {
                int i = k % n;
                long length = plan.files().get(i).newLength();
                if (plan.files().get(i).removed()) {
                    continue;
                }
                try {
                    if (targets.channel(i).size() != length) {
                        options.faults().before(IoFaults.Op.TRUNCATE, i);
                        targets.file(i).setLength(length);
                        unsynced[i] = true;
                    }
                } catch (IOException e) {
                    throw new FinalLengthFailure(e);
                }
            }
        }

        private void applyPatch(ResizePatch patch, boolean cancellable)
                throws IOException, ResizeError, ResizeCancelled {
            FileChannel ch = targets.channel(patch.file());
            long end = ch.size();
            if (patch.atEnd() && patch.offset() != end) {
                throw new IOException(patch.kind().word() + " at offset " + patch.offset() + " but the file ends at "
                        + end);
            }
            if (!patch.startsValidly(end)) {
                throw new IOException(patch.kind().word() + " at offset " + patch.offset()
                        + " lies past the file end " + end);
            }
            if (patch instanceof Write w) {
                options.faults().before(IoFaults.Op.WRITE, w.file());
                Io.writeFully(ch, w.offset(), w.dataView());
            } else if (patch instanceof ResizePatch.Extend x) {
                options.faults().before(IoFaults.Op.TRUNCATE, x.file());
                targets.file(x.file()).setLength(x.end());
            } else if (patch instanceof ZeroFill z) {
                zeroFill(z, cancellable);
            } else if (patch instanceof Copy c) {
                copy(c, cancellable);
            }
            done += patch.kind() == PatchKind.EXTEND ? 0 : patch.length();
            options.listener().bytes(done, total);
        }

        private void zeroFill(ZeroFill z, boolean cancellable) throws IOException, ResizeError, ResizeCancelled {
            FileChannel ch = targets.channel(z.file());
            if (z.reserve()) {
                options.faults().before(IoFaults.Op.WRITE, z.file());
            }
            boolean reserved = z.reserve() && Fallocate.reserve(targets.file(z.file()), targets.realPath(z.file()),
                    z.offset(), z.length());
            long writtenBack = z.offset();
            for (long pos = z.offset(); !reserved && pos < z.end(); ) {
                if (cancellable && options.cancelRequested().getAsBoolean()) {
                    throw cancelled();
                }
                int n = (int) Math.min(Io.CHUNK, z.end() - pos);
                options.faults().before(IoFaults.Op.WRITE, z.file());
                Io.writeFully(ch, pos, ZEROS.duplicate().limit(n));
                pos += n;
                if (pos - writtenBack >= WRITE_BACK_EVERY || pos == z.end()) {
                    Fallocate.startWriteBack(targets.file(z.file()), targets.realPath(z.file()), writtenBack,
                            pos - writtenBack);
                    writtenBack = pos;
                }
                options.listener().bytes(done + (pos - z.offset()), total);
            }
        }

        private void copy(Copy c, boolean cancellable) throws IOException, ResizeError, ResizeCancelled {
            FileChannel from = targets.channel(c.sourceFile());
            FileChannel to = targets.channel(c.file());
            if (c.sourceEnd() > from.size()) {
                throw new IOException("copy from " + c.source() + "+" + c.length() + " reads past the end of '"
                        + targets.path(c.sourceFile()) + "'");
            }
            byte[] chunk = new byte[(int) Math.min(Io.CHUNK, c.length())];
            for (long k = 0; k < c.length(); ) {
                if (cancellable && options.cancelRequested().getAsBoolean()) {
                    throw cancelled();
                }
                int n = (int) Math.min(chunk.length, c.length() - k);
                Io.readFully(targets.path(c.sourceFile()), from, c.source() + k, chunk, n);
                options.faults().before(IoFaults.Op.WRITE, c.file());
                Io.writeFully(to, c.offset() + k, ByteBuffer.wrap(chunk, 0, n));
                k += n;
                options.listener().bytes(done + k, total);
            }
        }

        private ResizeCancelled cancelled() throws ResizeError {
            ResizeError failed = rollBackAfterFailure("cancelled");
            if (failed.code() != ErrorCode.OK) {
                throw failed;
            }
            return new ResizeCancelled("cancelled before the commit point; '" + image.path()
                    + "' was rolled back and is unchanged");
        }

        /**
         * Restores every file from the journal after a failure. Returns the error to
         * throw: code OK only for a clean cancel.
         */
        private ResizeError rollBackAfterFailure(String what) {
            try {
                UndoJournal.Contents contents = UndoJournal.read(journal);
                if (Recovery.cutShort(contents, targets)) {
                    // the final step had cut a file: the cut bytes are gone, so finish as recover would
                    Recovery.rollForward(contents, targets);
                    UndoJournal.delete(journal);
                    return new ResizeError(ErrorCode.WRITE_FAILED, what + "; the image had already been cut to its "
                            + "new length, so the resize was finished instead of rolled back");
                }
                Recovery.rollBack(contents, targets);
                UndoJournal.delete(journal);
            } catch (IOException | ResizeError e) {
                return new ResizeError(ErrorCode.WRITE_FAILED, what + "; rolling back failed too ("
                        + e.getMessage() + "): the undo journal '" + journal + "' was kept, run `diskplan recover "
                        + image.path() + "`");
            }
            return "cancelled".equals(what) ? new ResizeError(ErrorCode.OK, what)
                    : new ResizeError(ErrorCode.WRITE_FAILED, what);
        }
    }

    /** Wraps the final-length failure so its message can be qemu's. */
    private static final class FinalLengthFailure extends Exception {
        private static final long serialVersionUID = 1L;
        private final transient IOException io;

        FinalLengthFailure(IOException io) {
            this.io = io;
        }
    }

    /** Refuses a plan made for another state of the files. */
    private static void checkUnchanged(Targets targets, ResizePlan plan) throws ResizeError {
        int i = 0;
        try {
            for (; i < plan.files().size(); i++) {
                PlanFile f = plan.files().get(i);
                if (f.created()) {
                    continue;
                }
                long size = targets.channel(i).size();
                if (size != f.oldLength()) {
                    throw new ResizeError(ErrorCode.HEADER_MISMATCH, "'" + targets.path(i) + "' changed since it "
                            + "was planned: it is " + size + " bytes long, the plan was made for " + f.oldLength()
                            + "; plan again");
                }
            }
            List<ExpectedBytes> sorted = new ArrayList<>(plan.expected());
            sorted.sort(ExpectedOrder.INSTANCE);
            byte[] buf = new byte[0];
            for (ExpectedBytes e : sorted) {
                i = e.file();
                if (buf.length < e.length()) {
                    buf = new byte[e.length()];
                }
                Io.readFully(targets.path(i), targets.channel(i), e.offset(), buf, e.length());
                if (ExpectedBytes.crc(buf, 0, e.length()) != e.crc32c()) {
                    throw new ResizeError(ErrorCode.HEADER_MISMATCH, "'" + targets.path(i) + "' changed since it "
                            + "was planned: " + e.what() + " at offset " + e.offset() + " differs; plan again");
                }
            }
        } catch (IOException e) {
            throw new ResizeError(ErrorCode.READ_FAILED, "cannot read '" + targets.path(i) + "': "
                    + ImageProber.describe(e));
        }
    }

    /**
     * Checks every patch starts inside its file as it will be at that point, and returns
     * the merged ranges of the original files that the plan overwrites.
     */
    static List<UndoJournal.Range> journalRanges(ResizePlan plan) throws ResizeError {
        long[] length = new long[plan.files().size()];
        for (int i = 0; i < length.length; i++) {
            length[i] = plan.files().get(i).oldLength();
        }
        List<long[]> touched = new ArrayList<>();
        for (int i = 0; i < plan.patches().size(); i++) {
            ResizePatch p = plan.patches().get(i);
            long end = length[p.file()];
            if (!p.startsValidly(end)) {
                throw new ResizeError(ErrorCode.INVALID_OPTION, "plan step " + i + " (" + p.label() + ") starts at "
                        + p.offset() + " but the file will end at " + end + "; refusing an inconsistent plan");
            }
            long old = plan.files().get(p.file()).oldLength();
            long overlapEnd = Math.min(p.end(), old);
            if (p.offset() < overlapEnd) {
                touched.add(new long[] {p.file(), p.offset(), overlapEnd});
            }
            length[p.file()] = Math.max(end, p.end());
        }
        touched.sort(RangeOrder.INSTANCE);
        List<UndoJournal.Range> merged = new ArrayList<>();
        long file = -1;
        long start = -1;
        long end = -1;
        long savedBytes = 0;
        for (long[] r : touched) {
            if (r[0] == file && r[1] <= end) {
                end = Math.max(end, r[2]);
                continue;
            }
            if (start >= 0) {
                savedBytes += addRanges(merged, (int) file, start, end);
            }
            file = r[0];
            start = r[1];
            end = r[2];
        }
        if (start >= 0) {
            savedBytes += addRanges(merged, (int) file, start, end);
        }
        if (savedBytes > UndoJournal.MAX_SAVED_BYTES) {
            throw new ResizeError(ErrorCode.SCRATCH_TOO_SMALL, "the plan overwrites " + savedBytes
                    + " bytes of existing data, more than the undo journal holds (" + UndoJournal.MAX_SAVED_BYTES
                    + "); refusing");
        }
        return merged;
    }

    private static long addRanges(List<UndoJournal.Range> out, int file, long start, long end) {
        for (long pos = start; pos < end; ) {
            int n = (int) Math.min(Integer.MAX_VALUE - 8, end - pos);
            out.add(new UndoJournal.Range(file, pos, n));
            pos += n;
        }
        return end - start;
    }

    /** Expected bytes by file, then by offset. */
    private static final class ExpectedOrder implements Comparator<ExpectedBytes> {
        static final ExpectedOrder INSTANCE = new ExpectedOrder();

        @Override
        public int compare(ExpectedBytes a, ExpectedBytes b) {
            int c = Integer.compare(a.file(), b.file());
            return c != 0 ? c : Long.compare(a.offset(), b.offset());
        }
    }

    /** Touched ranges ({@code {file, start, end}}) by file, then by start. */
    private static final class RangeOrder implements Comparator<long[]> {
        static final RangeOrder INSTANCE = new RangeOrder();

        @Override
        public int compare(long[] a, long[] b) {
            int c = Long.compare(a[0], b[0]);
            return c != 0 ? c : Long.compare(a[1], b[1]);
        }
    }
}
