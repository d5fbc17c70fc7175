package org.diskplan.planner.vhd;

import static org.diskplan.probe.vhd.VhdLayout.BAT_ENTRY_SIZE;
import static org.diskplan.probe.vhd.VhdLayout.DISK_TYPE_DIFFERENCING;
import static org.diskplan.probe.vhd.VhdLayout.DISK_TYPE_DYNAMIC;
import static org.diskplan.probe.vhd.VhdLayout.DISK_TYPE_FIXED;
import static org.diskplan.probe.vhd.VhdLayout.DYNAMIC_HEADER_SIZE;
import static org.diskplan.probe.vhd.VhdLayout.FOOTER_SIZE;
import static org.diskplan.probe.vhd.VhdLayout.SECTOR;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.diskplan.abi.ErrorCode;
import org.diskplan.abi.ImageFormat;
import org.diskplan.abi.Preallocation;
import org.diskplan.abi.VhdSubformat;
import org.diskplan.planner.Capabilities;
import org.diskplan.planner.FormatOptions;
import org.diskplan.planner.FormatPlanner;
import org.diskplan.planner.PlanBuilder;
import org.diskplan.planner.PlanReader;
import org.diskplan.planner.Planners;
import org.diskplan.planner.ResizeError;
import org.diskplan.planner.ResizePatch;
import org.diskplan.planner.ResizePatch.Copy;
import org.diskplan.planner.ResizePatch.Write;
import org.diskplan.planner.ResizePatch.ZeroFill;
import org.diskplan.planner.ResizePlan;
import org.diskplan.planner.ResizeRequest;
import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.RegionKind;
import org.diskplan.probe.vhd.VhdHeader;
import org.diskplan.probe.vhd.VhdLayout;

/**
 * VHD resize (qemu driver "vpc"), fixed and dynamic, grow and shrink. Only fields are
 * patched (original_size, current_size, geometry, checksum; table_offset,
 * max_table_entries, checksum): the UUID, creator, host OS, timestamps, saved state and
 * parent locators stay as they were. original_size has to follow, because libvhdi reports
 * it as the media size. The size every reader sees is {@link VhdSize}.
 *
 * <p>Crash order. A fixed image is read through the footer at its end, so the file must
 * end in a valid footer after every step: a grow first writes a copy of the old footer at
 * the new end (one write past the end: the gap is a hole), then clears the old footer and
 * fills the new range, and commits by patching the size fields of the footer at the end.
 * A fixed shrink commits by patching the footer at the end, then writes the footer at the
 * new end and cuts the file. A dynamic image is read by qemu through the footer copy at
 * offset 0 (the commit, always last) and by libvhdi through the footer at the end (written
 * just before the commit); the BAT grows first (in place, or relocated to the end behind
 * a copy of the footer, so the file always ends in one), then the dynamic header switches
 * to it.
 */
public final class VhdPlanner implements FormatPlanner<VhdHeader> {
    /** qemu's VHD_MAX_SECTORS × 512: 2040 GiB. */
    public static final long MAX_SIZE = VhdLayout.MAX_SECTORS * SECTOR;
    private static final String SIZE_RULE = "a multiple of 512";
    private static final String TOO_LARGE = "The new size exceeds the VHD maximum of 2040 GiB ("
            + MAX_SIZE + " bytes)";
    private static final Capabilities FIXED = new Capabilities(true,
            EnumSet.of(Preallocation.OFF, Preallocation.FALLOC, Preallocation.FULL), SECTOR, false, MAX_SIZE,
            SIZE_RULE, TOO_LARGE);
    private static final Capabilities DYNAMIC = new Capabilities(true, EnumSet.of(Preallocation.OFF), SECTOR, false,
            MAX_SIZE, SIZE_RULE, TOO_LARGE);

    @Override
    public Set<ImageFormat> formats() {
        return Set.of(ImageFormat.VHD);
    }

    @Override
    public Class<VhdHeader> headerType() {
        return VhdHeader.class;
    }

    @Override
    public Capabilities capabilities(ProbedImage image, VhdHeader h) {
        return h.hasFooterCopy() ? DYNAMIC : FIXED;
    }

    @Override
    public Capabilities typical() {
        return DYNAMIC;
    }

