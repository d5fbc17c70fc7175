package org.diskplan.probe.bochs;

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
 * Bochs "growing" redolog images as qemu 7.2 reads them (block/bochs.c, read-only): a 512-byte
 * header, the catalog (u32 per extent, 0xffffffff = absent) at {@code header}, then extents of
 * (bitmap blocks + extent blocks) × 512 bytes. Virtual size = {@code disk} rounded down to whole
 * sectors.
 */
public final class BochsProbe extends HeaderProbe {
    static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;
    static final int HEADER_SIZE = 512;
    static final String MAGIC = "Bochs Virtual HD Image";
    static final long VERSION_2 = 0x00020000L;
    static final long VERSION_1 = 0x00010000L;
    static final int OFF_TYPE = 32;
    static final int OFF_SUBTYPE = 48;
    static final int OFF_VERSION = 64;
    static final int OFF_HEADER = 68;
    static final int OFF_CATALOG = 72;
    static final int OFF_EXTENT = 80;
    static final long SECTOR = 512;
    /** qemu: more catalog entries than this is "Catalog size is too large". */
    static final long MAX_CATALOG = 0x100000;
    /** qemu: extents above 8 MiB are "too large". */
    static final long MAX_EXTENT = 0x800000;
    static final long ABSENT = 0xffffffffL;

    public BochsProbe() {
        super(ImageFormat.BOCHS, "Bochs header", true);
    }

