package org.diskplan.probe.vmdk;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import org.diskplan.probe.SampleFiles;
import org.diskplan.probe.SampleOptions;
import org.diskplan.probe.SampleWriter;

/**
 * Empty VMDK images as {@code qemu-img create -f vmdk} writes them (block/vmdk.c,
 * vmdk_co_do_create). monolithicSparse and streamOptimized are one sparse extent with the
 * descriptor embedded at sector 1; monolithicFlat is a descriptor file and
 * {@code NAME-flat.EXT}; the twoGbMaxExtent subformats split the disk into 2 GiB extents
 * {@code NAME-s001.EXT} (sparse) or {@code NAME-f001.EXT} (flat), the last one shorter.
 * Extents are always created next to the descriptor, and FILE names the descriptor.
 */
public final class VmdkSampleWriter implements SampleWriter {
    static final int SECTOR = VmdkLayout.SECTOR;
    /** qemu's split size for twoGbMaxExtent*: 0x80000000 bytes. */
    static final long SPLIT_SIZE = 0x8000_0000L;
    static final long GRAIN_SECTORS = 128;
    static final int GTES_PER_GT = 512;
    static final long DESCRIPTOR_OFFSET = 1;
    static final long DESCRIPTOR_SECTORS = 20;
    static final List<String> ADAPTERS = List.of("ide", "lsilogic", "buslogic", "legacyESX");

    @Override
    public String format() {
        return "vmdk";
    }

    @Override
    public List<String> subformats() {
        return List.of("monolithicSparse", "monolithicFlat", "twoGbMaxExtentSparse", "twoGbMaxExtentFlat",
                "streamOptimized");
    }

    /**
     * The sparse extent header's layout, in sectors, as qemu's vmdk_create_extent computes it.
     *
     * @param capacity     extent size in sectors
     * @param gtCount      grain tables (and grain directory entries)
     * @param gdSectors    sectors of one grain directory
     * @param rgdOffset    redundant grain directory (right after the 20 descriptor sectors)
     * @param gdOffset     grain directory (after the redundant one and its grain tables)
     * @param grainOffset  first grain: the metadata rounded up to a whole grain (the file length)
     */
    record SparseLayout(long capacity, long gtCount, long gdSectors, long rgdOffset, long gdOffset, long grainOffset) {
        static final long GT_SECTORS = VmdkLayout.sectorsFor(VmdkLayout.grainTableBytes(GTES_PER_GT));

        static SparseLayout of(long capacity) {
            long gtCount = VmdkLayout.gdEntries(capacity, GRAIN_SECTORS, GTES_PER_GT);
            long gdSectors = VmdkLayout.sectorsFor(gtCount * VmdkLayout.ENTRY_SIZE);
            long rgd = DESCRIPTOR_OFFSET + DESCRIPTOR_SECTORS;
            long gd = rgd + gdSectors + GT_SECTORS * gtCount;
            long grain = SampleFiles.ceilDiv(gd + gdSectors + GT_SECTORS * gtCount, GRAIN_SECTORS) * GRAIN_SECTORS;
            return new SparseLayout(capacity, gtCount, gdSectors, rgd, gd, grain);
        }
    }

    /** One extent file to write: its name (next to the descriptor) and size in sectors. */
    record Extent(String name, long sectors) {
    }