    @Override
    public long effectiveSize(ProbedImage image, VhdHeader h, long requested) {
        return VhdSize.of(h, requested).bytes();
    }

    @Override
    public void checkOpen(ProbedImage image, VhdHeader h) throws ResizeError {
        if (h.diskType() == DISK_TYPE_DIFFERENCING) {
            throw new ResizeError(ErrorCode.UNSUPPORTED_SUBFORMAT, "'" + image.path() + "' is a differencing VHD "
                    + "(parent " + (h.parentName().isEmpty() ? h.parentUniqueId() : h.parentName()) + "): DiskPlan "
                    + "does not resize differencing disks yet; its size must match its parent's");
        }
        if (h.diskType() != DISK_TYPE_FIXED && h.diskType() != DISK_TYPE_DYNAMIC) {
            throw ResizeError.atField(ErrorCode.UNSUPPORTED_SUBFORMAT, ResizeError.Kind.UNSUPPORTED, "VHD footer",
                    "disk_type", h.footerOffset() + VhdLayout.F_DISK_TYPE, ": unknown disk type " + h.diskType());
        }
        if (h.footerLength() != FOOTER_SIZE) {
            throw new ResizeError(ErrorCode.UNSUPPORTED_SUBFORMAT, "the image ends in a 511-byte footer (made "
                    + "before Virtual PC 2004); DiskPlan does not resize those");
        }
        if (!h.footerChecksumValid()) {
            throw ResizeError.atField(ErrorCode.PARSE_FAILED, ResizeError.Kind.CORRUPT, "VHD footer", "checksum",
                    h.footerOffset() + VhdLayout.F_CHECKSUM, ": 0x" + Long.toHexString(h.footerChecksum())
                    + " does not match the footer (qemu: Incorrect header checksum)");
        }
        boolean dynamic = h.diskType() == DISK_TYPE_DYNAMIC;
        if (dynamic != h.hasFooterCopy()) {
            throw ResizeError.atField(ErrorCode.HEADER_MISMATCH, ResizeError.Kind.CORRUPT, "VHD footer", "disk_type",
                    h.footerOffset() + VhdLayout.F_DISK_TYPE, " says " + (dynamic ? "dynamic" : "fixed")
                    + " but offset 0 " + (h.hasFooterCopy() ? "holds a footer copy, so qemu reads it as dynamic; "
                    + "refusing to guess" : "holds no footer copy (qemu 7.2 refuses it: invalid VPC image)"));
        }
        if (h.tailFooterOffset() < 0) {
            throw new ResizeError(ErrorCode.PARSE_FAILED, "VHD footer at offset " + (image.fileSize() - FOOTER_SIZE)
                    + ": the file does not end in a footer (truncated?)");
        }
        if (dynamic && !h.dynamicHeaderChecksumValid()) {
            throw ResizeError.atField(ErrorCode.PARSE_FAILED, ResizeError.Kind.CORRUPT, "dynamic header", "checksum",
                    h.dynamicHeaderOffset() + VhdLayout.D_CHECKSUM, " does not match the header");
        }
        for (String flag : image.flags()) {
            if (flag.startsWith("corrupt") || flag.startsWith("truncated")) {
                throw new ResizeError(ErrorCode.NEEDS_REPAIR, "'" + image.path() + "' is damaged: " + flag,
                        ResizeError.Location.of(flag.startsWith("corrupt") ? ResizeError.Kind.CORRUPT
                                : ResizeError.Kind.NEEDS_REPAIR));
            }
        }
        if (!dynamic && h.tailFooterOffset() < h.virtualSize()) {
            throw new ResizeError(ErrorCode.HEADER_MISMATCH, "VHD footer at offset " + h.tailFooterOffset()
                    + ": a fixed image's footer must follow its " + h.virtualSize() + " bytes of guest data");
        }
        if (dynamic && (image.fileSize() % SECTOR != 0 || h.batOffset() % SECTOR != 0)) {
            throw new ResizeError(ErrorCode.HEADER_MISMATCH, "dynamic VHD with a length (" + image.fileSize()
                    + ") or table_offset (" + h.batOffset() + ") that is not a multiple of 512");
        }
    }

