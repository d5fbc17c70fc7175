package org.diskplan.planner.vmdk;

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
import org.diskplan.probe.vmdk.VmdkHeader;
import org.diskplan.probe.vmdk.VmdkLayout;
import org.diskplan.probe.vmdk.NewSparseExtent;

// No lambdas or streams here: this class runs on the command line's start-up path (see ReadWatch / issue 20).
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
    static final Set<String> TYPES = Set.of("monolithicFlat", "vmfs", "twoGbMaxExtentFlat", "twoGbMaxExtentSparse");

    /**
     * Compiled on first use, not when the planner registry makes every planner: a qcow2
     * command would otherwise load and compile regular expressions at every start.
     */
    private static final class Patterns {
        static final Pattern SPLIT_NAME = Pattern.compile("^(.*-[fs])(\\d+)(\\.vmdk)$", Pattern.CASE_INSENSITIVE);
        static final Pattern EXTENT_LINE = Pattern.compile("^(\\s*\\S+\\s+)(\\d+)(\\s+\\S+\\s+)\"[^\"]*\"(.*)$");
    }

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
            throw ResizeError.atField(ErrorCode.UNSUPPORTED_SUBFORMAT, ResizeError.Kind.UNSUPPORTED, "VMDK descriptor",
                    "createType", keyOffset(d, "createType"), ": \"" + d.createType() + "\" is not resized (DiskPlan resizes "
                    + "monolithicFlat, vmfs, twoGbMaxExtentFlat and twoGbMaxExtentSparse descriptors, and "
                    + "monolithicSparse disks; convert it with `qemu-img convert -O vmdk`)");
        }
        if (!d.parentCid().isEmpty() && !d.parentCid().trim().equalsIgnoreCase("ffffffff")
                || d.parentFileNameHint().isPresent()) {
            throw ResizeError.atField(ErrorCode.UNSUPPORTED_SUBFORMAT, ResizeError.Kind.UNSUPPORTED, "VMDK descriptor",
                    "parentCID", keyOffset(d, "parentCID"), ": " + d.parentCid() + ": a child (delta) disk is not resized; resize its base disk");
        }
        if (h.extents().isEmpty()) {
            throw new ResizeError(ErrorCode.UNSUPPORTED_SUBFORMAT, "VMDK descriptor: no extent lines");
        }
        boolean sparse = d.createType().equals("twoGbMaxExtentSparse");
        for (VmdkExtentFile e : h.extents()) {
            String where = "VMDK descriptor extent line " + e.extent().lineNumber() + " at offset "
                    + e.extent().lineOffset() + " ('" + e.extent().line().strip() + "')";
            boolean ok = sparse ? e.extent().type().equals("SPARSE")
                    : e.extent().type().equals("FLAT") || e.extent().type().equals("VMFS");
            if (!e.extent().countedByQemu() || !ok) {
                throw new ResizeError(ErrorCode.UNSUPPORTED_SUBFORMAT, where + ": only RW FLAT and VMFS extents "
                        + "(RW SPARSE in a twoGbMaxExtentSparse disk) are resized");
            }
            Path p = e.file().orElse(null);
            if (p == null || !e.exists() || !Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)
                    && !Files.isRegularFile(p)) {
                throw new ResizeError(ErrorCode.UNSUPPORTED_SUBFORMAT, where + ": the extent file is missing or "
                        + "not a regular file (a directory, FIFO or device is refused)");
            }
            if (sparse) {
                checkSparseExtent(where, e);
                continue;
            }
            long need = (e.extent().offset().orElse(0) + e.extent().sectors()) * VmdkLayout.SECTOR;
            if (e.fileSize() < need) {
                throw new ResizeError(ErrorCode.NEEDS_REPAIR, where + ": the extent file has " + e.fileSize()
                        + " bytes, the extent needs " + need);
            }
        }
        for (String flag : image.flags()) {
            if (sparse && (flag.contains("corrupt") || flag.contains("scanned partially"))) {
                throw new ResizeError(ErrorCode.NEEDS_REPAIR, "VMDK sparse extent: " + flag
                        + "; DiskPlan resizes only sparse extents it has read completely and found consistent");
            }
            if (flag.startsWith(org.diskplan.probe.vmdk.VmdkDescriptorProbe.SAME_FILE)) {
                throw new ResizeError(ErrorCode.NEEDS_REPAIR, "VMDK descriptor: " + flag + "; DiskPlan does not resize "
                        + "a disk qemu cannot open read-write");
            }
            if (flag.contains("twice")) {
                throw new ResizeError(ErrorCode.UNSUPPORTED_SUBFORMAT, "VMDK descriptor: " + flag
                        + "; remove the blank line first");
            }
        }
    }

    /**
     * A sparse extent of a twoGbMaxExtentSparse disk: a hosted sparse header DiskPlan read
     * completely, not stream-optimized, and its capacity equal to the descriptor line's
     * count. qemu's vmdk_open_sparse sizes the extent by the header's capacity and ignores
     * the line's count; VMware's spec sizes it by the line. Where they differ the two
     * readers see different disks, and DiskPlan keeps them equal, so it refuses.
     */
    private static void checkSparseExtent(String where, VmdkExtentFile e) throws ResizeError {
        if (e.sparseHeader().isEmpty()) {
            throw new ResizeError(ErrorCode.UNSUPPORTED_SUBFORMAT, where
                    + ": the sparse extent's header was not read (only hosted \"KDMV\" extents are resized)");
        }
        VmdkHeader sh = e.sparseHeader().get();
        if (sh.gdAtEnd() || sh.compressed() || sh.markers() || !sh.grainTablesScanned()) {
            throw new ResizeError(ErrorCode.UNSUPPORTED_SUBFORMAT, where + ": a compressed, stream-optimized or "
                    + "not completely read sparse extent is not resized");
        }
        if (sh.capacity() != e.extent().sectors()) {
            throw new ResizeError(ErrorCode.NEEDS_REPAIR, where + ": the extent's header says capacity "
                    + sh.capacity() + " sectors (offset 12), the line " + e.extent().sectors() + "; qemu sizes a "
                    + "sparse extent by its header, VMware by the line, so they disagree about this disk");
        }
    }

    @Override
    public ResizePlan plan(ProbedImage image, VmdkDescriptorHeader h, PlanReader reader, ResizeRequest request)
            throws ResizeError {
        if (h.descriptor().createType().equals("twoGbMaxExtentSparse")) {
            return planSparse(image, h, request);
        }
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
                Path p = newExtentFile(lastPath, name, last);
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
        if (grow) {
            plan.phase(prep);
        }
        String cid = commitDescriptor(plan, edit, d, request.newSize(), image.fileSize());
        plan.note("descriptor: extent line " + last.extent().lineNumber() + " -> " + lastNew + " sectors, "
                + "ddb.geometry.cylinders, CID " + d.cid() + " -> " + cid + " (a new content ID, as VMware and qemu "
                + "give a changed disk; parentCID kept); every other line kept byte for byte");
        if (!grow) {
            long newEnd = (lastOffset + lastNew) * VmdkLayout.SECTOR;
            if (last.fileSize() <= oldEnd) {
                plan.finalLength(lastFile, newEnd);
                plan.note("extent \"" + last.extent().fileName() + "\" cut to " + newEnd + " bytes");
            }
        }
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
        boolean shared = false;
        for (VmdkExtentFile e : extents) {
            if (e != kept && realFile(e).equals(keptReal)) {
                shared = true;
                break;
            }
        }
        int keptFile = -1;
        boolean flat = !kept.extent().type().equals("SPARSE");
        if (flat && !shared && kept.fileSize() <= keptEnd && keptNewEnd < kept.fileSize()) {
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
        String cid = commitDescriptor(plan, edit, d, request.newSize(), image.fileSize());
        if (keptFile >= 0) {
            plan.finalLength(keptFile, keptNewEnd);
            plan.note("extent \"" + kept.extent().fileName() + "\" cut to " + keptNewEnd + " bytes");
        }
        for (int g : gone) {
            plan.removeFile(g);
        }
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

    /**
     * twoGbMaxExtentSparse. Grow: new sparse extents (named as VMware names them,
     * {@code -s003.vmdk}, ...; each at most the disk's extent size; header, empty directories,
     * grain tables as holes) are created, then the descriptor lists them: the commit. The
     * last extent is not lengthened: that would change its header's capacity (what qemu
     * reads) and the descriptor line (what VMware reads), two writes in two files with no
     * single commit, and between them the readers would see different disks. Shrink: only
     * to an extent boundary, the extents past it dropped and their files removed.
     */
    private static ResizePlan planSparse(ProbedImage image, VmdkDescriptorHeader h, ResizeRequest request)
            throws ResizeError {
        VmdkDescriptor d = h.descriptor();
        FormatOptions.Vmdk options = new FormatOptions.Vmdk(VmdkSubformat.TWO_GB_MAX_EXTENT_SPARSE, 0);
        if (request.newSize() == image.virtualSize()) {
            return PlanBuilder.noop(ImageFormat.VMDK_DESCRIPTOR, options, request, image.path(), image.fileSize(),
                    image.virtualSize());
        }
        List<VmdkExtentFile> extents = h.extents();
        VmdkExtentFile last = extents.get(extents.size() - 1);
        long oldSectors = image.virtualSize() / VmdkLayout.SECTOR;
        long newSectors = request.newSize() / VmdkLayout.SECTOR;
        if (newSectors < oldSectors) {
            long start = 0;
            for (VmdkExtentFile e : extents) {
                if (start == newSectors) {
                    break;
                }
                start += e.extent().sectors();
                if (start > newSectors) {
                    throw new ResizeError(ErrorCode.UNSUPPORTED_SHRINK, "VMDK descriptor extent line "
                            + e.extent().lineNumber() + " at offset " + e.extent().lineOffset() + ": a sparse extent "
                            + "is not cut (its header's capacity, which qemu reads, and the descriptor line, which "
                            + "VMware reads, would change in two files with no single commit); shrink to an extent "
                            + "boundary, e.g. " + (start - e.extent().sectors()) * VmdkLayout.SECTOR + " or "
                            + start * VmdkLayout.SECTOR + " bytes");
                }
            }
            return shrinkPastExtents(image, h, request, options, newSectors);
        }
        long limit = Math.min(MAX_SPLIT_SECTORS, extents.size() > 1 ? extents.get(0).extent().sectors()
                : Math.max(VMWARE_SPLIT_SECTORS, last.extent().sectors()));
        VmdkHeader like = last.sparseHeader().orElseThrow();
        PlanBuilder plan = new PlanBuilder(ImageFormat.VMDK_DESCRIPTOR, options, request, image.path(),
                image.fileSize());
        DescriptorEdit edit = new DescriptorEdit(d.text());
        Path lastPath = last.file().orElseThrow();
        List<ResizePatch> fresh = new ArrayList<>();
        long remaining = newSectors - oldSectors;
        String name = last.extent().fileName();
        int line = last.extent().lineNumber();
        int added = 0;
        while (remaining > 0) {
            long sectors = Math.min(limit, remaining);
            name = nextName(name, last);
            Path p = newExtentFile(lastPath, name, last);
            NewSparseExtent layout = NewSparseExtent.like(like, sectors);
            int f = plan.createFile(p, PlanFile.Role.EXTENT);
            fresh.add(new Write(f, 0, layout.header(like), true, "new sparse extent \"" + name + "\": header, "
                    + sectors + " sectors", RegionKind.HEADER));
            if (layout.rgdOffset() != 0) {
                fresh.add(new Write(f, layout.rgdOffset() * VmdkLayout.SECTOR, layout.directory(layout.rgdOffset()),
                        false, "\"" + name + "\": redundant grain directory", RegionKind.TABLE));
            }
            fresh.add(new Write(f, layout.gdOffset() * VmdkLayout.SECTOR, layout.directory(layout.gdOffset()), false,
                    "\"" + name + "\": grain directory", RegionKind.TABLE));
            long tablesEnd = layout.gdOffset() * VmdkLayout.SECTOR + layout.directory(layout.gdOffset()).length;
            fresh.add(new Extend(f, tablesEnd, layout.overHead() * VmdkLayout.SECTOR - tablesEnd, "\"" + name
                    + "\": empty grain tables up to the first grain (sparse zeros)", RegionKind.TABLE));
            edit.insertAfter(line + added, newLine(last, sectors, name));
            added++;
            remaining -= sectors;
        }
        plan.freshPhase(fresh);
        String cid = commitDescriptor(plan, edit, d, request.newSize(), image.fileSize());
        plan.note(added + " sparse extent file(s) added after \"" + last.extent().fileName() + "\", each at most "
                + limit + " sectors, named as VMware names them; their headers' capacity equals their descriptor "
                + "lines (qemu reads the one, VMware the other)");
        if (last.extent().sectors() < limit) {
            plan.note("the last extent \"" + last.extent().fileName() + "\" keeps its " + last.extent().sectors()
                    + " sectors: lengthening it would change its header and the descriptor, two files with no single "
                    + "commit write");
        }
        plan.note("descriptor: new extent lines after line " + line + ", ddb.geometry.cylinders, CID " + d.cid()
                + " -> " + cid + "; every other line kept byte for byte");
        return plan.build(Planners.actionFor(image.virtualSize(), request.newSize()), image.virtualSize(),
                request.newSize());
    }

    /**
     * The commit of every descriptor plan: {@code ddb.geometry.cylinders} for the new size and
     * a new CID set in {@code edit}, the text written in one step (a shorter text padded with
     * NULs to the old length), the file cut after the text at the final step. Returns the CID.
     */
    private static String commitDescriptor(PlanBuilder plan, DescriptorEdit edit, VmdkDescriptor d, long newSize,
                                           long length) {
        edit.cylinders(newSize, d.ddb());
        String cid = DescriptorEdit.newCid(d.cid(), new SecureRandom());
        edit.cid(cid);
        byte[] text = edit.bytes();
        byte[] write = text.length >= length ? text : Arrays.copyOf(text, (int) length);
        plan.commit(new Write(0, write, "descriptor: extents, cylinders, CID", RegionKind.METADATA));
        plan.finalLength(ResizePatch.IMAGE, text.length);
        return cid;
    }

    /** The next extent file, {@code name} beside the last one; refused when it exists. */
    private static Path newExtentFile(Path lastPath, String name, VmdkExtentFile last) throws ResizeError {
        Path p = lastPath.resolveSibling(name);
        if (Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
            throw new ResizeError(ErrorCode.UNSUPPORTED_SUBFORMAT, "VMDK descriptor extent line "
                    + last.extent().lineNumber() + ": the next extent file \"" + name
                    + "\" exists already; DiskPlan never overwrites a file it did not plan");
        }
        return p;
    }

    /** Byte offset of the line that sets {@code key} (0 when absent). */
    static long keyOffset(VmdkDescriptor d, String key) {
        Matcher m = Pattern.compile("(?m)^\\s*" + key + "\\s*=").matcher(d.text());
        return d.offset() + (m.find() ? m.start() : 0);
    }

    /** The split extent's next name: {@code disk-f003.vmdk} -> {@code disk-f004.vmdk}, the width kept. */
    private static String nextName(String name, VmdkExtentFile last) throws ResizeError {
        Matcher m = Patterns.SPLIT_NAME.matcher(name);
        if (!m.matches() || name.contains("/") || name.contains("\\")) {
            throw new ResizeError(ErrorCode.UNSUPPORTED_SUBFORMAT, "VMDK descriptor extent line "
                    + last.extent().lineNumber() + ": extent file \"" + last.extent().fileName()
                    + "\" is not named <disk>-fNNN.vmdk, so DiskPlan cannot name the next extent as VMware does");
        }
        long n = Long.parseLong(m.group(2)) + 1;
        StringBuilder digits = new StringBuilder(Long.toString(n)); // not String.format: no Formatter or locale data
        while (digits.length() < m.group(2).length()) {
            digits.insert(0, '0');
        }
        return m.group(1) + digits + m.group(3);
    }

    /** An extent line like {@code last}'s, for a new file at offset 0. */
    private static String newLine(VmdkExtentFile last, long sectors, String name) throws ResizeError {
        Matcher m = Patterns.EXTENT_LINE.matcher(last.extent().line().strip());
        if (!m.matches()) {
            throw new ResizeError(ErrorCode.PARSE_FAILED, "VMDK descriptor extent line "
                    + last.extent().lineNumber() + ": cannot be used as the form of a new extent line");
        }
        String tail = m.group(4).isBlank() ? m.group(4) : m.group(4).replaceFirst("\\d+", "0");
        return m.group(1) + sectors + m.group(3) + "\"" + name + "\"" + tail;
    }
}
