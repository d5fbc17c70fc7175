package org.diskplan.planner;

import java.nio.file.Path;
import java.util.Optional;
import org.diskplan.abi.ErrorCode;
import org.diskplan.probe.FileKind;
import org.diskplan.probe.ImageProber;
import org.diskplan.probe.ProbeException;
import org.diskplan.probe.ProbedImage;

/**
 * The backing file of an overlay image (qcow2, QED), as qemu finds it: a relative name
 * is relative to the overlay's folder. qemu-img resize opens it, and bdrv_co_truncate
 * compares its length with the overlay's old size.
 */
public final class BackingFile {
    private BackingFile() {
    }

    /** The path qemu opens for {@code name}, written in {@code image}'s header. */
    public static Path resolve(ProbedImage image, String name) {
        Path p = Path.of(name);
        return p.isAbsolute() ? p : image.path().toAbsolutePath().resolveSibling(name);
    }

    /**
     * Whether the backing file {@code name} (of format {@code format}, empty to probe) is
     * longer than {@code oldSize}: then qemu zeroes the new range of a grow, so that the
     * backing file's data does not show through (BDRV_REQ_ZERO_WRITE).
     */
    public static boolean longerThan(ProbedImage image, String name, String format, long oldSize)
            throws ResizeError {
        if (name.isEmpty()) {
            return false;
        }
        Path backing = resolve(image, name);
        if (FileKind.refusalToRead(backing).isPresent()) {
            // a FIFO or a device is never opened (it could block forever): its length is
            // unknowable, so the new range is zeroed as over a longer backing file
            return true;
        }
        long backingSize;
        try {
            backingSize = ImageProber.probe(backing,
                    format.isEmpty() ? Optional.empty() : Optional.of(format)).virtualSize();
        } catch (ProbeException e) {
            throw new ResizeError(ErrorCode.READ_FAILED, "Could not open backing file '" + name + "': "
                    + e.getMessage());
        }
        return backingSize > oldSize;
    }
}
