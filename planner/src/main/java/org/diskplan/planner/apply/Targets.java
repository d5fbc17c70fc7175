package org.diskplan.planner.apply;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.diskplan.abi.ErrorCode;
import org.diskplan.planner.PlanFile;
import org.diskplan.planner.ResizeError;
import org.diskplan.probe.ImageProber;

// No lambdas or streams on the resize path here (forRecovery, run only by `recover`, keeps its own): it runs on the
// command line's start-up path (see ReadWatch / issue 20).
/**
 * Every file of one resize, opened read-write and locked as the image is: target 0 is
 * the image (its lock is the caller's), the others are opened here (existing files)
 * or created when the plan starts (new files). Closing releases what was opened here.
 */
final class Targets implements AutoCloseable {
    private final LockedImage image;
    private final List<Path> paths = new ArrayList<>();
    private final List<LockedImage> open = new ArrayList<>();
    /** Files the plan removes that now lie under their removed name ({@link PlanFile#removedName}). */
    private final java.util.Set<Integer> aside = new java.util.HashSet<>();

    private Targets(LockedImage image) {
        this.image = image;
        paths.add(image.path());
        open.add(image);
    }

    /** Where a file named in a plan or a journal lies: relative names resolve against the image's folder. */
    static Path resolve(Path image, Path stored) {
        return stored.isAbsolute() ? stored : UndoJournal.directoryOf(image).resolve(stored);
    }

    /** How the journal names {@code file}: relative to the image's folder when inside it. */
    static Path stored(Path image, Path file) {
        Path dir = UndoJournal.directoryOf(image);
        Path abs = file.toAbsolutePath().normalize();
        return abs.startsWith(dir) ? dir.relativize(abs) : abs;
    }

    /**
     * Opens and locks the existing files of a plan (each must have its planned length
     * checked by the caller); files the plan creates must not exist yet.
     */
    static Targets forPlan(LockedImage image, List<PlanFile> files) throws ResizeError {
        List<Path> others = new ArrayList<>(Math.max(0, files.size() - 1));
        for (int i = 1; i < files.size(); i++) {
            others.add(files.get(i).path());
        }
        return open(image, others, new Opener() {
            @Override
            public LockedImage open(int i, Path path) throws ResizeError {
                if (files.get(i).removed()) {
                    if (Files.isSymbolicLink(path)) {
                        throw new ResizeError(ErrorCode.UNSUPPORTED_SUBFORMAT, "'" + path + "' is a symbolic link, "
                                + "but the plan removes it; DiskPlan removes only regular files");
                    }
                    if (Files.exists(PlanFile.removedName(path), LinkOption.NOFOLLOW_LINKS)) {
                        throw new ResizeError(ErrorCode.HEADER_MISMATCH, "'" + PlanFile.removedName(path) + "' exists "
                                + "already, but the plan renames '" + path + "' to it before removing it; move it "
                                + "away and plan again");
                    }
                }
                if (!files.get(i).created()) {
                    return LockedImage.open(path, true);
                }
                if (Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
                    throw new ResizeError(ErrorCode.HEADER_MISMATCH, "'" + path + "' exists already, but the plan "
                            + "creates it; plan again");
                }
                return null;
            }
        });
    }

    /** Opens the files a journal names for recovery: existing ones locked, created ones if they exist. */
    static Targets forRecovery(LockedImage image, List<UndoJournal.Target> targets) throws ResizeError {
        for (int i = 1; i < targets.size(); i++) {
            checkInsideFolder(image.identity().realPath(), targets.get(i));
        }
        Targets made = new Targets(image);
        return open(made, targets.stream().skip(1).map(t -> resolve(image.identity().realPath(), t.path())).toList(), (i, path) -> {
            boolean exists = Files.exists(path, LinkOption.NOFOLLOW_LINKS);
            if (targets.get(i).removed() && !exists) {
                // renamed aside at the final step, or already deleted once the resize was complete
                Path aside = PlanFile.removedName(path);
                if (!Files.exists(aside, LinkOption.NOFOLLOW_LINKS)) {
                    return null;
                }
                made.aside.add(i);
                return LockedImage.open(aside, true);
            }
            if (targets.get(i).created()) {
                return exists ? LockedImage.open(path, true) : null;
            }
            if (!exists) {
                throw new ResizeError(ErrorCode.READ_FAILED, "'" + path + "', a file of the interrupted resize, is "
                        + "missing; put it back, then run recover again");
            }
            return LockedImage.open(path, true);
        });
    }