    @Override
    public ResizePlan plan(ProbedImage image, VhdHeader h, PlanReader reader, ResizeRequest request)
            throws ResizeError {
        VhdSize size = VhdSize.of(h, request.newSize());
        long old = image.virtualSize();
        boolean dynamic = h.hasFooterCopy();
        FormatOptions options = new FormatOptions.Vhd(dynamic ? VhdSubformat.DYNAMIC : VhdSubformat.FIXED,
                (int) h.blockSize());
        if (size.bytes() == old) {
            return PlanBuilder.noop(ImageFormat.VHD, options, request, image.path(), image.fileSize(), old);
        }
        PlanBuilder plan = new PlanBuilder(ImageFormat.VHD, options, request, image.path(), image.fileSize());
        if (size.bytes() != request.newSize()) {
            plan.note("you asked " + request.newSize() + " bytes; the image will be " + size.bytes() + " bytes, the "
                    + "next size its CHS geometry addresses exactly (creator '" + h.creatorApplication().trim()
                    + "' is read through the geometry)");
        }
        plan.note(readers(h.creatorApplication(), size));
        plan.note("new footer: " + size.describe());
        if (dynamic) {
            new Dynamic(image, h, reader, request, plan, size).plan();
        } else {
            fixed(image, h, reader, request, plan, size);
        }
        return plan.build(Planners.actionFor(old, size.bytes()), old, size.bytes());
    }

    /** Which field each reader takes the size from, for this creator. */
    static String readers(String creator, VhdSize size) {
        String c = "creator '" + creator.replace("\0", "\\0") + "'";
        if (VhdSize.isMax(size.geometry()) && VhdSize.creatorReadsGeometry(creator)) {
            return c + ": not in qemu's table of creators that write current_size, but the footer's geometry will be "
                    + "the maximum 65535/16/255, so every reader (qemu, Windows, libvhdi) takes the size from "
                    + "current_size/original_size and the size is exact";
        }
        return VhdSize.creatorReadsGeometry(creator)
                ? c + ": qemu and Virtual PC read the size through the CHS geometry, Windows and libvhdi through "
                + "current_size/original_size, so the new size is one the geometry addresses exactly"
                : c + ": every reader (qemu, Windows, libvhdi) takes the size from current_size/original_size";
    }

    private static Write fields(long footerAt, byte[] patched, String label) {
        return new Write(footerAt + VhdSize.FIELDS_FROM, Arrays.copyOfRange(patched, VhdSize.FIELDS_FROM,
                VhdSize.FIELDS_TO), label, RegionKind.FOOTER);
    }

    /** A whole footer at {@code at} of a file {@code length} bytes long: an append at the end, else an overwrite. */
    private static Write footerAt(long at, long length, byte[] footer, String label) {
        return at == length ? Write.append(at, footer, label, RegionKind.FOOTER)
                : new Write(at, footer, label, RegionKind.FOOTER);
    }

