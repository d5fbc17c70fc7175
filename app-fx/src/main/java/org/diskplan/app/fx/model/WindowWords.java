package org.diskplan.app.fx.model;

import java.nio.file.Path;
import java.util.Locale;
import org.diskplan.abi.ErrorCode;
import org.diskplan.abi.ImageFormat;
import org.diskplan.planner.ResizeError;
import org.diskplan.planner.ResizePlan;
import org.diskplan.planner.SizeArgument;
import org.diskplan.planner.SizeSyntaxException;

/**
 * What the window says, in its own words. The command line keeps qemu-img's words
 * (scripts compare them); the window speaks to a person at a form with a Shrink box,
 * not to a shell, so it never says "--shrink" or breaks a sentence mid-line.
 */
public final class WindowWords {
    /** Under the size field when the text is not a size. */
    public static final String SIZE_HELP = "Type a size with a unit: 20G, 512M or 1.5T (powers of 1024). "
            + "+5G grows by 5 GiB, -1G shrinks by 1 GiB; a plain number is bytes, and a fraction needs a unit.";
    public static final String NO_OP = "The image already has this size: there is nothing to do.";
    public static final String STALE = "The file changed after this plan was made, so nothing was written. "
            + "Reload it and the plan is made again for the size you typed.";
    public static final String RELOAD_AND_PLAN = "Reload and plan again";
    public static final String SHRINK_BUTTON = "Shrink and delete";

    private WindowWords() {
    }

    /** The message for a size that does not parse. */
    public static String sizeError(String typed, SizeSyntaxException e) {
        if (e.getMessage().equals(SizeArgument.INVALID)) {
            if (typed.matches("[+-]?[0-9]*\\.[0-9]*")) {
                return "\u201c" + typed + "\u201d needs a unit: a fraction of a byte is not a size (try "
                        + typed.replaceFirst("^[+-]", "") + "G).";
            }
            return "\u201c" + typed + "\u201d is not a size.";
        }
        return "\u201c" + typed + "\u201d is too large: the largest size is about 8 EiB.";
    }

    /** The message for a request the planner refuses; the command line's words where they already fit. */
    public static String resizeError(ResizeError e, long currentSize, long asked) {
        return switch (e.code()) {
            case SHRINK_WITHOUT_FLAG -> SizeText.human(asked) + " is smaller than the image ("
                    + SizeText.human(currentSize) + "). Tick Shrink to make the image smaller.";
            case INVALID_NEW_SIZE -> asked <= 0 ? "The new size must be larger than zero."
                    : asked > org.diskplan.planner.Planners.MAX_LENGTH
                    ? "That is larger than any disk image can be (about 8 EiB)." : sentence(e.getMessage());
            case INVALID_OPTION -> "Preallocation only applies when the image grows: choose \u201coff\u201d "
                    + "to keep or shrink the size.";
            case PREALLOCATION_UNSUPPORTED -> "This format cannot preallocate that way: choose another "
                    + "preallocation.";
            case UNSUPPORTED_SHRINK -> "This format cannot be made smaller: only a larger size can be planned.";
            default -> sentence(e.getMessage());
        };
    }

    /** Under the size field once a shrink is planned: what will be deleted. */
    public static String shrinkHint(long oldSize, long newSize) {
        return "Shrinking deletes the last " + SizeText.human(oldSize - newSize) + " of the disk (from byte "
                + grouped(newSize) + " on): make sure nothing you need is stored there.";
    }

    /** The body of the shrink warning dialog: the bytes that will be lost, named. */
    public static String shrinkWarning(Path file, ResizePlan plan) {
        long lost = plan.oldVirtualSize() - plan.newVirtualSize();
        return "Everything stored in the last " + SizeText.human(lost) + " of " + file.getFileName()
                + " \u2014 bytes " + grouped(plan.newVirtualSize()) + " to " + grouped(plan.oldVirtualSize() - 1)
                + " of the disk \u2014 will be deleted, and cannot be brought back once the resize is done.\n\n"
                + "The disk goes from " + SizeText.human(plan.oldVirtualSize()) + " to "
                + SizeText.human(plan.newVirtualSize()) + ".\n\n"
                + "Shrink the partitions and file systems inside the disk first, or they will be cut off.";
    }

