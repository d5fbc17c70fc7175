package org.diskplan.probe.parallels;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.diskplan.abi.ImageFormat;
import org.diskplan.probe.FieldReader;
import org.diskplan.probe.HeaderField;
import org.diskplan.probe.HeaderProbe;
import org.diskplan.probe.ImageReader;
import org.diskplan.probe.LayoutRegion;
import org.diskplan.probe.ProbeException;
import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.RegionKind;
import org.diskplan.probe.RunLayout;

/**
 * Parallels / OpenVZ ploop images as qemu 7.2 reads them (block/parallels.c): a 64-byte header,
 * the block allocation table (u32 per cluster) right after it, data clusters from
 * {@code data_off}. "WithoutFreeSpace" images count BAT entries in sectors and keep a 32-bit size;
 * "WithouFreSpacExt" images (what {@code qemu-img create -f parallels} writes) count them in
 * clusters. Virtual size = {@code nb_sectors} × 512. qemu writes these images but cannot resize
 * them ("Image format driver does not support resize").
 */
public final class ParallelsProbe extends HeaderProbe {
    static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;
    static final int HEADER_SIZE = 64;
    static final int OFF_VERSION = 16;
    static final int OFF_TRACKS = 28;
    static final int OFF_BAT_ENTRIES = 32;
    static final int OFF_NB_SECTORS = 36;
    static final int OFF_EXT_OFF = 56;
    static final long SECTOR = 512;
    static final long VERSION = 2;
    /** qemu: tracks above INT32_MAX / 513 is "Too big cluster". */
    static final long MAX_TRACKS = Integer.MAX_VALUE / 513;
    /** qemu: bat_entries above INT_MAX / 4 is "Catalog too large". */
    static final long MAX_BAT_ENTRIES = Integer.MAX_VALUE / 4;
    /** BAT bytes read for the layout map; beyond it the rest is left unclassified. */
    static final long BAT_READ_BUDGET = 64L << 20;
    static final int CHUNK = 4 << 20;

    public ParallelsProbe() {
        super(ImageFormat.PARALLELS, "Parallels header", false);
    }