    /**
     * A fixed image: guest data from offset 0, the footer after it. Virtual PC writes the
     * requested size as current_size and the footer after that many bytes, while qemu reads its
     * "vpc " images through the (smaller) geometry, so the footer may lie past the size qemu
     * shows; the bytes in between become zeros before they join the visible range.
     */
    private static void fixed(ProbedImage image, VhdHeader h, PlanReader reader, ResizeRequest request,
                              PlanBuilder plan, VhdSize size) throws ResizeError {
        long old = h.virtualSize();
        long tail = h.tailFooterOffset();
        long length = image.fileSize();
        long now = size.bytes();
        byte[] footer = reader.read(tail, FOOTER_SIZE, "VHD footer");
        byte[] patched = size.patch(footer);
        if (tail > old) {
            plan.note("the footer lies at " + tail + ", " + (tail - old) + " bytes past the size qemu shows ("
                    + old + ", through the geometry of creator '" + h.creatorApplication().trim() + "')");
        }
        if (tail > old && now > old) {
            plan.note("the " + (Math.min(now, tail) - old) + " bytes from the old size up to the old footer, "
                    + "which qemu did not show, become zeros before they join the disk");
        }
        if (now > tail) {
            // 1. The old footer, unchanged, at the new end: still the old image, now ending there.
            plan.phase(List.of(footerAt(now, length, footer, "a copy of the footer at the new end (old size)")));
            // 2. The old footer (and what lay hidden before it) becomes guest data: zeros; the new
            //    range is filled as asked.
            List<ResizePatch> fill = new ArrayList<>();
            fill.add(new ZeroFill(old, tail + FOOTER_SIZE - old, false, tail > old
                    ? "clear the old footer and the " + (tail - old) + " bytes before it qemu did not show"
                    : "clear the old footer (now guest data)", RegionKind.DATA));
            if (now > length && request.preallocation() != Preallocation.OFF) {
                boolean reserve = request.preallocation() == Preallocation.FALLOC;
                fill.add(new ZeroFill(length, now - length, reserve, reserve
                        ? "reserve the new range (preallocation=falloc)" : "zeros over the new range "
                        + "(preallocation=full)", RegionKind.DATA));
            }
            plan.phase(fill);
            // 3. Commit: the footer at the end says the new size.
            plan.commit(fields(now, patched, "footer: sizes, geometry, checksum (the new size)"));
            plan.note("fixed grow: the footer moves to " + now + "; the old one at " + tail + " is cleared");
        } else {
            if (now > old) {
                // A grow that stays inside the bytes before the footer: they become zeros while
                // still past the size every reader of the old footer shows.
                plan.phase(List.of(new ZeroFill(old, now - old, false, "zeros over the " + (now - old)
                        + " bytes before the footer that qemu did not show", RegionKind.DATA)));
            }
            // Commit: the footer at the end says the new size (the data before it is unchanged).
            plan.commit(fields(tail, patched, "footer: sizes, geometry, checksum (the new size)"));
            if (now < tail) {
                plan.phase(List.of(new Write(now, patched, "the footer at the new end", RegionKind.FOOTER)));
                plan.note("fixed " + (now < old ? "shrink" : "grow") + ": the file is cut after the footer at "
                        + now);
            }
        }
        plan.finalLength(0, now + FOOTER_SIZE);
    }

    /** A dynamic image's plan. */
    private static final class Dynamic {
        private final ProbedImage image;
        private final VhdHeader h;
        private final PlanReader reader;
        private final PlanBuilder plan;
        private final VhdSize size;
        private final long length;
        private final long blockSize;
        private final long blockBytes;
        /** Byte ranges [start, end) the resize must not overwrite besides data blocks: dynamic header, locator data. */
        private final List<long[]> structures = new ArrayList<>();

        Dynamic(ProbedImage image, VhdHeader h, PlanReader reader, ResizeRequest request, PlanBuilder plan,
                VhdSize size) {
            this.image = image;
            this.h = h;
            this.reader = reader;
            this.plan = plan;
            this.size = size;
            this.length = image.fileSize();
            this.blockSize = h.blockSize();
            this.blockBytes = h.bitmapSize() + h.blockSize();
        }

        void plan() throws ResizeError {
            byte[] head = reader.read(0, FOOTER_SIZE, "VHD footer copy");
            byte[] tail = reader.read(h.tailFooterOffset(), FOOTER_SIZE, "VHD footer");
            byte[] header = reader.read(h.dynamicHeaderOffset(), DYNAMIC_HEADER_SIZE, "dynamic header");
            structures.add(new long[] {h.dynamicHeaderOffset(), h.dynamicHeaderOffset() + DYNAMIC_HEADER_SIZE});
            locators(header);
            long oldEntries = h.maxTableEntries();
            long newEntries = VhdLayout.batEntries(size.bytes(), blockSize);
            if (newEntries > VhdLayout.MAX_SECTORS) {
                throw new ResizeError(ErrorCode.INVALID_NEW_SIZE, "the BAT would need " + newEntries + " entries");
            }
            int[] bat = readBat(oldEntries);
            long tailAt = h.tailFooterOffset();
            if (size.bytes() > h.virtualSize()) {
                // Entries that may hold data of the old size; later ones are dropped (they could
                // hold data a reader of current_size wrote past the geometry, or a shrink left).
                int live = (int) Math.min(bat.length, VhdLayout.batEntries(h.virtualSize(), blockSize));
                if (newEntries > oldEntries) {
                    tailAt = growBat(bat, tail, header, newEntries, live);
                } else {
                    dropStale(bat, live);
                }
                zeroStaleTail(bat);
                plan.phase(List.of(fields(tailAt, size.patch(tail), "footer at the end: sizes, geometry, "
                        + "checksum")));
                plan.commit(fields(0, size.patch(head), "footer copy at offset 0: sizes, geometry, checksum "
                        + "(qemu reads the size here)"));
                plan.finalLength(0, tailAt + FOOTER_SIZE);
            } else {
                plan.phase(List.of(fields(tailAt, size.patch(tail), "footer at the end: sizes, geometry, "
                        + "checksum")));
                plan.commit(fields(0, size.patch(head), "footer copy at offset 0: sizes, geometry, checksum "
                        + "(qemu reads the size here)"));
                shrink(bat, newEntries, size.patch(tail));
            }
        }