    /**
     * One line per file of the plan, patched or not: its role, its length before and
     * after, how many steps write it, and whether the plan creates it or removes it
     * (a removed file is renamed aside at the final step and deleted once the resize
     * is complete).
     */
    public static String planFiles(ResizePlan plan) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < plan.files().size(); i++) {
            org.diskplan.planner.PlanFile f = plan.files().get(i);
            final int index = i;
            long steps = plan.patches().stream().filter(p -> p.file() == index).count();
            b.append(b.length() == 0 ? "" : "\n").append(f.path().getFileName()).append(" (")
                    .append(f.role().jsonName()).append("): ");
            if (f.removed()) {
                b.append(SizeText.human(f.oldLength())).append(" \u2014 removed after the commit");
            } else {
                b.append(f.created() ? "created, " : "").append(SizeText.human(f.oldLength()));
                b.append(f.newLength() == f.oldLength() ? ", length unchanged"
                        : " \u2192 " + SizeText.human(f.newLength()));
            }
            b.append(steps > 0 ? "; " + steps + (steps == 1 ? " step writes it" : " steps write it")
                    : f.removed() || f.newLength() == f.oldLength() ? "; no step writes it"
                    : "; only its length changes, at the final step");
        }
        return b.toString();
    }

    /** How much allocated data lies past the new end, or that the format does not say (the CLI's line). */
    public static String dataPastEnd(org.diskplan.probe.GuestAllocation a) {
        return org.diskplan.app.cli.LostData.sentence(a);
    }

    /** The confirmation of a grow (or a shrink, after its warning). */
    public static String confirmation(Path file, ResizePlan plan, int writes, int appends, int zeros) {
        String fileChange = plan.newFileSize() == plan.oldFileSize()
                ? "The file keeps its length: " + SizeText.exact(plan.oldFileSize()) + "."
                : "The file " + (plan.newFileSize() > plan.oldFileSize() ? "grows" : "shrinks") + " from "
                + SizeText.exact(plan.oldFileSize()) + " to " + SizeText.exact(plan.newFileSize()) + ".";
        int steps = plan.finalStep() + 1;
        String commit = plan.commitIndex() == 0
                ? "The image takes its new size at the first step, so once that step is done the resize "
                + "cannot be cancelled."
                : String.format(Locale.ROOT, "The image takes its new size at step %d of %d; until then "
                + "Cancel rolls the file back.", plan.commitIndex() + 1, steps);
        return String.format(Locale.ROOT, "Resize '%s' from %s to %s?%n%n"
                        + "%d write%s, %d append%s, %d zero-fill%s; %,d bytes written.%n%s%n%s",
                file, SizeText.human(plan.oldVirtualSize()), SizeText.human(plan.newVirtualSize()),
                writes, writes == 1 ? "" : "s", appends, appends == 1 ? "" : "s", zeros, zeros == 1 ? "" : "s",
                plan.bytesWritten(), fileChange, commit);
    }

    /** The banner when the open image's format has no planner. */
    public static String cannotResize(ImageFormat format) {
        return "DiskPlan cannot resize " + format.displayName() + " images yet. Everything else works: "
                + "read every header field and its bytes, and the layout of the file.";
    }

    /**
     * The banner for an image the probe gave up on part-way: what is wrong (the field and its
     * offset), that it cannot be resized, and what the window still shows.
     */
    public static String damaged(String reason) {
        return "Damaged: " + clause(reason) + " \u2014 DiskPlan cannot resize it; the fields parsed before the "
                + "error are shown.";
    }

    /**
     * The banner for an image that opened whole but is flagged corrupt and refused by its planner
     * (a qcow2 whose L1 table lies past the end: qemu opens it, a resize would not).
     */
    public static String damagedWhole(String refusal) {
        String detail = refusalDetail(refusal);
        return "Damaged: " + clause(detail) + " \u2014 DiskPlan cannot resize it; every field it could read is "
                + "shown.";
    }

    /** A planner's refusal without its "'file' is damaged and DiskPlan will not resize it: " lead-in. */
    public static String refusalDetail(String refusal) {
        return refusal.replaceFirst("^.*? (?:will not|cannot) resize it: ", "");
    }

    /** Why the Resize panel is off for a damaged image. */
    public static String damagedRefusal(String reason) {
        return "DiskPlan cannot resize a damaged image: " + clause(reason) + ".";
    }

    /** A sentence without its full stop, first letter kept, on one line. */
    private static String clause(String s) {
        String t = s.replace('\n', ' ').strip();
        return t.endsWith(".") ? t.substring(0, t.length() - 1) : t;
    }

    /** The banner after an open failed; the previous image (if any) stays open. */
    public static String openFailed(Path path, String reason, boolean keptPrevious) {
        return "Could not open " + path.getFileName() + ": " + sentence(reason)
                + (keptPrevious ? " The image you had open stays open." : "");
    }

    /**
     * A job given up because a read never answered: the command line's words ("Could not
     * read 'F' at offset O: no answer for N s"), then what it means here.
     */
    public static String noAnswer(org.diskplan.probe.ReadWatch.Timeout t) {
        return t.words() + ": its storage does not respond (a hung network or FUSE mount?), so DiskPlan gave up."
                + t.journal().map(j -> " The resize had begun writing: its undo journal " + j.getFileName()
                + " is kept; recover the image once its storage answers.").orElse(" Nothing was written.");
    }

    /** What a background job's failure says: {@link #noAnswer} for a read that never answered. */
    public static String failure(Exception e) {
        return e instanceof org.diskplan.probe.ReadWatch.Timeout t ? noAnswer(t) : String.valueOf(e.getMessage());
    }

    /** The banner when a recent file is gone. */
    public static String recentMissing(Path path) {
        return path.getFileName() + " is no longer at " + (path.getParent() == null ? "its place" : path.getParent())
                + "; it was taken off the recent files.";
    }

    /** The question before Recover. */
    public static String recoverQuestion(Path file) {
        return "Roll " + file.getFileName() + " back to the state before the interrupted resize? The bytes the "
                + "resize wrote are replaced with the saved originals and the file gets its original length.";
    }

    /** Capitalised, ends with a full stop, one paragraph. */
    static String sentence(String s) {
        String t = s.replace('\n', ' ').strip();
        if (t.isEmpty()) {
            return t;
        }
        t = Character.toUpperCase(t.charAt(0)) + t.substring(1);
        return t.endsWith(".") ? t : t + ".";
    }

    private static String grouped(long n) {
        return String.format(Locale.ROOT, "%,d", n);
    }

    /** True for the refusal that means "the file changed since it was planned". */
    public static boolean isStale(Throwable e) {
        return e instanceof ResizeError r && r.code() == ErrorCode.HEADER_MISMATCH;
    }
}