    @Override
    protected ProbedImage parse(Path path, ImageReader reader) throws ProbeException {
        long fileSize = reader.size();
        List<HeaderField> fields = new ArrayList<>();
        FieldReader f = fields(reader, HEADER_SIZE, ORDER, fields);
        String magic = cString(f.ascii("magic", 0, 32, "'" + MAGIC + "'"));
        String type = cString(f.ascii("type", OFF_TYPE, 16, "'Redolog'"));
        String subtype = cString(f.ascii("subtype", OFF_SUBTYPE, 16, "'Growing' ('Undoable' and 'Volatile' need"
                + " a base image qemu does not open)"));
        long version = f.u32("version", OFF_VERSION, "0x00020000, or 0x00010000 (no reserved word before disk)",
                FieldReader::hex);
        if (!magic.equals(MAGIC) || !type.equals("Redolog") || !subtype.equals("Growing")) {
            String[] what = !magic.equals(MAGIC) ? new String[] {"magic", "0"}
                    : !type.equals("Redolog") ? new String[] {"type", "32"} : new String[] {"subtype", "48"};
            throw fail(what[0], Long.parseLong(what[1]), "'" + (what[0].equals("magic") ? magic
                    : what[0].equals("type") ? type : subtype) + "' is not what qemu reads (a growing redolog:"
                    + " Image not in Bochs format)");
        }
        if (version != VERSION_2 && version != VERSION_1) {
            throw fail("version", OFF_VERSION, FieldReader.hex(version) + " is neither 0x20000 nor 0x10000"
                    + " (Image not in Bochs format)");
        }
        long header = f.u32("header", OFF_HEADER, "offset of the catalog (size of the header)");
        long catalog = f.u32("catalog", OFF_CATALOG, "catalog entries, one u32 per extent", FieldReader::decimal);
        long bitmap = f.u32("bitmap", 76, "bytes of each extent's sector bitmap", FieldReader::decimal);
        long extent = f.u32("extent", OFF_EXTENT, "bytes per extent", FieldReader::decimal);
        int offDisk = version == VERSION_1 ? 84 : 88;
        if (version == VERSION_2) {
            f.u32("reserved", 84, "unused");
        }
        long disk = f.u64("disk", offDisk, "virtual disk size in bytes");

        if (catalog > MAX_CATALOG) {
            throw fail("catalog", OFF_CATALOG, catalog + " entries is above " + MAX_CATALOG
                    + " (Catalog size is too large)");
        }
        if (extent < SECTOR) {
            throw fail("extent", OFF_EXTENT, extent + " is below 512 (Extent size must be at least 512)");
        }
        if ((extent & (extent - 1)) != 0) {
            throw fail("extent", OFF_EXTENT, "Extent size " + extent + " is not a power of two");
        }
        if (extent > MAX_EXTENT) {
            throw fail("extent", OFF_EXTENT, "Extent size " + extent + " is too large");
        }
        long sectors = Long.divideUnsigned(disk, SECTOR);
        if (sectors > Long.MAX_VALUE / SECTOR) {
            throw fail("disk", offDisk, Long.toUnsignedString(disk) + " bytes does not fit a 64-bit size");
        }
        long needed = (sectors + extent / SECTOR - 1) / (extent / SECTOR);
        if (catalog < needed) {
            throw fail("catalog", OFF_CATALOG, catalog + " entries cover less than the disk's " + needed
                    + " extents (Catalog size is too small for this disk size)");
        }
        long catalogBytes = catalog * 4;
        if (header > fileSize || fileSize - header < catalogBytes) {
            throw fail("header", OFF_HEADER, "the catalog (" + catalogBytes + " bytes at " + header
                    + ") lies beyond the end of the file (" + fileSize + " bytes)");
        }
        long bitmapBlocks = 1 + (bitmap - 1) / SECTOR;
        if (bitmap == 0) {
            bitmapBlocks = 1 + (0xffffffffL) / SECTOR; // qemu's u32 arithmetic wraps: (0 - 1) / 512 + 1
        }
        long extentBlocks = extent / SECTOR;
        long stride = (bitmapBlocks + extentBlocks) * SECTOR;
        long dataOffset = header + catalogBytes;

        RunLayout layout = new RunLayout(fileSize);
        layout.add(0, HEADER_SIZE, RegionKind.HEADER, group());
        layout.add(header, catalogBytes, RegionKind.TABLE, "catalog");
        ByteBuffer cat = reader.readBuffer(header, (int) catalogBytes, ORDER, "catalog");
        long allocated = 0;
        long outside = 0;
        for (int i = 0; i < catalog; i++) {
            long e = Integer.toUnsignedLong(cat.getInt(i * 4));
            if (e == ABSENT) {
                continue;
            }
            allocated++;
            long at = e > (Long.MAX_VALUE - dataOffset) / stride ? Long.MAX_VALUE : dataOffset + e * stride;
            if (at >= fileSize) {
                outside++;
                continue;
            }
            layout.add(at, bitmapBlocks * SECTOR, RegionKind.METADATA, "extent bitmaps");
            layout.add(at + bitmapBlocks * SECTOR, extent, RegionKind.DATA, "guest data");
        }
        fields.add(summary("catalog", "allocated extents", header, Long.toString(allocated),
                "catalog entries other than 0xffffffff; extent n starts at " + dataOffset + " + n × " + stride));
        List<String> flags = new ArrayList<>();
        if (outside > 0) {
            flags.add("corrupt: " + outside + " catalog entries point past the end of the file");
        }
        if (disk % SECTOR != 0) {
            flags.add("disk size " + Long.toUnsignedString(disk) + " is not a multiple of 512: qemu drops the"
                    + " last " + disk % SECTOR + " bytes");
        }
        List<LayoutRegion> regions = layout.build(RegionKind.FREE, "unused (no catalog entry points at it)");
        return new ProbedImage(path, ImageFormat.BOCHS, version == VERSION_1 ? "growing v1" : "growing",
                sectors * SECTOR, fileSize, extent, flags, fields, regions,
                new BochsHeader(type, subtype, version, header, catalog, bitmap, extent, disk, allocated));
    }

    /** A fixed-width C string as qemu's strcmp sees it: up to the first NUL. */
    static String cString(String raw) {
        int nul = raw.indexOf('\0');
        return nul < 0 ? raw : raw.substring(0, nul);
    }
}
