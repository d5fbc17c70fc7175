package org.diskplan.planner.apply;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.diskplan.abi.ErrorCode;
import org.diskplan.planner.ResizeError;
import org.diskplan.probe.ImageProber;

/** {@code diskplan recover}: finish an interrupted resize from its undo journal. */
public final class Recovery {
    /** What recovery did. */
    public enum Outcome {
        /** The saved bytes were written back and the original length restored. */
        ROLLED_BACK,
        /**
         * The file had already been cut to its planned shorter length, which happens
         * only after every patch was written: the resize was complete but for the
         * journal's removal, and the cut-off bytes are gone, so it is kept.
         */
        ROLLED_FORWARD
    }

    /** Recovery's result, with the journal it read. */
    public record Result(Outcome outcome, long originalLength, long finalLength) {
    }

    private Recovery() {
    }

    public static boolean hasJournal(Path image) {
        return Files.exists(UndoJournal.pathFor(image));
    }

    public static Result recover(Path image) throws ResizeError {
        Path journal = UndoJournal.pathFor(image);
        if (!Files.exists(journal)) {
            throw new ResizeError(ErrorCode.INVALID_OPTION, "no undo journal beside '" + image
                    + "' (looked for '" + journal + "'): there is nothing to recover");
        }
        UndoJournal.Contents contents = UndoJournal.read(journal);
        try (LockedImage locked = LockedImage.open(image, true)) {
            long current = locked.channel().size();
            boolean truncated = contents.finalLength() < contents.originalLength()
                    && current < contents.originalLength();
            if (!truncated) {
                UndoJournal.restore(contents, locked.channel(), locked.file());
            }
            UndoJournal.delete(journal);
            return new Result(truncated ? Outcome.ROLLED_FORWARD : Outcome.ROLLED_BACK, contents.originalLength(),
                    contents.finalLength());
        } catch (IOException e) {
            throw new ResizeError(ErrorCode.WRITE_FAILED, "restoring '" + image + "' failed: "
                    + ImageProber.describe(e) + "; the journal was kept, try again");
        }
    }
}
