package org.diskplan.probe.vmdk;

import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.diskplan.abi.ImageFormat;
import org.diskplan.probe.FieldReader;
import org.diskplan.probe.HeaderField;
import org.diskplan.probe.HeaderProbe;
import org.diskplan.probe.ImageReader;
import org.diskplan.probe.ProbeException;
import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.RegionKind;
import org.diskplan.probe.RunLayout;

/**
 * A VMDK seSparse extent file as qemu 7.2 checks it (block/vmdk.c, read-only, strict): constant
 * header magic 0xcafebabe, version 2.1, grains of 8 sectors, grain tables of 64 sectors, no flags,
 * zero reserved words and padding; a volatile header (magic 0xcafecafe) with no journal to replay.
 * qemu opens such an extent only through a descriptor ({@code createType="seSparse"}); its size
 * there is {@code capacity} × 512, which is what DiskPlan reports for the extent on its own.
 */
public final class SeSparseProbe extends HeaderProbe {
    static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;
    public static final long CONST_MAGIC = 0xcafebabeL;
    static final long VOLATILE_MAGIC = 0xcafecafeL;
    static final long VERSION = 0x0000000200000001L;
    static final int HEADER_SIZE = 512;
    static final int OFF_CAPACITY = 16;
    static final long SECTOR = 512;
    /** The only grain size qemu reads: 8 sectors. */
    public static final long GRAIN_BYTES = 8 * SECTOR;
    /** qemu's vmdk_add_extent: more grain directory entries than this is "L1 size too big". */
    static final long MAX_L1_ENTRIES = 32L << 20;
    private static final String[][] REGIONS = {
        {"96", "journal header"}, {"112", "journal"}, {"128", "grain directory"}, {"144", "grain tables"},
        {"160", "free bitmap"}, {"176", "backmap"}, {"192", "grains"}};

    public SeSparseProbe() {
        super(ImageFormat.VMDK_SESPARSE, "seSparse constant header", true);
    }

    /** Whether the file starts with the seSparse constant header magic. */
    public static boolean isSeSparse(ImageReader reader) throws ProbeException {
        return reader.size() >= 8 && reader.readBuffer(0, 8, ORDER, "seSparse magic").getLong() == CONST_MAGIC;
    }

    /** The capacity in sectors, as qemu counts the extent in a descriptor (checked like {@link #probe}). */
    public static long capacity(Path path, ImageReader reader) throws ProbeException {
        return ((SeSparseHeader) new SeSparseProbe().probe(path, reader).header()).capacity();
    }