    @Override
    protected ProbedImage parse(Path path, ImageReader reader) throws ProbeException {
        long fileSize = reader.size();
        List<HeaderField> fields = new ArrayList<>();
        FieldReader f = fields(reader, HEADER_SIZE, ORDER, fields);
        String magic = f.ascii("magic", 0, 16, "'WithoutFreeSpace' (BAT in sectors) or 'WithouFreSpacExt'"
                + " (BAT in clusters)");
        long version = f.u32("version", OFF_VERSION, "header version (2)", FieldReader::decimal);
        long heads = f.u32("heads", 20, "geometry: heads (not used by qemu)", FieldReader::decimal);
        long cylinders = f.u32("cylinders", 24, "geometry: cylinders (not used by qemu)", FieldReader::decimal);
        long tracks = f.u32("tracks", OFF_TRACKS, "sectors per cluster", v -> v + " sectors (" + v * SECTOR
                + " bytes)");
        long batEntries = f.u32("bat_entries", OFF_BAT_ENTRIES, "entries of the block allocation table",
                FieldReader::decimal);
        long nbSectors = f.u64("nb_sectors", OFF_NB_SECTORS, "virtual disk size in 512-byte sectors");
        long inUse = f.u32("inuse", 44, "0x746f6e59 while the image is open read-write",
                v -> v == ParallelsHeader.IN_USE_MAGIC ? "0x746f6e59 (in use)" : FieldReader.hex(v));
        long dataOff = f.u32("data_off", 48, "first sector of the data area (0: right after the BAT)",
                v -> v + " sectors (" + v * SECTOR + " bytes)");
        long flags = f.u32("flags", 52, "bit 0: the image is empty (all clusters read as zeros)");
        long extOff = f.u64("ext_off", OFF_EXT_OFF, "sector of the format extension (dirty bitmaps), 0 if none");

        boolean extended;
        if (magic.equals("WithouFreSpacExt")) {
            extended = true;
        } else if (magic.equals("WithoutFreeSpace")) {
            extended = false;
        } else {
            throw fail("magic", 0, "'" + FieldReader.printable(magic.getBytes(java.nio.charset.StandardCharsets
                    .ISO_8859_1)) + "' is not a Parallels magic (Image not in Parallels format)");
        }
        if (version != VERSION) {
            throw fail("version", OFF_VERSION, version + " is not 2 (Image not in Parallels format)");
        }
        if (tracks == 0) {
            throw fail("tracks", OFF_TRACKS, "0 (Invalid image: Zero sectors per track)");
        }
        if (tracks > MAX_TRACKS) {
            throw fail("tracks", OFF_TRACKS, tracks + " is above " + MAX_TRACKS + " (Invalid image: Too big cluster)");
        }
        if (batEntries > MAX_BAT_ENTRIES) {
            throw fail("bat_entries", OFF_BAT_ENTRIES, batEntries + " is above " + MAX_BAT_ENTRIES
                    + " (Catalog too large)");
        }
        long sectors = extended ? nbSectors : nbSectors & 0xffffffffL;
        if (sectors < 0 || sectors > Long.MAX_VALUE / SECTOR) {
            throw fail("nb_sectors", OFF_NB_SECTORS, Long.toUnsignedString(nbSectors)
                    + " sectors overflow a 64-bit byte size");
        }
        long clusterBytes = tracks * SECTOR;
        long multiplier = extended ? tracks : 1;

        RunLayout layout = new RunLayout(fileSize);
        layout.add(0, HEADER_SIZE, RegionKind.HEADER, group());
        long batBytes = batEntries * 4;
        layout.add(HEADER_SIZE, batBytes, RegionKind.TABLE, "block allocation table");
        long dataStart = dataOff != 0 ? dataOff * SECTOR : HEADER_SIZE + batBytes;
        if (dataStart > HEADER_SIZE + batBytes) {
            layout.add(HEADER_SIZE + batBytes, dataStart - HEADER_SIZE - batBytes, RegionKind.FREE,
                    "padding before the data area");
        }
        if (extOff != 0) {
            layout.add(extOff * SECTOR, clusterBytes, RegionKind.METADATA, "format extension");
        }
        long inFile = Math.min(batBytes, Math.max(0, fileSize - HEADER_SIZE));
        long toRead = Math.min(inFile, BAT_READ_BUDGET);
        long allocated = 0;
        long outside = 0;
        for (long done = 0; done < toRead; done += CHUNK) {
            int n = (int) Math.min(CHUNK, toRead - done);
            ByteBuffer bat = reader.readBuffer(HEADER_SIZE + done, n, ORDER, "block allocation table");
            for (int i = 0; i + 4 <= n; i += 4) {
                long e = Integer.toUnsignedLong(bat.getInt(i));
                if (e == 0) {
                    continue;
                }
                allocated++;
                long off = e * multiplier * SECTOR;
                if (off >= fileSize) {
                    outside++;
                    continue;
                }
                layout.add(off, clusterBytes, RegionKind.DATA, "guest data");
            }
        }
        fields.add(summary("block allocation table", "offset", HEADER_SIZE, Long.toString(HEADER_SIZE),
                "the BAT follows the header"));
        fields.add(summary("block allocation table", "allocated clusters", HEADER_SIZE, Long.toString(allocated),
                "entries mapping a " + clusterBytes + "-byte cluster at entry × "
                        + (extended ? "cluster size" : "512")));

        List<String> flagList = new ArrayList<>();
        if (inUse == ParallelsHeader.IN_USE_MAGIC) {
            flagList.add("dirty (in use: not closed cleanly; qemu opens it read-only until qemu-img check -r)");
        }
        if (extOff != 0) {
            flagList.add("format extension at sector " + extOff);
        }
        if (inFile < batBytes) {
            flagList.add("BAT extends past the end of the file (qemu reads the rest as zeros)");
        } else if (toRead < batBytes) {
            flagList.add("layout map: BAT beyond " + (BAT_READ_BUDGET >> 20) + " MiB not walked");
        }
        if (outside > 0) {
            flagList.add("corrupt: " + outside + " BAT entries point past the end of the file");
        }
        if (layout.truncated()) {
            flagList.add("layout map: too many runs; the rest is shown as unused");
        }
        List<LayoutRegion> regions = layout.build(RegionKind.FREE, "unused (no BAT entry points at it)");
        return new ProbedImage(path, ImageFormat.PARALLELS, extended ? "" : "WithoutFreeSpace", sectors * SECTOR,
                fileSize, clusterBytes, flagList, fields, regions, new ParallelsHeader(extended, version, heads,
                cylinders, tracks, batEntries, nbSectors, inUse, dataOff, flags, extOff, allocated));
    }
}