        /**
         * Parent locator data is kept where it is, also on a disk that is not differencing.
         * platform_data_space counts sectors in the specification but bytes in images Windows
         * writes: small values are taken as sectors, so the range is never too short.
         */
        private void locators(byte[] header) {
            ByteBuffer d = ByteBuffer.wrap(header).order(VhdLayout.ORDER);
            for (int i = 0; i < VhdLayout.LOCATOR_COUNT; i++) {
                int rel = VhdLayout.D_LOCATORS + i * VhdLayout.LOCATOR_SIZE;
                long code = Integer.toUnsignedLong(d.getInt(rel));
                long space = Integer.toUnsignedLong(d.getInt(rel + 4));
                long len = Integer.toUnsignedLong(d.getInt(rel + 8));
                long at = d.getLong(rel + 16);
                if (code == 0 || at <= 0 || at >= length) {
                    continue;
                }
                long reserved = Math.max(len, space < 2048 ? space * SECTOR : space);
                structures.add(new long[] {at, Math.min(length, at + (reserved + SECTOR - 1) / SECTOR * SECTOR)});
            }
        }

        private int[] readBat(long entries) throws ResizeError {
            byte[] raw = reader.read(h.batOffset(), Math.toIntExact(entries * BAT_ENTRY_SIZE), "BAT");
            int[] out = new int[(int) entries];
            ByteBuffer.wrap(raw).order(VhdLayout.ORDER).asIntBuffer().get(out);
            return out;
        }

        /** Entries from {@code live} on that point at a block become absent (before the commit: unseen). */
        private void dropStale(int[] bat, int live) {
            int n = 0;
            for (int i = live; i < bat.length; i++) {
                if (bat[i] != -1) {
                    n++;
                    bat[i] = -1;
                }
            }
            if (n > 0) {
                plan.phase(List.of(new Write(h.batOffset() + (long) live * BAT_ENTRY_SIZE,
                        ff((long) (bat.length - live) * BAT_ENTRY_SIZE), "BAT: " + n + " block(s) wholly past the "
                        + "old size dropped (absent)", RegionKind.TABLE)));
                plan.note(n + " block(s) past the old size " + h.virtualSize() + " were allocated (data no "
                        + "reader of this footer showed): dropped, so the new range reads zeros");
            }
        }

        /**
         * The part of the last old block past the old size may hold data a shrink left: it
         * would reappear in the new range, so it becomes zeros (invisible until the commit).
         */
        private void zeroStaleTail(int[] bat) {
            long old = h.virtualSize();
            long index = old / blockSize;
            long within = old % blockSize;
            if (within == 0 || index >= bat.length || bat[(int) index] == -1) {
                return;
            }
            long data = VhdLayout.blockOffset(bat[(int) index]) + h.bitmapSize();
            long upTo = Math.min(blockSize, size.bytes() - index * blockSize);
            plan.phase(List.of(new ZeroFill(data + within, upTo - within, false,
                    "zeros over the part of block " + index + " past the old size", RegionKind.DATA)));
        }

