package org.diskplan.planner.luks;

import java.util.EnumSet;
import java.util.Set;
import org.diskplan.abi.ErrorCode;
import org.diskplan.abi.ImageFormat;
import org.diskplan.abi.Preallocation;
import org.diskplan.planner.Capabilities;
import org.diskplan.planner.FileTail;
import org.diskplan.planner.FormatOptions;
import org.diskplan.planner.FormatPlanner;
import org.diskplan.planner.PlanBuilder;
import org.diskplan.planner.PlanReader;
import org.diskplan.planner.Planners;
import org.diskplan.planner.ResizeError;
import org.diskplan.planner.ResizePlan;
import org.diskplan.planner.ResizeRequest;
import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.crypto.LuksHeader;

/**
 * A raw LUKS container resized as qemu's block-crypto driver does it
 * (block_crypto_co_truncate): the file becomes the payload offset plus the new size, cut
 * or lengthened by the file driver with the same preallocation mode, and nothing else
 * changes — the header, key slots and payload stay, so no passphrase is needed. The new
 * range holds zero bytes on disk, which the guest reads through the cipher: not zeros,
 * but the decryption of zeros, until it writes there (as with qemu-img resize).
 */
public final class LuksPlanner implements FormatPlanner<LuksHeader> {
    static final long SECTOR = 512;
    private static final Set<Preallocation> MODES = EnumSet.of(Preallocation.OFF, Preallocation.FALLOC,
            Preallocation.FULL);

    @Override
    public Set<ImageFormat> formats() {
        return Set.of(ImageFormat.LUKS);
    }

    @Override
    public Class<LuksHeader> headerType() {
        return LuksHeader.class;
    }

    @Override
    public Capabilities capabilities(ProbedImage image, LuksHeader h) {
        return capabilities(h.payloadOffset() * SECTOR);
    }

    /** As for a container qemu-img creates: a 2 MiB header area (payload at sector 4096). */
    @Override
    public Capabilities typical() {
        return capabilities(4096 * SECTOR);
    }

    private static Capabilities capabilities(long payloadBytes) {
        return new Capabilities(true, MODES, 1, false, Planners.MAX_LENGTH - payloadBytes, "a whole number of bytes",
                "offset exceeds maximum");
    }

    @Override
    public void checkOpen(ProbedImage image, LuksHeader h) throws ResizeError {
        for (String flag : image.flags()) {
            if (flag.startsWith("corrupt:")) {
                throw new ResizeError(ErrorCode.NEEDS_REPAIR, "Could not open '" + image.path() + "': LUKS header "
                        + flag.substring("corrupt:".length()).trim(), ResizeError.Location.of(ResizeError.Kind.CORRUPT));
            }
        }
    }

    /** The file driver's bound on the file's new length (payload offset + new size), in its words. */
    @Override
    public void checkRequest(ProbedImage image, LuksHeader h, ResizeRequest request) throws ResizeError {
        long payload = h.payloadOffset() * SECTOR;
        if (request.newSize() > Planners.MAX_LENGTH - payload) {
            throw new ResizeError(ErrorCode.INVALID_NEW_SIZE, "offset(" + (request.newSize() + payload)
                    + ") exceeds maximum(" + Planners.MAX_LENGTH + ")");
        }
    }

    @Override
    public ResizePlan plan(ProbedImage image, LuksHeader h, PlanReader reader, ResizeRequest request)
            throws ResizeError {
        long payload = h.payloadOffset() * SECTOR;
        long oldSize = image.virtualSize();
        long newSize = request.newSize();
        FormatOptions.Luks options = new FormatOptions.Luks(payload);
        // The header is what the size depends on: the applier re-checks it before writing.
        reader.read(0, (int) Math.min(payload, 4096), "LUKS header");
        if (newSize == oldSize) {
            return PlanBuilder.noop(ImageFormat.LUKS, options, request, image.path(), image.fileSize(), oldSize);
        }
        long oldLength = image.fileSize();
        long newLength = payload + newSize;
        PlanBuilder plan = new PlanBuilder(ImageFormat.LUKS, options, request, image.path(), oldLength);
        if (FileTail.lengthen(plan, oldLength, newLength, request.preallocation(), "the new encrypted range")) {
            plan.commitAt(0);
        } else {
            plan.commitAtFinalStep();
        }
        if (newSize > oldSize) {
            plan.note("the new range holds zero bytes on disk; through the cipher the guest reads them as the "
                    + "decryption of zeros (not zeros) until it writes there, as after qemu-img resize");
        }
        plan.note("the LUKS header and key slots are not touched: no passphrase is needed");
        return plan.finalLength(0, newLength).build(Planners.actionFor(oldSize, newSize), oldSize, newSize);
    }
}
