package org.diskplan.planner.apply;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.diskplan.abi.ErrorCode;
import org.diskplan.planner.ResizeError;
import org.diskplan.probe.FileKind;
import org.diskplan.probe.ImageProber;
import org.diskplan.probe.ImageReader;
import org.diskplan.probe.ReadWatch;

// No lambdas or streams here: this class runs on the command line's start-up path (see ReadWatch / issue 20).
/**
 * An image opened read-write under an exclusive whole-file lock, as qemu-img
 * opens it for a resize. The POSIX record lock conflicts with the OFD byte-range
 * locks qemu holds while a VM, qemu-nbd or qemu-img uses the image, in both
 * directions. Everything that changes an image goes through one of these.
 */
public final class LockedImage implements AutoCloseable {
    private final Path path;
    private final FileIdentity identity;
    private final RandomAccessFile file;
    private final FileLock lock;

    private LockedImage(Path path, FileIdentity identity, RandomAccessFile file, FileLock lock) {
        this.path = path;
        this.identity = identity;
        this.file = file;
        this.lock = lock;
    }

    /**
     * Opens and locks {@code path}. Only a regular file or a block device (an LVM volume
     * holding a qcow2, as qemu allows; {@code DeviceRules} keeps its length) is opened for
     * writing: its kind is checked with {@code stat} first, so a FIFO is never opened (that
     * would block) and a character device is never written. Symbolic links are resolved first: the real file is opened
     * and locked, and its journal is the one beside the real file. Refuses when an
     * interrupted resize left a journal for the file under any name (unless
     * {@code forRecovery}) or when another process holds a lock.
     */
    public static LockedImage open(Path path, boolean forRecovery) throws ResizeError {
        // stat and open are watched like reads: a file on a mount that never answers fails the command
        Object watch = ReadWatch.begin(path, -1);
        LockedImage image = null;
        try {
            image = openUnwatched(path, forRecovery);
        } finally {
            try {
                ReadWatch.end(watch);
            } catch (IOException e) {
                if (image != null) {
                    image.close();
                }
                throw new ResizeError(ErrorCode.READ_FAILED, e.getMessage());
            }
        }
        return image;
    }

    private static LockedImage openUnwatched(Path path, boolean forRecovery) throws ResizeError {
        String name = path.toString();
        FileKind kind = FileKind.of(path);
        if (kind == FileKind.DIRECTORY) {
            throw new ResizeError(ErrorCode.READ_FAILED,
                    "Could not open '" + name + "': Could not open '" + name + "': Is a directory");
        }
        if (kind == FileKind.MISSING) {
            throw new ResizeError(ErrorCode.READ_FAILED,
                    "Could not open '" + name + "': Could not open '" + name + "': No such file or directory");
        }
        if (kind != FileKind.REGULAR && kind != FileKind.BLOCK_DEVICE) {
            throw new ResizeError(ErrorCode.READ_FAILED, "Could not open '" + name + "': it is " + kind.words()
                    + ", not a regular file; DiskPlan resizes only image files and did not open it");
        }
        FileIdentity identity;
        try {
            identity = FileIdentity.of(path);
        } catch (IOException e) {
            throw new ResizeError(ErrorCode.READ_FAILED,
                    "Could not open '" + name + "': Could not open '" + name + "': " + ImageProber.describe(e));
        }
        if (!forRecovery) {
            UndoJournal.refuseIfPresent(path);
        }
        RandomAccessFile raf;
        try {
            raf = new RandomAccessFile(identity.realPath().toFile(), "rw");
        } catch (IOException e) {
            String reason = Files.isWritable(path) ? ImageProber.describe(e) : "Permission denied";
            throw new ResizeError(ErrorCode.READ_FAILED,
                    "Could not open '" + name + "': Could not open '" + name + "': " + reason);
        }
        FileLock lock;
        try {
            lock = raf.getChannel().tryLock(0, Long.MAX_VALUE, false);
        } catch (OverlappingFileLockException e) {
            lock = null; // this JVM already holds it (another window or thread)
        } catch (IOException e) {
            closeQuietly(raf);
            throw new ResizeError(ErrorCode.IMAGE_LOCKED,
                    "Could not open '" + name + "': Failed to lock the image: " + ImageProber.describe(e));
        }
        if (lock == null) {
            closeQuietly(raf);
            throw new ResizeError(ErrorCode.IMAGE_LOCKED, "Could not open '" + name
                    + "': Failed to get \"resize\" lock\nIs another process using the image [" + name + "]?");
        }
        LockedImage image = new LockedImage(path, identity, raf, lock);
        // a read that never answers gives the command up: the lock goes (an unlock never
        // waits for the blocked read, as closing the file would)
        FileLock held = lock;
        ReadWatch.onTimeout(image, new Runnable() {
            @Override
            public void run() {
                try {
                    held.release();
                } catch (IOException ignored) {
                    // the process exits next, which releases it
                }
            }
        });
        return image;
    }

