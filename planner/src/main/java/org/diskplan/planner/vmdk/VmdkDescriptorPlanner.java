package org.diskplan.planner.vmdk;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.diskplan.abi.ErrorCode;
import org.diskplan.abi.ImageFormat;
import org.diskplan.abi.Preallocation;
import org.diskplan.abi.VmdkSubformat;
import org.diskplan.planner.Capabilities;
import org.diskplan.planner.FormatOptions;
import org.diskplan.planner.FormatPlanner;
import org.diskplan.planner.PlanBuilder;
import org.diskplan.planner.PlanFile;
import org.diskplan.planner.PlanReader;
import org.diskplan.planner.Planners;
import org.diskplan.planner.ResizeError;
import org.diskplan.planner.ResizePatch;
import org.diskplan.planner.ResizePatch.Extend;
import org.diskplan.planner.ResizePatch.Write;
import org.diskplan.planner.ResizePatch.ZeroFill;
import org.diskplan.planner.ResizePlan;
import org.diskplan.planner.ResizeRequest;
import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.RegionKind;
import org.diskplan.probe.vmdk.VmdkDescriptor;
import org.diskplan.probe.vmdk.VmdkDescriptorHeader;
import org.diskplan.probe.vmdk.VmdkExtentFile;
import org.diskplan.probe.vmdk.VmdkLayout;

/**
 * Resize of a VMDK whose descriptor is a file of its own and whose extents are flat:
 * monolithicFlat, vmfs (ESXi: {@code VMFS} extent lines) and twoGbMaxExtentFlat.
 *
 * <p><b>Grow:</b> the last extent's file is lengthened sparsely (bytes already past the old
 * extent end are zeroed first); for twoGbMaxExtentFlat the last extent is filled up to the
 * per-extent maximum — the size of the disk's first extent when there are several, else
 * VMware's 4192256 sectors — and new extent files are created (sparse) with the next names
 * ({@code -f004.vmdk}, ...), each at most that maximum. Barrier. The commit is the
 * descriptor, rewritten in one write: the last extent line's sector count, the new extent
 * lines after it (same form as the last), {@code ddb.geometry.cylinders}, a new CID; every
 * other line byte for byte. A shorter text is padded with NULs (qemu, vmdkinfo and DiskPlan
 * read a descriptor up to its first NUL) and the file cut at the final step.
 *
 * <p><b>Shrink:</b> the extent that holds the new end keeps its first sectors, every extent
 * past it is dropped: the descriptor is the commit (the kept extent's sector count, the
 * dropped extent lines removed), then the kept extent's file is cut at its new end (where
 * no other line uses the file and nothing lies past the extent), and the files of the
 * dropped extents that no kept line uses are removed by the plan ({@link PlanBuilder#removeFile}:
 * renamed aside at the final step, deleted once the resize is complete, put back by
 * {@code recover}).
 *
 * <p>Every extent file was resolved by the probe inside the descriptor's folder (no
 * absolute path, no {@code ..}, no symlink out of it); the planner refuses anything but a
 * regular file and never creates a file that exists.
 */
public final class VmdkDescriptorPlanner implements FormatPlanner<VmdkDescriptorHeader> {
    /** The extent size VMware gives twoGbMaxExtent disks: 2 GiB less 1 MiB. */
    static final long VMWARE_SPLIT_SECTORS = 4192256;
    /** No split extent may pass 2 GiB. */
    static final long MAX_SPLIT_SECTORS = (2L << 30) / VmdkLayout.SECTOR;
    static final Set<String> TYPES = Set.of("monolithicFlat", "vmfs", "twoGbMaxExtentFlat");
    private static final Pattern SPLIT_NAME = Pattern.compile("^(.*-f)(\\d+)(\\.vmdk)$", Pattern.CASE_INSENSITIVE);
    private static final Pattern EXTENT_LINE = Pattern.compile("^(\\s*\\S+\\s+)(\\d+)(\\s+\\S+\\s+)\"[^\"]*\"(.*)$");

    @Override
    public Set<ImageFormat> formats() {
        return Set.of(ImageFormat.VMDK_DESCRIPTOR);
    }

