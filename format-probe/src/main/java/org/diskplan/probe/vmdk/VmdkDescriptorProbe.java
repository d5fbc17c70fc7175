package org.diskplan.probe.vmdk;

import static org.diskplan.probe.vmdk.VmdkLayout.SECTOR;

import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.diskplan.abi.ErrorCode;
import org.diskplan.abi.ImageFormat;
import org.diskplan.probe.RegionMap;
import org.diskplan.probe.FieldReader;
import org.diskplan.probe.FileImageReader;
import org.diskplan.probe.FormatProbe;
import org.diskplan.probe.HeaderField;
import org.diskplan.probe.ImageReader;
import org.diskplan.probe.LayoutRegion;
import org.diskplan.probe.ProbeException;
import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.RegionKind;

/**
 * A VMDK text descriptor file ("# Disk DescriptorFile"). Extent files are resolved only inside the
 * descriptor's folder: absolute paths, {@code ..} components and symlinks whose real path leaves
 * the folder are refused. Sparse extents get their headers probed (bounded by a shared budget).
 * The virtual size is the sum of the extents qemu counts: RW lines of type FLAT, VMFS (their
 * sectors) and SPARSE (the extent header's capacity).
 */
public final class VmdkDescriptorProbe implements FormatProbe {
    /** createType values qemu opens from a descriptor file. */
    static final Set<String> QEMU_CREATE_TYPES = Set.of("monolithicFlat", "vmfs", "vmfsSparse", "seSparse",
            "twoGbMaxExtentSparse", "twoGbMaxExtentFlat");
    /** Sparse extents whose headers are probed in full (fields, directory); later ones: capacity only. */
    static final int MAX_DETAILED_EXTENTS = 64;
    /** Per-extent warnings listed before the rest are summarised. */
    static final int MAX_EXTENT_FLAGS = 50;

    @Override
    public ImageFormat format() {
        return ImageFormat.VMDK_DESCRIPTOR;
    }