        /** The lowest start at or after {@code from} of a structure, or of a live block: the room a table has. */
        private long limit(int[] bat, int live, long from, boolean blocks) {
            long limit = Long.MAX_VALUE;
            for (long[] r : structures) {
                if (r[0] >= from) {
                    limit = Math.min(limit, r[0]);
                }
            }
            for (int i = 0; blocks && i < live; i++) {
                long at = VhdLayout.blockOffset(bat[i]);
                if (bat[i] != -1 && at >= from) {
                    limit = Math.min(limit, at);
                }
            }
            return limit;
        }

        /**
         * Grows the BAT to {@code entries} entries: in place when nothing lies in the way;
         * otherwise either relocated to the end of the file or grown in place after moving the
         * data blocks in its way to the end, whichever writes fewer bytes. Returns where the
         * footer at the end lies afterwards.
         */
        private long growBat(int[] bat, byte[] tail, byte[] header, long entries, int live) throws ResizeError {
            long batAt = h.batOffset();
            long oldUsed = batAt + (long) bat.length * BAT_ENTRY_SIZE;
            long inPlaceEnd = batAt + VhdLayout.batBytes(entries);
            long tailAt = h.tailFooterOffset();
            long growBytes = inPlaceEnd - oldUsed;
            long newBat;
            // blocks in the way of the table grown in place
            List<Integer> inWay = new ArrayList<>();
            for (int i = 0; i < live; i++) {
                long at = VhdLayout.blockOffset(bat[i]);
                if (bat[i] != -1 && at < inPlaceEnd && at + blockBytes > batAt) {
                    inWay.add(i);
                }
            }
            boolean structuresClear = limit(bat, live, batAt, false) >= inPlaceEnd;
            long batBytes = VhdLayout.batBytes(entries);
            long relocateCost = batBytes + FOOTER_SIZE;
            long moveCost = inWay.size() * (blockBytes + BAT_ENTRY_SIZE) + growBytes + FOOTER_SIZE;
            if (structuresClear && inWay.isEmpty()) {
                newBat = batAt;
                dropStale(bat, live);
                if (inPlaceEnd > tailAt) {
                    // Only the footer follows the table: it moves behind the grown table first.
                    plan.phase(List.of(footerAt(inPlaceEnd, length, tail,
                            "a copy of the footer after the grown BAT (old size)")));
                    tailAt = inPlaceEnd;
                }
                plan.phase(List.of(new Write(oldUsed, ff(growBytes), "BAT: " + (entries - bat.length)
                        + " new entries, absent (0xFFFFFFFF), padded to a sector", RegionKind.TABLE)));
                plan.note("the BAT grows in place from " + bat.length + " to " + entries + " entries ("
                        + growBytes + " bytes written)");
            } else if (structuresClear && moveCost < relocateCost) {
                newBat = batAt;
                dropStale(bat, live);
                tailAt = moveBlocks(bat, inWay, tail, Math.max(tailAt, inPlaceEnd));
                plan.phase(List.of(new Write(oldUsed, ff(growBytes), "BAT: " + (entries - bat.length)
                        + " new entries, absent (0xFFFFFFFF), padded to a sector, over the moved blocks' old "
                        + "place", RegionKind.TABLE)));
                plan.note("the BAT grows in place from " + bat.length + " to " + entries + " entries after "
                        + inWay.size() + " data block(s) in its way move to the end (" + moveCost + " bytes "
                        + "written); relocating the BAT instead would write " + relocateCost + " bytes");
            } else {
                newBat = tailAt;
                plan.phase(List.of(footerAt(newBat + batBytes, length, tail,
                        "a copy of the footer after the relocated BAT (old size)")));
                long copied = (long) live * BAT_ENTRY_SIZE;
                List<ResizePatch> table = new ArrayList<>();
                if (copied > 0) {
                    table.add(new Copy(ResizePatch.IMAGE, newBat, ResizePatch.IMAGE, batAt, copied,
                            "BAT: the " + live + " entries of the old size, copied to the end", RegionKind.TABLE));
                }
                table.add(new Write(newBat + copied, ff(batBytes - copied), "BAT: " + (entries - live)
                        + " entries absent (0xFFFFFFFF), padded to a sector", RegionKind.TABLE));
                plan.phase(table);
                for (int i = live; i < bat.length; i++) {
                    bat[i] = -1;
                }
                tailAt = newBat + batBytes;
                plan.note("the BAT is relocated to " + newBat + " (" + relocateCost + " bytes written); "
                        + (structuresClear ? "moving the " + inWay.size() + " data block(s) in its way instead "
                        + "would write " + moveCost + " bytes" : "a dynamic header or parent locator lies in "
                        + "its way") + "; the old table at " + batAt + " is left unused");
            }
            ByteBuffer d = ByteBuffer.wrap(header.clone()).order(VhdLayout.ORDER);
            d.putLong(VhdLayout.D_TABLE_OFFSET, newBat);
            d.putInt(VhdLayout.D_MAX_TABLE_ENTRIES, (int) entries);
            d.putInt(VhdLayout.D_CHECKSUM, (int) VhdLayout.checksum(d.array(), VhdLayout.D_CHECKSUM));
            plan.phase(List.of(new Write(h.dynamicHeaderOffset() + VhdLayout.D_TABLE_OFFSET,
                    Arrays.copyOfRange(d.array(), VhdLayout.D_TABLE_OFFSET, VhdLayout.D_CHECKSUM + 4),
                    "dynamic header: table_offset, max_table_entries, checksum", RegionKind.HEADER)));
            return tailAt;
        }