    @Override
    public Class<VmdkDescriptorHeader> headerType() {
        return VmdkDescriptorHeader.class;
    }

    @Override
    public Capabilities capabilities(ProbedImage image, VmdkDescriptorHeader header) {
        return typical();
    }

    @Override
    public Capabilities typical() {
        long max = Planners.MAX_LENGTH - Planners.MAX_LENGTH % VmdkLayout.SECTOR;
        return new Capabilities(true, EnumSet.of(Preallocation.OFF), VmdkLayout.SECTOR, false, max,
                "a multiple of 512", "Image size too large; max is " + max);
    }

    @Override
    public void checkOpen(ProbedImage image, VmdkDescriptorHeader h) throws ResizeError {
        VmdkDescriptor d = h.descriptor();
        var cids = org.diskplan.probe.vmdk.VmdkCids.qemuProblem(d.text());
        if (cids.isPresent()) {
            throw new ResizeError(ErrorCode.NEEDS_REPAIR, "Could not open '" + image.path() + "': Invalid argument ("
                    + "VMDK descriptor: " + cids.get() + ")");
        }
        if (!TYPES.contains(d.createType())) {
            throw new ResizeError(ErrorCode.UNSUPPORTED_SUBFORMAT, "VMDK descriptor field createType at offset "
                    + keyOffset(d, "createType") + ": \"" + d.createType() + "\" is not resized (DiskPlan resizes monolithicFlat, vmfs and "
                    + "twoGbMaxExtentFlat descriptors, and monolithicSparse disks; twoGbMaxExtentSparse is not "
                    + "done yet — qemu takes a sparse extent's size from its header and VMware from the descriptor "
                    + "line, so growing the last sparse extent and adding extent files is not one commit; convert it "
                    + "with `qemu-img convert -O vmdk`)");
        }
        if (!d.parentCid().isEmpty() && !d.parentCid().trim().equalsIgnoreCase("ffffffff")
                || d.parentFileNameHint().isPresent()) {
            throw new ResizeError(ErrorCode.UNSUPPORTED_SUBFORMAT, "VMDK descriptor field parentCID at offset "
                    + keyOffset(d, "parentCID") + ": " + d.parentCid() + ": a child (delta) disk is not resized; resize its base disk");
        }
        if (h.extents().isEmpty()) {
            throw new ResizeError(ErrorCode.UNSUPPORTED_SUBFORMAT, "VMDK descriptor: no extent lines");
        }
        for (VmdkExtentFile e : h.extents()) {
            String where = "VMDK descriptor extent line " + e.extent().lineNumber() + " at offset "
                    + e.extent().lineOffset() + " ('" + e.extent().line().strip() + "')";
            if (!e.extent().countedByQemu() || !(e.extent().type().equals("FLAT") || e.extent().type().equals("VMFS"))) {
                throw new ResizeError(ErrorCode.UNSUPPORTED_SUBFORMAT, where + ": only RW FLAT and VMFS extents "
                        + "are resized");
            }
            Path p = e.file().orElse(null);
            if (p == null || !e.exists() || !Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)
                    && !Files.isRegularFile(p)) {
                throw new ResizeError(ErrorCode.UNSUPPORTED_SUBFORMAT, where + ": the extent file is missing or "
                        + "not a regular file (a directory, FIFO or device is refused)");
            }
            long need = (e.extent().offset().orElse(0) + e.extent().sectors()) * VmdkLayout.SECTOR;
            if (e.fileSize() < need) {
                throw new ResizeError(ErrorCode.NEEDS_REPAIR, where + ": the extent file has " + e.fileSize()
                        + " bytes, the extent needs " + need);
            }
        }
        for (String flag : image.flags()) {
            if (flag.contains("twice")) {
                throw new ResizeError(ErrorCode.UNSUPPORTED_SUBFORMAT, "VMDK descriptor: " + flag
                        + "; remove the blank line first");
            }
        }
    }

    @Override
    public ResizePlan plan(ProbedImage image, VmdkDescriptorHeader h, PlanReader reader, ResizeRequest request)
            throws ResizeError {
        VmdkDescriptor d = h.descriptor();
        VmdkSubformat sub = d.createType().equals("twoGbMaxExtentFlat") ? VmdkSubformat.TWO_GB_MAX_EXTENT_FLAT
                : VmdkSubformat.MONOLITHIC_FLAT;
        FormatOptions.Vmdk options = new FormatOptions.Vmdk(sub, 0);
        if (request.newSize() == image.virtualSize()) {
            return PlanBuilder.noop(ImageFormat.VMDK_DESCRIPTOR, options, request, image.path(), image.fileSize(),
                    image.virtualSize());
        }
        boolean split = sub == VmdkSubformat.TWO_GB_MAX_EXTENT_FLAT;
        List<VmdkExtentFile> extents = h.extents();
        VmdkExtentFile last = extents.get(extents.size() - 1);
        long lastOffset = last.extent().offset().orElse(0);
        long oldSectors = image.virtualSize() / VmdkLayout.SECTOR;
        long newSectors = request.newSize() / VmdkLayout.SECTOR;
        long limit = !split ? Long.MAX_VALUE : Math.min(MAX_SPLIT_SECTORS, extents.size() > 1
                ? extents.get(0).extent().sectors() : Math.max(VMWARE_SPLIT_SECTORS, last.extent().sectors()));
        PlanBuilder plan = new PlanBuilder(ImageFormat.VMDK_DESCRIPTOR, options, request, image.path(),
                image.fileSize());
        DescriptorEdit edit = new DescriptorEdit(d.text());
        Path lastPath = last.file().orElseThrow();
        int lastFile = plan.file(lastPath, PlanFile.Role.EXTENT, last.fileSize());
        long oldEnd = (lastOffset + last.extent().sectors()) * VmdkLayout.SECTOR;
        List<ResizePatch> prep = new ArrayList<>();
        boolean grow = newSectors > oldSectors;
        long lastNew;
        if (grow) {
            long delta = newSectors - oldSectors;
            lastNew = last.extent().sectors() >= limit ? last.extent().sectors()
                    : Math.min(limit, last.extent().sectors() + delta);
            long remaining = delta - (lastNew - last.extent().sectors());
            long newEnd = (lastOffset + lastNew) * VmdkLayout.SECTOR;
            if (newEnd > oldEnd && last.fileSize() > oldEnd) {
                prep.add(new ZeroFill(lastFile, oldEnd, Math.min(last.fileSize(), newEnd) - oldEnd, false,
                        "zeros past the old extent end (bytes the extent will cover)", RegionKind.DATA));
            }
            if (newEnd > last.fileSize()) {
                prep.add(new Extend(lastFile, last.fileSize(), newEnd - last.fileSize(), "extent \""
                        + last.extent().fileName() + "\" lengthened to " + lastNew + " sectors (sparse zeros)",
                        RegionKind.DATA));
            }
            edit.extentSectors(last.extent().lineNumber(), lastNew);
            int line = last.extent().lineNumber();
            String name = last.extent().fileName();
            int added = 0;
            while (remaining > 0) {
                long sectors = Math.min(limit, remaining);
                name = nextName(name, last);
                Path p = lastPath.resolveSibling(name);
                if (Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                    throw new ResizeError(ErrorCode.UNSUPPORTED_SUBFORMAT, "VMDK descriptor extent line "
                            + last.extent().lineNumber() + ": the next extent file \"" + name
                            + "\" exists already; DiskPlan never overwrites a file it did not plan");
                }
                int f = plan.createFile(p, PlanFile.Role.EXTENT);
                prep.add(new Extend(f, 0, sectors * VmdkLayout.SECTOR, "new extent \"" + name + "\": " + sectors
                        + " sectors (sparse zeros)", RegionKind.DATA));
                edit.insertAfter(line + added, newLine(last, sectors, name));
                added++;
                remaining -= sectors;
            }
            if (added > 0) {
                plan.note(added + " extent file(s) added after \"" + last.extent().fileName() + "\", each at most "
                        + limit + " sectors (the disk's extent size), named as VMware names them");
            }
        } else {
            lastNew = last.extent().sectors() - (oldSectors - newSectors);
            if (lastNew <= 0) {
                return shrinkPastExtents(image, h, request, options, newSectors);
            }
            edit.extentSectors(last.extent().lineNumber(), lastNew);
        }
        edit.cylinders(request.newSize(), d.ddb());
        String cid = DescriptorEdit.newCid(d.cid(), new SecureRandom());
        edit.cid(cid);
        byte[] text = edit.bytes();
        byte[] old = d.text().getBytes(StandardCharsets.ISO_8859_1);
        long length = image.fileSize();
        byte[] write = text.length >= length ? text : Arrays.copyOf(text, (int) length);
        plan.note("descriptor: extent line " + last.extent().lineNumber() + " -> " + lastNew + " sectors, "
                + "ddb.geometry.cylinders, CID " + d.cid() + " -> " + cid + " (a new content ID, as VMware and qemu "
                + "give a changed disk; parentCID kept); every other line kept byte for byte"
                + (old.length != d.text().length() ? "" : ""));
        if (grow) {
            plan.phase(prep);
            plan.commit(new Write(0, write, "descriptor: extents, cylinders, CID", RegionKind.METADATA));
        } else {
            plan.commit(new Write(0, write, "descriptor: extents, cylinders, CID", RegionKind.METADATA));
            long newEnd = (lastOffset + lastNew) * VmdkLayout.SECTOR;
            if (last.fileSize() <= oldEnd) {
                plan.finalLength(lastFile, newEnd);
                plan.note("extent \"" + last.extent().fileName() + "\" cut to " + newEnd + " bytes");
            }
        }
        plan.finalLength(ResizePatch.IMAGE, text.length);
        return plan.build(Planners.actionFor(image.virtualSize(), request.newSize()), image.virtualSize(),
                request.newSize());
    }

    /**
     * A shrink whose new end lies before the last extent: the extent holding the new end is
     * cut, the extents after it are dropped from the descriptor and their files removed.
     */
    private static ResizePlan shrinkPastExtents(ProbedImage image, VmdkDescriptorHeader h, ResizeRequest request,
                                                FormatOptions.Vmdk options, long newSectors) throws ResizeError {
        VmdkDescriptor d = h.descriptor();
        List<VmdkExtentFile> extents = h.extents();
        int keep = 0;
        long start = 0;
        while (start + extents.get(keep).extent().sectors() < newSectors) {
            start += extents.get(keep).extent().sectors();
            keep++;
        }
        VmdkExtentFile kept = extents.get(keep);
        long keptNew = newSectors - start;
        if (keptNew <= 0) {
            throw new ResizeError(ErrorCode.UNSUPPORTED_SHRINK, "VMDK descriptor: a disk of " + newSectors
                    + " sectors has no extent; refusing");
        }
        PlanBuilder plan = new PlanBuilder(ImageFormat.VMDK_DESCRIPTOR, options, request, image.path(),
                image.fileSize());
        DescriptorEdit edit = new DescriptorEdit(d.text());
        edit.extentSectors(kept.extent().lineNumber(), keptNew);
        List<Path> keptFiles = new ArrayList<>();
        for (int i = 0; i <= keep; i++) {
            keptFiles.add(realFile(extents.get(i)));
        }
        List<Path> removed = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (int i = extents.size() - 1; i > keep; i--) {
            VmdkExtentFile e = extents.get(i);
            edit.remove(e.extent().lineNumber());
            Path real = realFile(e);
            if (!keptFiles.contains(real) && !removed.contains(real)) {
                removed.add(real);
                names.add(0, e.extent().fileName());
            }
        }
        Path keptReal = realFile(kept);
        long keptEnd = (kept.extent().offset().orElse(0) + kept.extent().sectors()) * VmdkLayout.SECTOR;
        long keptNewEnd = (kept.extent().offset().orElse(0) + keptNew) * VmdkLayout.SECTOR;
        boolean shared = extents.stream().filter(e -> e != kept).anyMatch(e -> realFile(e).equals(keptReal));
        int keptFile = -1;
        if (!shared && kept.fileSize() <= keptEnd && keptNewEnd < kept.fileSize()) {
            keptFile = plan.file(kept.file().orElseThrow(), PlanFile.Role.EXTENT, kept.fileSize());
        }
        List<Integer> gone = new ArrayList<>();
        for (int i = keep + 1; i < extents.size(); i++) {
            VmdkExtentFile e = extents.get(i);
            Path real = realFile(e);
            if (removed.contains(real)) {
                removed.remove(real);
                gone.add(plan.file(e.file().orElseThrow(), PlanFile.Role.EXTENT, e.fileSize()));
            }
        }
        edit.cylinders(request.newSize(), d.ddb());
        String cid = DescriptorEdit.newCid(d.cid(), new SecureRandom());
        edit.cid(cid);
        byte[] text = edit.bytes();
        long length = image.fileSize();
        byte[] write = text.length >= length ? text : Arrays.copyOf(text, (int) length);
        plan.commit(new Write(0, write, "descriptor: extents, cylinders, CID", RegionKind.METADATA));
        if (keptFile >= 0) {
            plan.finalLength(keptFile, keptNewEnd);
            plan.note("extent \"" + kept.extent().fileName() + "\" cut to " + keptNewEnd + " bytes");
        }
        gone.forEach(plan::removeFile);
        plan.finalLength(ResizePatch.IMAGE, text.length);
        plan.note("descriptor: extent line " + kept.extent().lineNumber() + " -> " + keptNew + " sectors, "
                + (extents.size() - 1 - keep) + " extent line(s) after it removed, ddb.geometry.cylinders, CID "
                + d.cid() + " -> " + cid + "; every other line kept byte for byte");
        if (!names.isEmpty()) {
            plan.note("extent file(s) " + String.join(", ", names) + " removed: renamed to <name>"
                    + PlanFile.REMOVED_SUFFIX + " at the final step and deleted once the resize is complete "
                    + "(`diskplan recover` puts them back if it is interrupted before)");
        }
        return plan.build(Planners.actionFor(image.virtualSize(), request.newSize()), image.virtualSize(),
                request.newSize());
    }

    /** The extent's file with every link resolved (two lines naming one file are one file). */
    private static Path realFile(VmdkExtentFile e) {
        Path p = e.file().orElseThrow();
        try {
            return p.toRealPath();
        } catch (java.io.IOException ex) {
            return p.toAbsolutePath().normalize();
        }
    }

    /** Byte offset of the line that sets {@code key} (0 when absent). */
    static long keyOffset(VmdkDescriptor d, String key) {
        Matcher m = Pattern.compile("(?m)^\\s*" + key + "\\s*=").matcher(d.text());
        return d.offset() + (m.find() ? m.start() : 0);
    }

    /** The split extent's next name: {@code disk-f003.vmdk} -> {@code disk-f004.vmdk}, the width kept. */
    private static String nextName(String name, VmdkExtentFile last) throws ResizeError {
        Matcher m = SPLIT_NAME.matcher(name);
        if (!m.matches() || name.contains("/") || name.contains("\\")) {
            throw new ResizeError(ErrorCode.UNSUPPORTED_SUBFORMAT, "VMDK descriptor extent line "
                    + last.extent().lineNumber() + ": extent file \"" + last.extent().fileName()
                    + "\" is not named <disk>-fNNN.vmdk, so DiskPlan cannot name the next extent as VMware does");
        }
        long n = Long.parseLong(m.group(2)) + 1;
        String digits = String.format("%0" + m.group(2).length() + "d", n);
        return m.group(1) + digits + m.group(3);
    }

    /** An extent line like {@code last}'s, for a new file at offset 0. */
    private static String newLine(VmdkExtentFile last, long sectors, String name) throws ResizeError {
        Matcher m = EXTENT_LINE.matcher(last.extent().line().strip());
        if (!m.matches()) {
            throw new ResizeError(ErrorCode.PARSE_FAILED, "VMDK descriptor extent line "
                    + last.extent().lineNumber() + ": cannot be used as the form of a new extent line");
        }
        String tail = m.group(4).isBlank() ? m.group(4) : m.group(4).replaceFirst("\\d+", "0");
        return m.group(1) + sectors + m.group(3) + "\"" + name + "\"" + tail;
    }
}