    @Override
    public ProbedImage probe(Path path, ImageReader reader) throws ProbeException {
        long size = reader.size();
        if (size > DescriptorParser.MAX_DESCRIPTOR) {
            throw new ProbeException(ErrorCode.PARSE_FAILED, "descriptor", 0, "VMDK descriptor at offset 0: the file "
                    + "has " + size + " bytes, more than the 1 MiB a descriptor may have");
        }
        byte[] text = reader.read(0, (int) size, "VMDK descriptor");
        List<HeaderField> fields = new ArrayList<>();
        List<String> flags = new ArrayList<>();
        VmdkDescriptor d = DescriptorParser.parse(text, 0, "descriptor", fields);
        DescriptorParser.checkExtentsLikeQemu(d);
        if (d.createType().isEmpty()) {
            throw new ProbeException(ErrorCode.PARSE_FAILED, "createType", 0,
                    "VMDK descriptor field createType at offset 0: missing (invalid VMDK image descriptor)");
        }
        if (!QEMU_CREATE_TYPES.contains(d.createType())) {
            flags.add("createType '" + d.createType() + "' is not one qemu opens from a descriptor file");
        }
        d.parentFileNameHint().ifPresent(p -> flags.add("backing file: " + p));
        if (!d.parentCid().isEmpty() && !d.parentCid().equalsIgnoreCase(VmdkProbe.NO_PARENT_CID)) {
            flags.add("has parent (parentCID " + d.parentCid() + ")");
        }

        Path dir = path.toAbsolutePath().normalize().getParent();
        if (dir == null) {
            dir = path.toAbsolutePath().normalize();
        }
        SparseExtentParser.Budget budget = SparseExtentParser.Budget.standard();
        List<String> extentFlags = new ArrayList<>();
        List<VmdkExtentFile> files = new ArrayList<>();
        long virtualSectors = 0;
        long grain = 0;
        int detailed = 0;
        int index = 0;
        for (VmdkExtent e : d.extents()) {
            index++;
            Optional<Path> file = Optional.empty();
            boolean exists = false;
            long fileSize = 0;
            Optional<VmdkHeader> sparse = Optional.empty();
            long sectors = e.sectors();
            if (!e.fileName().isEmpty()) {
                Path p = resolve(dir, e);
                file = Optional.of(p);
                exists = Files.isRegularFile(p);
                if (!exists) {
                    org.diskplan.probe.FileKind kind = org.diskplan.probe.FileKind.of(p);
                    extentFlags.add("extent " + index + " file \"" + e.fileName() + "\" is "
                            + (kind == org.diskplan.probe.FileKind.MISSING ? "missing"
                            : kind.words() + ", not a regular file; it was not opened"));
                } else {
                    try (FileImageReader r = FileImageReader.open(p)) {
                        fileSize = r.size();
                        if (e.isSparse() && r.size() >= Vmdk3Probe.QEMU_HEADER_SIZE && isCowd(r)) {
                            // qemu opens SPARSE and VMFSSPARSE extents by their magic; COWD: disk_sectors
                            sectors = Integer.toUnsignedLong(r.readBuffer(Vmdk3Probe.OFF_NUM_SECTORS, 4,
                                    ByteOrder.LITTLE_ENDIAN, "COWD numSectors").getInt());
                        } else if (e.type().equals("SESPARSE") && SeSparseProbe.isSeSparse(r)) {
                            // qemu counts a seSparse extent by its constant header's capacity
                            sectors = SeSparseProbe.capacity(p, r);
                            grain = grain == 0 ? SeSparseProbe.GRAIN_BYTES : grain;
                        } else if (e.isSparse() && r.size() >= 4 && isKdmv(r)) {
                            String prefix = "extent " + index + " (" + e.fileName() + "): ";
                            if (detailed < MAX_DETAILED_EXTENTS) {
                                detailed++;
                                VmdkHeader h = new SparseExtentParser(r, prefix, fields, flags,
                                        new RegionMap(r.size()), budget).parse();
                                sparse = Optional.of(h);
                                sectors = h.capacity();
                                grain = grain == 0 ? h.grainBytes() : grain;
                            } else if (r.size() >= VmdkLayout.HEADER_SIZE) {
                                sectors = r.readBuffer(VmdkLayout.OFF_CAPACITY, 8,
                                        ByteOrder.LITTLE_ENDIAN, prefix + "capacity").getLong();
                                if (sectors < 0 || sectors > Long.MAX_VALUE / SECTOR) {
                                    throw new ProbeException(ErrorCode.PARSE_FAILED, "capacity",
                                            VmdkLayout.OFF_CAPACITY, prefix + "VMDK4 header field capacity"
                                            + " at offset 12: " + Long.toUnsignedString(sectors)
                                            + " sectors overflow a 64-bit byte size");
                                }
                            }
                        } else if (e.isSparse()) {
                            extentFlags.add("extent " + index + " file \"" + e.fileName()
                                    + "\" is not a sparse extent (no 'KDMV', 'COWD' or seSparse magic)");
                        } else if ((e.type().equals("FLAT") || e.type().equals("VMFS")) && e.sectors() > 0) {
                            long start = e.offset().orElse(0);
                            long need = satMul(satAdd(Math.max(0, start), e.sectors()), SECTOR);
                            if (fileSize < need) {
                                extentFlags.add("extent " + index + " file \"" + e.fileName() + "\" has " + fileSize
                                        + " bytes, the extent needs " + need);
                            }
                        }
                    } catch (IOException ex) {
                        throw new ProbeException(ErrorCode.READ_FAILED, "extent line " + e.lineNumber(),
                                e.lineOffset(), "VMDK descriptor extent line " + e.lineNumber() + " at offset "
                                + e.lineOffset() + ": cannot read \"" + e.fileName() + "\": " + ex.getMessage());
                    }
                }
            }
            if (e.countedByQemu()) {
                try {
                    virtualSectors = Math.addExact(virtualSectors, sectors);
                    Math.multiplyExact(virtualSectors, SECTOR);
                } catch (ArithmeticException ex) {
                    throw new ProbeException(ErrorCode.PARSE_FAILED, "extent line " + e.lineNumber(),
                            e.lineOffset(), "VMDK descriptor extent line " + e.lineNumber() + " at offset "
                            + e.lineOffset() + ": the extents' sectors overflow a 64-bit disk size");
                }
            } else if (e.access().equals("RW") && e.type().equals("ZERO")) {
                extentFlags.add("extent " + index + " is a ZERO extent, which qemu does not count");
            }
            files.add(new VmdkExtentFile(e, file, exists, fileSize, sparse, sectors));
        }
        sameFile(files).ifPresent(flags::add);
        // qemu parses each line with sscanf, whose leading whitespace skip crosses newlines: a blank
        // line directly followed by an extent line makes qemu count that extent a second time.
        String[] lines = d.text().split("\n", -1);
        java.util.Map<Integer, VmdkExtentFile> byLine = new java.util.HashMap<>();
        for (VmdkExtentFile f : files) {
            byLine.put(f.extent().lineNumber(), f);
        }
        int nextNonBlank = -1;
        for (int i = lines.length - 1; i >= 0; i--) {
            if (!lines[i].isBlank()) {
                nextNonBlank = i;
                continue;
            }
            VmdkExtentFile f = nextNonBlank < 0 ? null : byLine.get(nextNonBlank + 1);
            if (f != null && f.extent().countedByQemu()) {
                try {
                    virtualSectors = Math.addExact(virtualSectors, f.sectors());
                    Math.multiplyExact(virtualSectors, SECTOR);
                } catch (ArithmeticException ex) {
                    throw new ProbeException(ErrorCode.PARSE_FAILED, "extent line " + f.extent().lineNumber(),
                            f.extent().lineOffset(), "VMDK descriptor extent line " + f.extent().lineNumber()
                            + " at offset " + f.extent().lineOffset() + ": the extents' sectors overflow a 64-bit disk size");
                }
                extentFlags.add("qemu counts extent line " + f.extent().lineNumber() + " twice: blank line " + (i + 1)
                        + " precedes it and qemu's line parser skips newlines (virtual size as qemu reports it; "
                        + "VMware counts it once)");
            }
        }
        if (extentFlags.size() > MAX_EXTENT_FLAGS) {
            int more = extentFlags.size() - MAX_EXTENT_FLAGS;
            flags.addAll(extentFlags.subList(0, MAX_EXTENT_FLAGS));
            flags.add("... and " + more + " more extent warnings");
        } else {
            flags.addAll(extentFlags);
        }
        if (d.extents().isEmpty()) {
            flags.add("no extents");
        }
        if (!budget.exhaustedSafe()) {
            flags.add("grain tables of the sparse extents scanned partially (read budget reached)");
        }
        int textEnd = d.text().length();
        RegionMap map = new RegionMap(size);
        map.structure(RegionKind.METADATA, 0, textEnd, "descriptor text");
        List<LayoutRegion> regions = map.build(RegionKind.FREE, "padding after the descriptor text");
        return new ProbedImage(path, ImageFormat.VMDK_DESCRIPTOR, d.createType(), virtualSectors * SECTOR, size,
                grain, flags, fields, regions, new VmdkDescriptorHeader(d, files));
    }