    /**
     * Creates {@code path} (it must not exist) and locks it: a file a plan adds. It gets
     * the permissions of {@code like} (the image: a new extent beside a descriptor that
     * only its owner may read is no more open than the rest of the disk), and its owner
     * and group where this process may set them (a resize run as root of a disk that
     * belongs to the hypervisor's user gives that user the new extent too, so the VM can
     * still open every file of its disk). Its folder is synced so that the new name is
     * durable.
     */
    public static LockedImage create(Path path, Path like) throws ResizeError {
        try {
            java.nio.file.attribute.PosixFileAttributes model = posixAttributes(like);
            if (model == null) {
                Files.createFile(path);
            } else {
                // created for its owner alone, then given the model's exact permissions (not masked by umask)
                Files.createFile(path, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(java.util.EnumSet.of(
                        java.nio.file.attribute.PosixFilePermission.OWNER_READ,
                        java.nio.file.attribute.PosixFilePermission.OWNER_WRITE)));
                copyOwnership(path, model);
                Files.setPosixFilePermissions(path, model.permissions());
            }
            Io.syncDirectory(UndoJournal.directoryOf(path));
        } catch (java.nio.file.FileAlreadyExistsException e) {
            throw new ResizeError(ErrorCode.WRITE_FAILED, "Could not create '" + path + "': it exists already");
        } catch (IOException e) {
            throw new ResizeError(ErrorCode.WRITE_FAILED, "Could not create '" + path + "': "
                    + ImageProber.describe(e));
        }
        return open(path, true);
    }

    private static java.nio.file.attribute.PosixFileAttributes posixAttributes(Path file) {
        try {
            return Files.readAttributes(file, java.nio.file.attribute.PosixFileAttributes.class);
        } catch (UnsupportedOperationException | IOException e) {
            return null;
        }
    }

    /** Gives {@code path} the owner and group of {@code model} where allowed; where not, it stays this process's. */
    private static void copyOwnership(Path path, java.nio.file.attribute.PosixFileAttributes model) {
        java.nio.file.attribute.PosixFileAttributeView view = Files.getFileAttributeView(path,
                java.nio.file.attribute.PosixFileAttributeView.class);
        try {
            view.setGroup(model.group());
        } catch (IOException | SecurityException e) {
            // not a member of that group: the new file keeps this process's group
        }
        try {
            view.setOwner(model.owner());
        } catch (IOException | SecurityException e) {
            // only root may give a file away: the new file stays this process's
        }
    }

    /** The name the file was opened by (for messages). */
    public Path path() {
        return path;
    }

    /** The file really opened: its real path, device and inode. */
    public FileIdentity identity() {
        return identity;
    }

    RandomAccessFile file() {
        return file;
    }

    public FileChannel channel() {
        return file.getChannel();
    }

    /** A read-only view for probing and planning through the same open file. */
    public ImageReader reader() throws ResizeError {
        long size;
        try {
            size = channel().size();
        } catch (IOException e) {
            throw new ResizeError(ErrorCode.READ_FAILED, "Could not read '" + path + "': " + e.getMessage());
        }
        FileChannel ch = channel();
        return new ImageReader() {
            @Override
            public long size() {
                return size;
            }

            @Override
            public void readFullyUnchecked(long offset, byte[] into, int length) throws IOException {
                Io.readFully(path, ch, offset, into, length);
            }
        };
    }

    @Override
    public void close() {
        ReadWatch.onTimeout(this, null);
        try {
            lock.release();
        } catch (IOException ignored) {
            // closing the file releases it anyway
        }
        closeQuietly(file);
    }

    private static void closeQuietly(RandomAccessFile f) {
        try {
            f.close();
        } catch (IOException ignored) {
            // nothing useful to do
        }
    }
}