    @Override
    protected ProbedImage parse(Path path, ImageReader reader) throws ProbeException {
        long fileSize = reader.size();
        byte[] h = readHeader(reader, 0, HEADER_SIZE);
        List<HeaderField> fields = new ArrayList<>();
        FieldReader f = new FieldReader(group(), 0, h, ORDER, fields);
        long magic = f.u64("magic", 0, "0xcafebabe", FieldReader::hex);
        long version = f.u64("version", 8, "0x200000001 (2.1), the only version qemu reads", FieldReader::hex);
        long capacity = f.u64("capacity", OFF_CAPACITY, "virtual size in sectors");
        long grain = f.u64("grain_size", 24, "sectors per grain (8)");
        long gtSize = f.u64("grain_table_size", 32, "sectors per grain table (64)");
        long flags = f.u64("flags", 40, "none defined (0)");
        for (int i = 0; i < 4; i++) {
            if (f.u64("reserved" + (i + 1), 48 + 8 * i, "0") != 0) {
                throw fail("reserved" + (i + 1), 48 + 8 * i, "Unsupported reserved bits");
            }
        }
        long volOff = f.u64("volatile_header_offset", 80, "sector of the volatile header");
        f.u64("volatile_header_size", 88, "sectors of the volatile header");
        long[] offsets = new long[REGIONS.length];
        long[] sizes = new long[REGIONS.length];
        for (int i = 0; i < REGIONS.length; i++) {
            int rel = Integer.parseInt(REGIONS[i][0]);
            String name = REGIONS[i][1].replace(' ', '_');
            offsets[i] = f.u64(name + "_offset", rel, "sector where the " + REGIONS[i][1] + " starts");
            sizes[i] = f.u64(name + "_size", rel + 8, "sectors of the " + REGIONS[i][1]);
        }
        if (magic != CONST_MAGIC) {
            throw fail("magic", 0, "Bad const header magic: " + FieldReader.hex(magic));
        }
        if (version != VERSION) {
            throw fail("version", 8, "Unsupported version: " + FieldReader.hex(version));
        }
        if (grain != 8) {
            throw fail("grain_size", 24, "Unsupported grain size: " + Long.toUnsignedString(grain));
        }
        if (gtSize != 64) {
            throw fail("grain_table_size", 32, "Unsupported grain table size: " + Long.toUnsignedString(gtSize));
        }
        if (flags != 0) {
            throw fail("flags", 40, "Unsupported flags: " + FieldReader.hex(flags));
        }
        for (int i = 208; i < HEADER_SIZE; i++) {
            if (h[i] != 0) {
                throw fail("padding", i, "Unsupported non-zero const header padding");
            }
        }
        if (capacity < 0 || capacity > Long.MAX_VALUE / SECTOR) {
            throw fail("capacity", OFF_CAPACITY, Long.toUnsignedString(capacity) + " sectors overflow a 64-bit size");
        }
        long gdSize = sizes[2];
        if (gdSize < 0 || gdSize > MAX_L1_ENTRIES * 8 / SECTOR) {
            throw fail("grain_directory_size", 136, Long.toUnsignedString(gdSize) + " sectors: L1 size too big");
        }
        if (volOff < 0 || volOff > (fileSize - HEADER_SIZE) / SECTOR) {
            throw fail("volatile_header_offset", 80, Long.toUnsignedString(volOff) + " sectors lies beyond the end of"
                    + " the file (" + fileSize + " bytes): Could not read volatile header");
        }
        byte[] v = reader.read(volOff * SECTOR, HEADER_SIZE, "seSparse volatile header");
        FieldReader vf = new FieldReader("seSparse volatile header", volOff * SECTOR, v, ORDER, fields);
        long vMagic = vf.u64("magic", 0, "0xcafecafe", FieldReader::hex);
        vf.u64("free_gt_number", 8, "first free grain table");
        vf.u64("next_txn_seq_number", 16, "next journal transaction");
        long replay = vf.u64("replay_journal", 24, "nonzero: the journal must be replayed (qemu refuses)");
        if (vMagic != VOLATILE_MAGIC) {
            throw fail("volatile magic", volOff * SECTOR, "Bad volatile header magic: " + FieldReader.hex(vMagic));
        }
        if (replay != 0) {
            throw fail("replay_journal", volOff * SECTOR + 24, "Image is dirty, Replaying journal not supported");
        }
        for (int i = 32; i < HEADER_SIZE; i++) {
            if (v[i] != 0) {
                throw fail("volatile padding", volOff * SECTOR + i, "Unsupported non-zero volatile header padding");
            }
        }

        RunLayout layout = new RunLayout(fileSize);
        layout.add(0, HEADER_SIZE, RegionKind.HEADER, group());
        layout.add(volOff * SECTOR, HEADER_SIZE, RegionKind.HEADER, "volatile header");
        for (int i = 0; i < REGIONS.length; i++) {
            if (offsets[i] > 0 && offsets[i] < fileSize / SECTOR && sizes[i] > 0) {
                RegionKind kind = i == 6 ? RegionKind.DATA : i < 2 ? RegionKind.LOG : RegionKind.TABLE;
                layout.add(offsets[i] * SECTOR, Math.min(sizes[i], Long.MAX_VALUE / SECTOR) * SECTOR, kind,
                        REGIONS[i][1]);
            }
        }
        List<String> flagList = new ArrayList<>();
        flagList.add("a seSparse extent: qemu opens it only through a descriptor file (createType seSparse)");
        return new ProbedImage(path, ImageFormat.VMDK_SESPARSE, "seSparse", capacity * SECTOR, fileSize,
                grain * SECTOR, flagList, fields, layout.build(RegionKind.FREE, "unused"),
                new SeSparseHeader(capacity, grain, gtSize, volOff, offsets[2], gdSize, offsets[3], offsets[6],
                        replay));
    }
}