    /** Resolves an extent's file inside {@code dir}, refusing anything that leaves it. */
    static Path resolve(Path dir, VmdkExtent e) throws ProbeException {
        String name = e.fileName();
        if (name.startsWith("/") || name.startsWith("\\") || name.matches("^[A-Za-z]:.*")) {
            throw escape(e, "absolute paths are not allowed");
        }
        for (String part : name.split("[/\\\\]")) {
            if (part.equals("..")) {
                throw escape(e, "'..' components are not allowed");
            }
        }
        Path p;
        try {
            Path rel = Path.of(name);
            if (rel.isAbsolute()) {
                throw escape(e, "absolute paths are not allowed");
            }
            p = dir.resolve(rel).normalize();
        } catch (InvalidPathException ex) {
            throw escape(e, "the file name is not a valid path");
        }
        if (!p.startsWith(dir)) {
            throw escape(e, "the path leaves the descriptor's folder");
        }
        try {
            if (Files.exists(p)) {
                Path real = p.toRealPath();
                Path realDir = dir.toRealPath();
                if (!real.startsWith(realDir)) {
                    throw escape(e, "it is a symbolic link to " + real + ", outside the descriptor's folder");
                }
            } else if (Files.isSymbolicLink(p) || Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                throw escape(e, "it is a dangling symbolic link");
            }
        } catch (IOException ex) {
            throw escape(e, "its real path cannot be determined: " + ex.getMessage());
        }
        return p;
    }