    @Override
    public long write(Path file, long size, Map<String, String> options) throws IOException {
        SampleOptions o = SampleOptions.of("vmdk", options,
                Set.of("subformat", "adapter_type", "hwversion", "compat6", "toolsversion", "zeroed_grain"));
        String sub = o.choice("subformat", subformats());
        String adapter = o.choice("adapter_type", ADAPTERS);
        boolean compat6 = o.bool("compat6", false);
        if (compat6 && o.has("hwversion")) {
            throw new IllegalArgumentException("vmdk: compat6 cannot be enabled with hwversion set");
        }
        String hw = compat6 ? "6" : options.getOrDefault("hwversion", "4");
        String tools = options.getOrDefault("toolsversion", "2147483647");
        boolean zeroedGrain = o.bool("zeroed_grain", false);
        boolean flat = sub.equals("monolithicFlat") || sub.equals("twoGbMaxExtentFlat");
        boolean split = sub.startsWith("twoGb");
        boolean compressed = sub.equals("streamOptimized");
        if (flat && zeroedGrain) {
            throw new IllegalArgumentException("vmdk: flat image can't enable zeroed grain");
        }
        for (String text : List.of(hw, tools)) {
            if (text.isEmpty() || text.chars().anyMatch(c -> c == '"' || c < 0x20 || c > 0x7e)) {
                throw new IllegalArgumentException("vmdk: hwversion and toolsversion take printable text without"
                        + " quotes, not '" + text + "'");
            }
        }
        if (size <= 0 || size > Long.MAX_VALUE - SECTOR) {
            throw new IllegalArgumentException("Image size must be positive");
        }
        long sectors = VmdkLayout.sectorsFor(size);
        if (!flat && SparseLayout.of(split ? Math.min(sectors, SPLIT_SIZE / SECTOR) : sectors).gtCount()
                > VmdkLayout.MAX_GD_ENTRIES) {
            throw new IllegalArgumentException("vmdk: a sparse extent of " + sectors * SECTOR + " bytes needs more "
                    + "than " + VmdkLayout.MAX_GD_ENTRIES + " grain tables (L1 size too big)");
        }

        String name = file.getFileName().toString();
        List<Extent> extents = extents(name, sectors, flat, split);
        Path dir = file.toAbsolutePath().getParent();
        for (Extent e : extents) {
            if (!e.name().equals(name) && Files.exists(dir.resolve(e.name()))) {
                throw new FileAlreadyExistsException(dir.resolve(e.name()).toString());
            }
        }
        String descriptor = descriptor(sub, extents, flat, sectors * SECTOR, adapter, hw, tools);
        int version = compressed ? 3 : zeroedGrain ? 2 : 1;
        long flags = VmdkLayout.FLAG_NEWLINE_TEST | VmdkLayout.FLAG_REDUNDANT_GRAIN_TABLE
                | (compressed ? VmdkLayout.FLAG_COMPRESSED | VmdkLayout.FLAG_MARKERS : 0)
                | (zeroedGrain ? VmdkLayout.FLAG_ZEROED_GRAIN_GTE : 0);

        SampleFiles.creating(files -> {
            files.create(file);
            if (!flat && !split) {
                writeSparse(file, SparseLayout.of(sectors), version, flags, compressed, descriptor);
                return;
            }
            Files.writeString(file, descriptor, StandardCharsets.US_ASCII);
            for (Extent e : extents) {
                Path p = files.create(dir.resolve(e.name()));
                if (flat) {
                    try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
                        SampleFiles.extend(ch, e.sectors() * SECTOR);
                    }
                } else {
                    writeSparse(p, SparseLayout.of(e.sectors()), version, flags, compressed, null);
                }
            }
        });
        return sectors * SECTOR;
    }

    /**
     * The extent files qemu makes for {@code name}: itself (monolithicSparse, streamOptimized),
     * {@code PREFIX-flat.EXT} (monolithicFlat) or {@code PREFIX-s001.EXT}/{@code PREFIX-f001.EXT}, ...
     * of 2 GiB each (twoGbMaxExtent*), where PREFIX and .EXT are the name split at its last dot.
     */
    static List<Extent> extents(String name, long sectors, boolean flat, boolean split) {
        if (!flat && !split) {
            return List.of(new Extent(name, sectors));
        }
        int dot = name.lastIndexOf('.');
        String prefix = dot < 0 ? name : name.substring(0, dot);
        String postfix = dot < 0 ? "" : name.substring(dot);
        if (!split) {
            return List.of(new Extent(prefix + "-flat" + postfix, sectors));
        }
        List<Extent> list = new ArrayList<>();
        long per = SPLIT_SIZE / SECTOR;
        for (long done = 0, i = 1; done < sectors; done += per, i++) {
            list.add(new Extent(String.format("%s-%c%03d%s", prefix, flat ? 'f' : 's', i, postfix),
                    Math.min(per, sectors - done)));
        }
        return list;
    }

    /** The descriptor text, byte for byte qemu's template (random CID, no parent). */
    static String descriptor(String createType, List<Extent> extents, boolean flat, long size, String adapter,
                             String hw, String tools) {
        StringBuilder lines = new StringBuilder();
        for (Extent e : extents) {
            lines.append("RW ").append(e.sectors()).append(flat ? " FLAT \"" : " SPARSE \"").append(e.name())
                    .append(flat ? "\" 0\n" : "\"\n");
        }
        int heads = VmdkLayout.ddbHeads(adapter);
        return "# Disk DescriptorFile\n"
                + "version=1\n"
                + "CID=" + Integer.toHexString(ThreadLocalRandom.current().nextInt()) + "\n"
                + "parentCID=" + VmdkProbe.NO_PARENT_CID + "\n"
                + "createType=\"" + createType + "\"\n"
                + "\n"
                + "# Extent description\n"
                + lines
                + "\n"
                + "# The Disk Data Base\n"
                + "#DDB\n"
                + "\n"
                + "ddb.virtualHWVersion = \"" + hw + "\"\n"
                + "ddb.geometry.cylinders = \"" + VmdkLayout.ddbCylinders(size, heads) + "\"\n"
                + "ddb.geometry.heads = \"" + heads + "\"\n"
                + "ddb.geometry.sectors = \"" + VmdkLayout.DDB_SECTORS + "\"\n"
                + "ddb.adapterType = \"" + adapter + "\"\n"
                + "ddb.toolsVersion = \"" + tools + "\"\n";
    }

    /**
     * A sparse extent: "KDMV" header, the descriptor (if embedded) at sector 1, the redundant
     * grain directory and its (empty) grain tables, then the grain directory and its tables;
     * the file ends at the first grain.
     */
    private static void writeSparse(Path p, SparseLayout l, int version, long flags, boolean compressed,
                                    String descriptor) throws IOException {
        ByteBuffer h = ByteBuffer.allocate(VmdkLayout.HEADER_SIZE).order(VmdkLayout.ORDER);
        h.put(VmdkLayout.OFF_MAGIC, VmdkLayout.MAGIC);
        h.putInt(VmdkLayout.OFF_VERSION, version);
        h.putInt(VmdkLayout.OFF_FLAGS, (int) flags);
        h.putLong(VmdkLayout.OFF_CAPACITY, l.capacity());
        h.putLong(VmdkLayout.OFF_GRAIN_SIZE, GRAIN_SECTORS);
        h.putLong(VmdkLayout.OFF_DESCRIPTOR_OFFSET, DESCRIPTOR_OFFSET);
        h.putLong(VmdkLayout.OFF_DESCRIPTOR_SIZE, DESCRIPTOR_SECTORS);
        h.putInt(VmdkLayout.OFF_NUM_GTES_PER_GT, GTES_PER_GT);
        h.putLong(VmdkLayout.OFF_RGD_OFFSET, l.rgdOffset());
        h.putLong(VmdkLayout.OFF_GD_OFFSET, l.gdOffset());
        h.putLong(VmdkLayout.OFF_OVERHEAD, l.grainOffset());
        h.put(VmdkLayout.OFF_NEWLINE_CHARS, VmdkLayout.NEWLINE_CHARS);
        h.putShort(VmdkLayout.OFF_COMPRESS_ALGORITHM,
                (short) (compressed ? VmdkLayout.COMPRESSION_DEFLATE : 0));
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
            SampleFiles.write(ch, 0, h.array());
            if (descriptor != null) {
                byte[] d = descriptor.getBytes(StandardCharsets.US_ASCII);
                if (d.length > DESCRIPTOR_SECTORS * SECTOR) {
                    throw new IllegalArgumentException("vmdk: the descriptor is longer than its 20 sectors");
                }
                SampleFiles.write(ch, DESCRIPTOR_OFFSET * SECTOR, d);
            }
            SampleFiles.extend(ch, l.grainOffset() * SECTOR);
            writeDirectory(ch, l, l.rgdOffset());
            writeDirectory(ch, l, l.gdOffset());
        }
    }

    /** A grain directory at {@code at} (sectors) pointing at the grain tables that follow it. */
    private static void writeDirectory(FileChannel ch, SparseLayout l, long at) throws IOException {
        int chunkEntries = 1 << 18;
        ByteBuffer b = ByteBuffer.allocate(4 * chunkEntries).order(VmdkLayout.ORDER);
        long firstTable = at + l.gdSectors();
        for (long i = 0; i < l.gtCount(); i += chunkEntries) {
            int n = (int) Math.min(chunkEntries, l.gtCount() - i);
            b.clear();
            for (int k = 0; k < n; k++) {
                b.putInt(4 * k, (int) (firstTable + (i + k) * SparseLayout.GT_SECTORS));
            }
            SampleFiles.write(ch, at * SECTOR + 4 * i, java.util.Arrays.copyOf(b.array(), 4 * n));
        }
    }
}
