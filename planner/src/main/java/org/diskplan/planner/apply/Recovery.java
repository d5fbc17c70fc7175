package org.diskplan.planner.apply;

import java.io.IOException;
import java.nio.file.Path;
import org.diskplan.abi.ErrorCode;
import org.diskplan.planner.ResizeError;
import org.diskplan.probe.ImageProber;

/** {@code diskplan recover}: finish an interrupted resize from its undo journal. */
public final class Recovery {
    /** What recovery did. */
    public enum Outcome {
        /** The saved bytes were written back, the original lengths restored, created files removed. */
        ROLLED_BACK,
        /**
         * A file had already been cut to its planned shorter length, which happens only
         * after every patch was written: the resize was complete but for the final lengths
         * and the journal's removal, and the cut-off bytes are gone, so it is finished instead.
         */
        ROLLED_FORWARD
    }

    /** Recovery's result, with the journal it read. */
    public record Result(Outcome outcome, long originalLength, long finalLength) {
    }

    private Recovery() {
    }

    /** Whether an interrupted resize left a journal for {@code image}, under any of its names. */
    public static boolean hasJournal(Path image) throws java.io.IOException {
        // its stats and reads are watched: a folder on a mount that never answers fails the caller
        Object watch = org.diskplan.probe.ReadWatch.begin(image, -1);
        try {
            return UndoJournal.find(image).isPresent();
        } finally {
            org.diskplan.probe.ReadWatch.end(watch);
        }
    }

    public static Result recover(Path image) throws ResizeError {
        Path journal = UndoJournal.find(image).orElse(null);
        if (journal == null) {
            throw new ResizeError(ErrorCode.INVALID_OPTION, "no undo journal for '" + image
                    + "' (looked for '" + UndoJournal.pathFor(image) + "'): there is nothing to recover");
        }
        // a read that never answers gives recover up: the journal is kept, to be run again
        org.diskplan.probe.ReadWatch.journalInPlace(journal);
        UndoJournal.Contents contents = UndoJournal.read(journal);
        try (LockedImage locked = LockedImage.open(image, true)) {
            checkBelongs(contents, locked.identity());
            return recover(journal, contents, locked);
        }
    }

    /**
     * Refuses a journal that is not this file's: a version-3 journal records the device
     * and inode of its image (and its real path), so one copied beside another image, or
     * left by a resize of another file, is never applied to this one.
     */
    static void checkBelongs(UndoJournal.Contents contents, FileIdentity file) throws ResizeError {
        if (contents.identity().isEmpty()) {
            return; // versions 1 and 2 record no identity; their fields were checked when read
        }
        FileIdentity recorded = contents.identity().get();
        if (!recorded.sameFile(file)) {
            throw new ResizeError(ErrorCode.HEADER_MISMATCH, "the undo journal '" + contents.journal()
                    + "' belongs to '" + recorded.realPath() + "' (device " + recorded.device() + ", inode "
                    + recorded.inode() + "), not to '" + file.realPath() + "' (device " + file.device() + ", inode "
                    + file.inode() + "); it was not applied and both files were left as they are");
        }
    }

    private static Result recover(Path journal, UndoJournal.Contents contents, LockedImage locked)
            throws ResizeError {
        Path image = locked.path();
        try (Targets targets = Targets.forRecovery(locked, contents.targets())) {
            boolean forward = cutShort(contents, targets);
            if (forward) {
                rollForward(contents, targets);
            } else {
                rollBack(contents, targets);
            }
            UndoJournal.delete(journal);
            return new Result(forward ? Outcome.ROLLED_FORWARD : Outcome.ROLLED_BACK, contents.originalLength(),
                    contents.finalLength());
        } catch (IOException e) {
            throw new ResizeError(ErrorCode.WRITE_FAILED, "restoring '" + image + "' failed: "
                    + ImageProber.describe(e) + "; the journal was kept, try again");
        }
    }

    /** Sets every file to its final length (the image last) and syncs it: the resize finished. */
    static void rollForward(UndoJournal.Contents contents, Targets targets) throws IOException {
        for (int n = targets.size(), k = 1; k <= n; k++) {
            int i = k % n;
            if (contents.targets().get(i).removed()) {
                continue;
            }
            if (targets.isOpen(i) && targets.channel(i).size() != contents.targets().get(i).finalLength()) {
                targets.file(i).setLength(contents.targets().get(i).finalLength());
            }
            if (targets.isOpen(i)) {
                targets.channel(i).force(true);
            }
        }
        java.util.Set<java.nio.file.Path> folders = new java.util.LinkedHashSet<>();
        for (int i = 1; i < targets.size(); i++) {
            if (contents.targets().get(i).removed()) {
                targets.discard(i);
                folders.add(UndoJournal.directoryOf(targets.path(i)));
            }
        }
        for (java.nio.file.Path folder : folders) {
            Io.syncDirectory(folder);
        }
    }

    /**
     * Whether the final step did something that cannot be undone: a file the plan shortens
     * is already shorter than it was, or a file the plan removes is gone (deleted only once
     * every file had its final length). A removed file merely renamed aside can be put back.
     */
    static boolean cutShort(UndoJournal.Contents contents, Targets targets) throws IOException {
        for (int i = 0; i < targets.size(); i++) {
            UndoJournal.Target t = contents.targets().get(i);
            if (t.removed() && !targets.isOpen(i)) {
                return true;
            }
            if (!t.created() && t.finalLength() < t.originalLength() && targets.isOpen(i)
                    && targets.channel(i).size() < t.originalLength()) {
                return true;
            }
        }
        return false;
    }

    /**
     * Writes every saved byte back, restores every original length, removes the files the
     * plan created. It needs no free space: each file is first set to its original length
     * (cutting what the resize added frees its blocks), then only the 4 KiB blocks that
     * differ from the saved bytes are written, so bytes that are already right — a hole
     * the saved bytes say is zeros among them — are not allocated again.
     */
    static void rollBack(UndoJournal.Contents contents, Targets targets) throws IOException {
        for (int i = 0; i < targets.size(); i++) {
            UndoJournal.Target t = contents.targets().get(i);
            if (t.created()) {
                targets.remove(i);
            }
        }
        for (int i = 0; i < targets.size(); i++) {
            UndoJournal.Target t = contents.targets().get(i);
            if (t.removed() && targets.isAside(i)) {
                targets.moveBack(i);
                Io.syncDirectory(UndoJournal.directoryOf(targets.path(i)));
            }
        }
        for (int i = 0; i < targets.size(); i++) {
            UndoJournal.Target t = contents.targets().get(i);
            if (t.created()) {
                continue;
            }
            if (targets.channel(i).size() != t.originalLength()) {
                targets.file(i).setLength(t.originalLength()); // an unneeded ftruncate would touch the mtime
            }
            UndoJournal.restoreRanges(contents, i, targets.path(i), targets.channel(i));
            targets.channel(i).force(true);
        }
        if (contents.targets().stream().anyMatch(UndoJournal.Target::created)) {
            Io.syncDirectory(UndoJournal.directoryOf(targets.realPath(0)));
        }
    }
}