    private static ProbeException escape(VmdkExtent e, String why) {
        return new ProbeException(ErrorCode.PARSE_FAILED, "extent line " + e.lineNumber(), e.lineOffset(),
                "VMDK descriptor extent line " + e.lineNumber() + " at offset " + e.lineOffset() + " ('"
                        + FieldReader.printable(e.line().getBytes(StandardCharsets.ISO_8859_1))
                        + "'): extent file \"" + e.fileName() + "\" refused: " + why
                        + " (extent files must stay inside the descriptor's folder)");
    }

    private static boolean isCowd(FileImageReader r) throws ProbeException {
        byte[] m = r.read(0, 4, "extent magic");
        return m[0] == 'C' && m[1] == 'O' && m[2] == 'W' && m[3] == 'D';
    }

    private static boolean isKdmv(FileImageReader r) throws ProbeException {
        byte[] m = r.read(0, 4, "extent magic");
        return m[0] == 'K' && m[1] == 'D' && m[2] == 'M' && m[3] == 'V';
    }

    private static long satAdd(long a, long b) {
        long s = a + b;
        return ((a ^ s) & (b ^ s)) < 0 ? Long.MAX_VALUE : s;
    }

    private static long satMul(long a, long b) {
        return a > Long.MAX_VALUE / b ? Long.MAX_VALUE : a * b;
    }
    /** Starts the flag of two extent lines naming one file; VmdkDescriptorPlanner refuses it. */
    public static final String SAME_FILE = "same extent file: ";

    /**
     * Two extent lines qemu opens that name one file (by link, too): qemu opens each extent
     * file as a child of its own and takes the write and resize permissions for each, so the
     * second open of the file conflicts with the first ("Failed to get "resize" lock") and qemu
     * refuses the disk read-write; the two extents' bytes may also overlap.
     */
    static Optional<String> sameFile(List<VmdkExtentFile> files) {
        java.util.Map<Object, VmdkExtentFile> seen = new java.util.HashMap<>();
        for (VmdkExtentFile f : files) {
            if (!f.exists() || f.file().isEmpty() || !f.extent().countedByQemu()) {
                continue;
            }
            Object key;
            try {
                Path p = f.file().get();
                key = Files.readAttributes(p, java.nio.file.attribute.BasicFileAttributes.class).fileKey();
                if (key == null) {
                    key = p.toRealPath();
                }
            } catch (IOException ex) {
                continue;
            }
            VmdkExtentFile first = seen.putIfAbsent(key, f);
            if (first != null) {
                return Optional.of(SAME_FILE + "extent line " + f.extent().lineNumber() + " at offset "
                        + f.extent().lineOffset() + " names \"" + f.extent().fileName() + "\", the file of extent line "
                        + first.extent().lineNumber() + " (\"" + first.extent().fileName() + "\"): qemu opens each "
                        + "extent line's file for writing and refuses the second (Failed to get \"resize\" lock)");
            }
        }
        return Optional.empty();
    }
}