        /**
         * Copies the blocks {@code moved} to {@code to} onwards (behind a copy of the footer, so
         * the file always ends in one), then points their BAT entries there: each 4-byte entry
         * is written whole, and until the old place is reused both places hold the same data.
         * Returns where the footer lies afterwards.
         */
        private long moveBlocks(int[] bat, List<Integer> moved, byte[] tail, long to) {
            long end = to + moved.size() * blockBytes;
            plan.phase(List.of(footerAt(end, length, tail, "a copy of the footer after the moved blocks (old "
                    + "size)")));
            List<ResizePatch> copies = new ArrayList<>();
            List<ResizePatch> remaps = new ArrayList<>();
            long at = to;
            for (int i : moved) {
                long from = VhdLayout.blockOffset(bat[i]);
                copies.add(new Copy(ResizePatch.IMAGE, at, ResizePatch.IMAGE, from, blockBytes, "block " + i
                        + " (bitmap + data) copied from " + from + " to " + at, RegionKind.DATA));
                bat[i] = (int) (at / SECTOR);
                remaps.add(new Write(h.batOffset() + (long) i * BAT_ENTRY_SIZE, ByteBuffer.allocate(4)
                        .order(VhdLayout.ORDER).putInt(bat[i]).array(), "BAT entry " + i + ": block moved to "
                        + at, RegionKind.TABLE));
                at += blockBytes;
            }
            plan.phase(copies);
            plan.phase(remaps);
            return end;
        }

        /** After the commit: blocks past the new end leave the BAT; the file ends after what is still used. */
        private void shrink(int[] bat, long entries, byte[] patchedTail) {
            long batAt = h.batOffset();
            long keep = Math.min(entries, bat.length);
            long used = VhdLayout.batBytes(bat.length) + batAt;
            for (long[] r : structures) {
                used = Math.max(used, r[1]);
            }
            boolean dropped = false;
            for (int i = 0; i < bat.length; i++) {
                if (bat[i] == -1) {
                    continue;
                }
                if (i < keep) {
                    used = Math.max(used, VhdLayout.blockOffset(bat[i]) + blockBytes);
                } else {
                    dropped = true;
                }
            }
            if (dropped) {
                long from = batAt + keep * BAT_ENTRY_SIZE;
                long to = batAt + (long) bat.length * BAT_ENTRY_SIZE;
                plan.phase(List.of(new Write(from, ff(to - from), "BAT: entries past the new end, absent",
                        RegionKind.TABLE)));
            }
            long newTail = (used + SECTOR - 1) / SECTOR * SECTOR;
            if (newTail < h.tailFooterOffset()) {
                plan.phase(List.of(new Write(newTail, patchedTail, "the footer after the last block still used",
                        RegionKind.FOOTER)));
                plan.finalLength(0, newTail + FOOTER_SIZE);
                plan.note("the file is cut after the footer at " + newTail);
            }
        }

        private static byte[] ff(long n) {
            byte[] b = new byte[Math.toIntExact(n)];
            Arrays.fill(b, (byte) 0xff);
            return b;
        }
    }
}