    /**
     * A descriptor or extent a journal names must lie in the image's folder, as the VMDK
     * probe requires of every extent: a relative name without {@code ..}, and no symbolic
     * link that leads out of the folder. A damaged or planted journal cannot make
     * {@code recover} write, rename or delete anything elsewhere. (A qcow2 data file may
     * lie anywhere: it was named by the image itself, and is recorded absolute.)
     */
    static void checkInsideFolder(Path image, UndoJournal.Target t) throws ResizeError {
        if (t.role() != PlanFile.Role.EXTENT.ordinal() && t.role() != PlanFile.Role.DESCRIPTOR.ordinal()) {
            return;
        }
        Path dir = UndoJournal.directoryOf(image);
        boolean dots = false;
        for (Path part : t.path()) {
            dots |= part.toString().equals("..");
        }
        if (t.path().isAbsolute() || dots) {
            throw new ResizeError(ErrorCode.PARSE_FAILED, "the undo journal names '" + t.path() + "', a VMDK "
                    + PlanFile.Role.values()[t.role()].jsonName() + " outside the folder of '" + image
                    + "'; recover touches nothing outside it; nothing was changed");
        }
        Path file = resolve(image, t.path());
        for (Path candidate : List.of(file, PlanFile.removedName(file))) {
            if (Files.exists(candidate, LinkOption.NOFOLLOW_LINKS)) {
                Path real;
                try {
                    real = candidate.toRealPath();
                } catch (IOException e) {
                    continue; // a dangling link: opening it fails with its own words
                }
                Path realDir;
                try {
                    realDir = dir.toRealPath();
                } catch (IOException e) {
                    realDir = dir;
                }
                if (!real.startsWith(realDir)) {
                    throw new ResizeError(ErrorCode.PARSE_FAILED, "'" + candidate + "', a file of the interrupted "
                            + "resize, is a symbolic link to '" + real + "', outside the folder of '" + image
                            + "'; recover touches nothing outside it; nothing was changed");
                }
            }
        }
    }

    /** How file {@code i} of {@code path} is opened (null: not open yet). */
    private interface Opener {
        LockedImage open(int i, Path path) throws ResizeError;
    }

    private static Targets open(LockedImage image, List<Path> others, Opener opener) throws ResizeError {
        return open(new Targets(image), others, opener);
    }

    private static Targets open(Targets t, List<Path> others, Opener opener) throws ResizeError {
        try {
            for (Path path : others) {
                t.paths.add(path);
                t.open.add(opener.open(t.paths.size() - 1, path));
            }
            return t;
        } catch (ResizeError e) {
            t.close();
            throw e;
        }
    }

    int size() {
        return paths.size();
    }

    Path path(int i) {
        return paths.get(i);
    }

    /** Where file {@code i} really is: the image's real path for target 0. */
    Path realPath(int i) {
        return i == 0 ? image.identity().realPath() : paths.get(i);
    }

    boolean isOpen(int i) {
        return open.get(i) != null;
    }

    /** Creates file {@code i} (one the plan adds), with the image's permissions, owner and group. */
    void create(int i) throws ResizeError {
        open.set(i, LockedImage.create(paths.get(i), image.path()));
    }

    FileChannel channel(int i) {
        return open.get(i).channel();
    }

    RandomAccessFile file(int i) {
        return open.get(i).file();
    }

    /** Whether file {@code i}, one the plan removes, lies under its removed name now. */
    boolean isAside(int i) {
        return aside.contains(i);
    }

    /** Renames file {@code i}, one the plan removes, to its removed name (it stays open and locked). */
    void moveAside(int i) throws IOException {
        if (!aside.contains(i)) {
            Path to = PlanFile.removedName(paths.get(i));
            if (Files.exists(to, LinkOption.NOFOLLOW_LINKS)) {
                throw new IOException("'" + to + "' exists; '" + paths.get(i) + "' cannot be renamed to it");
            }
            Files.move(paths.get(i), to, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            aside.add(i);
        }
    }

    /** Renames file {@code i} back from its removed name (a rollback). */
    void moveBack(int i) throws IOException {
        if (aside.contains(i)) {
            if (Files.exists(paths.get(i), LinkOption.NOFOLLOW_LINKS)) {
                throw new IOException("'" + paths.get(i) + "' exists again; '" + PlanFile.removedName(paths.get(i))
                        + "' cannot be renamed back to it");
            }
            Files.move(PlanFile.removedName(paths.get(i)), paths.get(i), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            aside.remove(i);
        }
    }

    /** Deletes file {@code i}, one the plan removes, under whichever name it has, closing it first. */
    void discard(int i) throws IOException {
        LockedImage f = open.get(i);
        if (f != null) {
            f.close();
            open.set(i, null);
        }
        Files.deleteIfExists(aside.contains(i) ? PlanFile.removedName(paths.get(i)) : paths.get(i));
        aside.remove(i);
    }

    /** Removes file {@code i} (one the plan created), closing it first. */
    void remove(int i) throws IOException {
        LockedImage f = open.get(i);
        if (f != null) {
            f.close();
            open.set(i, null);
        }
        Files.deleteIfExists(paths.get(i));
    }

    /** fdatasync of every open file in {@code which}. */
    void force(boolean[] which) throws IOException {
        for (int i = 0; i < which.length; i++) {
            if (which[i] && open.get(i) != null) {
                open.get(i).channel().force(false);
                which[i] = false;
            }
        }
    }

    static String describe(IOException e) {
        return ImageProber.describe(e);
    }

    @Override
    public void close() {
        for (int i = 1; i < open.size(); i++) {
            if (open.get(i) != null && open.get(i) != image) {
                open.get(i).close();
            }
        }
    }
}
