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
import org.diskplan.planner.ResizeError;
import org.diskplan.planner.ResizePatch;
import org.diskplan.planner.ResizePatch.Append;
import org.diskplan.planner.ResizePatch.Write;
import org.diskplan.planner.ResizePatch.ZeroFill;
import org.diskplan.planner.ResizePlan;
import org.diskplan.probe.ImageProber;

/**
 * Writes a plan, knowing nothing of formats: check the file is as planned,
 * journal the bytes it will overwrite, apply the patches in order with
 * {@code force} at the barriers and the commit, set the final length, remove the
 * journal. Any failure before the end rolls the image back from the journal.
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
        FileChannel ch = image.channel();
        checkUnchanged(image, plan);
        List<UndoJournal.Range> saved = journalRanges(plan);
        ResizeConfig config = plan.options().applyTo(ResizeConfig.of(plan.format(), plan.oldVirtualSize(),
                        plan.newVirtualSize(), plan.oldFileSize()))
                .withShrink(plan.action() == ResizeAction.SHRINK)
                .withPreallocation(plan.request().preallocation())
                .withQuiet(false);
        Path journal;
        try {
            journal = UndoJournal.write(image.path(), ch, config, plan.oldFileSize(), plan.newFileSize(), saved);
        } catch (IOException e) {
            throw new ResizeError(ErrorCode.WRITE_FAILED, "cannot write the undo journal beside '" + image.path()
                    + "': " + ImageProber.describe(e) + "; the image was not touched");
        }
        options.afterStep().accept(-1);
        int steps = plan.patches().size() + 1;
        long total = plan.bytesWritten();
        long[] done = {0};
        int step = 0;
        boolean unsynced = false;
        try {
            for (; step < plan.patches().size(); step++) {
                ResizePatch patch = plan.patches().get(step);
                if (step <= plan.commitIndex() && options.cancelRequested().getAsBoolean()) {
                    throw cancelled(image, journal);
                }
                options.listener().step(step, steps, patch.label());
                applyPatch(image, patch, options, step <= plan.commitIndex(), done, total, journal);
                unsynced = true;
                if (plan.barriersAfter().contains(step) || step == plan.commitIndex()) {
                    // fdatasync: the data and what is needed to read it back (the length), as
                    // qemu flushes; the timestamps need no barrier
                    ch.force(false);
                    unsynced = false;
                }
                options.afterStep().accept(step);
            }
            if (plan.commitIndex() == step && options.cancelRequested().getAsBoolean()) {
                throw cancelled(image, journal);
            }
            options.listener().step(step, steps, "set the file length to " + plan.newFileSize());
            try {
                if (ch.size() != plan.newFileSize()) {
                    image.file().setLength(plan.newFileSize());
                    unsynced = true;
                }
            } catch (IOException e) {
                throw new FinalLengthFailure(e);
            }
            if (unsynced) {
                ch.force(false);
            }
            options.afterStep().accept(step);
        } catch (IOException | FinalLengthFailure e) {
            IOException cause = e instanceof FinalLengthFailure f ? f.io : (IOException) e;
            String what = e instanceof FinalLengthFailure ? "Could not resize file: " + ImageProber.describe(cause)
                    : "writing step " + step + " of the plan failed: " + ImageProber.describe(cause);
            throw rollBackAfterFailure(image, journal, what);
        }
        try {
            UndoJournal.delete(journal);
        } catch (IOException e) {
            throw new ResizeError(ErrorCode.WRITE_FAILED, "the image was resized, but the undo journal '" + journal
                    + "' could not be removed: " + ImageProber.describe(e));
        }
        return new ResizeResult(plan.format(), plan.newVirtualSize(), plan.oldFileSize(), plan.newFileSize(),
                plan.action(), ErrorCode.OK);
    }

    /** Wraps the final-length failure so its message can be qemu's. */
    private static final class FinalLengthFailure extends Exception {
        private static final long serialVersionUID = 1L;
        private final transient IOException io;

        FinalLengthFailure(IOException io) {
            this.io = io;
        }
    }

    private static void applyPatch(LockedImage image, ResizePatch patch, ApplyOptions options, boolean cancellable,
                                   long[] done, long total, Path journal)
            throws IOException, ResizeError, ResizeCancelled {
        FileChannel ch = image.channel();
        long end = ch.size();
        if ((patch instanceof Append || isExtend(patch)) && patch.offset() != end) {
            throw new IOException("append at offset " + patch.offset() + " but the file ends at " + end);
        }
        if (patch.offset() > end) {
            throw new IOException(patch.kind() + " at offset " + patch.offset() + " lies past the file end " + end);
        }
        if (patch instanceof Write w) {
            Io.writeFully(ch, w.offset(), w.dataView());
        } else if (patch instanceof Append a) {
            Io.writeFully(ch, a.offset(), a.dataView());
        } else if (patch instanceof ZeroFill z && z.mode() == ZeroFill.Mode.EXTEND) {
            image.file().setLength(z.end());
        } else if (patch instanceof ZeroFill z) {
            boolean reserved = z.mode() == ZeroFill.Mode.RESERVE
                    && Fallocate.reserve(image.file(), z.offset(), z.length());
            long writtenBack = z.offset();
            for (long pos = z.offset(); !reserved && pos < z.end(); ) {
                if (cancellable && options.cancelRequested().getAsBoolean()) {
                    throw cancelled(image, journal);
                }
                int n = (int) Math.min(Io.CHUNK, z.end() - pos);
                Io.writeFully(ch, pos, ZEROS.duplicate().limit(n));
                pos += n;
                if (pos - writtenBack >= WRITE_BACK_EVERY || pos == z.end()) {
                    Fallocate.startWriteBack(image.file(), writtenBack, pos - writtenBack);
                    writtenBack = pos;
                }
                options.listener().bytes(done[0] + (pos - z.offset()), total);
            }
        }
        done[0] += patch.length();
        options.listener().bytes(done[0], total);
    }

    private static boolean isExtend(ResizePatch p) {
        return p instanceof ZeroFill z && z.mode() == ZeroFill.Mode.EXTEND;
    }

    /** Refuses a plan made for another state of the file. */
    private static void checkUnchanged(LockedImage image, ResizePlan plan) throws ResizeError {
        try {
            long size = image.channel().size();
            if (size != plan.oldFileSize()) {
                throw new ResizeError(ErrorCode.HEADER_MISMATCH, "'" + image.path() + "' changed since it was "
                        + "planned: it is " + size + " bytes long, the plan was made for " + plan.oldFileSize()
                        + "; plan again");
            }
            for (ExpectedBytes e : plan.expected()) {
                byte[] now = new byte[e.bytes().length];
                Io.readFully(image.channel(), e.offset(), now, now.length);
                if (!java.util.Arrays.equals(now, e.bytes())) {
                    throw new ResizeError(ErrorCode.HEADER_MISMATCH, "'" + image.path() + "' changed since it was "
                            + "planned: " + e.what() + " at offset " + e.offset() + " differs; plan again");
                }
            }
        } catch (IOException e) {
            throw new ResizeError(ErrorCode.READ_FAILED, "cannot read '" + image.path() + "': "
                    + ImageProber.describe(e));
        }
    }

    /**
     * Checks every patch starts inside the file as it will be at that point, and
     * returns the merged ranges of the original file that the plan overwrites.
     */
    static List<UndoJournal.Range> journalRanges(ResizePlan plan) throws ResizeError {
        long length = plan.oldFileSize();
        List<long[]> touched = new ArrayList<>();
        for (int i = 0; i < plan.patches().size(); i++) {
            ResizePatch p = plan.patches().get(i);
            if (p instanceof Append || isExtend(p) ? p.offset() != length : p.offset() > length) {
                throw new ResizeError(ErrorCode.INVALID_OPTION, "plan step " + i + " (" + p.label() + ") starts at "
                        + p.offset() + " but the file will end at " + length + "; refusing an inconsistent plan");
            }
            long overlapEnd = Math.min(p.end(), plan.oldFileSize());
            if (p.offset() < overlapEnd) {
                touched.add(new long[] {p.offset(), overlapEnd});
            }
            length = Math.max(length, p.end());
        }
        touched.sort(Comparator.comparingLong(r -> r[0]));
        List<UndoJournal.Range> merged = new ArrayList<>();
        long start = -1;
        long end = -1;
        long savedBytes = 0;
        for (long[] r : touched) {
            if (start >= 0 && r[0] <= end) {
                end = Math.max(end, r[1]);
                continue;
            }
            if (start >= 0) {
                savedBytes += addRanges(merged, start, end);
            }
            start = r[0];
            end = r[1];
        }
        if (start >= 0) {
            savedBytes += addRanges(merged, start, end);
        }
        if (savedBytes > UndoJournal.MAX_SAVED_BYTES) {
            throw new ResizeError(ErrorCode.SCRATCH_TOO_SMALL, "the plan overwrites " + savedBytes
                    + " bytes of existing data, more than the undo journal holds (" + UndoJournal.MAX_SAVED_BYTES
                    + "); refusing");
        }
        return merged;
    }

    private static long addRanges(List<UndoJournal.Range> out, long start, long end) {
        for (long pos = start; pos < end; ) {
            int n = (int) Math.min(Integer.MAX_VALUE - 8, end - pos);
            out.add(new UndoJournal.Range(pos, n));
            pos += n;
        }
        return end - start;
    }

    private static ResizeCancelled cancelled(LockedImage image, Path journal) throws ResizeError {
        ResizeError failed = rollBackAfterFailure(image, journal, "cancelled");
        if (failed.code() != ErrorCode.OK) {
            throw failed;
        }
        return new ResizeCancelled("cancelled before the commit point; '" + image.path()
                + "' was rolled back and is unchanged");
    }

    /**
     * Restores the image from the journal after a failure. Returns the error to
     * throw: code OK only for a clean cancel.
     */
    private static ResizeError rollBackAfterFailure(LockedImage image, Path journal, String what) {
        try {
            UndoJournal.restore(UndoJournal.read(journal), image.channel(), image.file());
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
