package org.diskplan.probe.qcow2;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.diskplan.probe.FormatHeader;
import org.diskplan.probe.QemuNames;
import org.diskplan.probe.crypto.LuksHeader;

/**
 * The parsed qcow2 header (big-endian), with everything a resize planner needs to
 * patch it in place: the header fields at their offsets, the extension list with
 * the offset of every extension (so the planner can keep them byte for byte),
 * the backing file name location, the snapshot list and table summaries.
 *
 * @param version                 2 (compat 0.10, 72-byte header) or 3 (compat 1.1)
 * @param headerLength            72 for v2; the header_length field (offset 100) for v3
 * @param backingFileOffset       offset 8: where the backing file name is, 0 if none
 * @param backingFileSize         offset 16: length of the backing file name
 * @param clusterBits             offset 20: log2 of the cluster size (9..21)
 * @param size                    offset 24: virtual size in bytes, as stored
 * @param cryptMethod             offset 32: 0 none, 1 AES-CBC, 2 LUKS
 * @param l1Size                  offset 36: entries in the active L1 table
 * @param l1TableOffset           offset 40: file offset of the active L1 table
 * @param refcountTableOffset     offset 48: file offset of the refcount table
 * @param refcountTableClusters   offset 56: clusters the refcount table occupies
 * @param nbSnapshots             offset 60: number of internal snapshots
 * @param snapshotsOffset         offset 64: file offset of the snapshot table
 * @param incompatibleFeatures    offset 72 (v3; 0 for v2)
 * @param compatibleFeatures      offset 80 (v3; 0 for v2)
 * @param autoclearFeatures       offset 88 (v3; 0 for v2)
 * @param refcountOrder           offset 96 (v3; 4 for v2): refcount bits = 1 &lt;&lt; order
 * @param compressionType         offset 104 when header_length &gt; 104: 0 zlib, 1 zstd
 * @param extensionsEnd           file offset just past the end-of-extensions marker (or the area end)
 * @param extensions              header extensions in file order (end marker included when present)
 * @param backingFile             the backing file name, empty if none
 * @param backingFormat           the backing format extension's value, empty if none
 * @param dataFile                the external data file extension's value, empty if none
 * @param snapshots               the snapshot table entries
 * @param bitmaps                 the persistent bitmap directory entries
 * @param l1AllocatedEntries      active L1 entries pointing at an L2 table
 * @param l1EntriesNeeded         L1 entries needed to map {@code size}
 * @param refcountTableAllocated  refcount table entries pointing at a refcount block
 * @param luks                    the LUKS header the encryption extension points at, when readable
 */
public record Qcow2Header(
        long version,
        long headerLength,
        long backingFileOffset,
        long backingFileSize,
        int clusterBits,
        long size,
        long cryptMethod,
        long l1Size,
        long l1TableOffset,
        long refcountTableOffset,
        long refcountTableClusters,
        long nbSnapshots,
        long snapshotsOffset,
        long incompatibleFeatures,
        long compatibleFeatures,
        long autoclearFeatures,
        int refcountOrder,
        int compressionType,
        long extensionsEnd,
        List<Extension> extensions,
        String backingFile,
        String backingFormat,
        String dataFile,
        List<Snapshot> snapshots,
        List<Bitmap> bitmaps,
        long l1AllocatedEntries,
        long l1EntriesNeeded,
        long refcountTableAllocated,
        Optional<LuksHeader> luks,
        List<Damage> damage) implements FormatHeader {
    // No lambdas or streams here: this class runs on every command's start-up path (see ReadWatch / issue 20).

    /**
     * A table qemu opens but that lies past the end of the file (L1, refcount or snapshot
     * table): {@code info} shows the image (with a flag starting {@link Qcow2OpenChecks#DAMAGED}),
     * a resize refuses it.
     *
     * @param message "qcow2 header field F at offset O: what is wrong"
     */
    public record Damage(String field, long offset, String message) {
    }

    // The layout constants the planner uses, under the names it knows; they are defined (with
    // every other offset, mask and limit) in Qcow2Layout, which new code should use directly.
    public static final int OFF_SIZE = Qcow2Layout.OFF_SIZE;
    public static final int OFF_L1_SIZE = Qcow2Layout.OFF_L1_SIZE;
    public static final int OFF_L1_TABLE_OFFSET = Qcow2Layout.OFF_L1_TABLE_OFFSET;
    public static final int OFF_REFCOUNT_TABLE_OFFSET = Qcow2Layout.OFF_REFCOUNT_TABLE_OFFSET;
    public static final int OFF_REFCOUNT_TABLE_CLUSTERS = Qcow2Layout.OFF_REFCOUNT_TABLE_CLUSTERS;
    public static final long L1E_OFFSET_MASK = Qcow2Layout.L1E_OFFSET_MASK;
    public static final long L2E_OFFSET_MASK = Qcow2Layout.L2E_OFFSET_MASK;
    public static final long REFT_OFFSET_MASK = Qcow2Layout.REFT_OFFSET_MASK;
    public static final long OFLAG_COPIED = Qcow2Layout.OFLAG_COPIED;
    public static final long OFLAG_COMPRESSED = Qcow2Layout.OFLAG_COMPRESSED;
    public static final long INCOMPAT_DIRTY = Qcow2Layout.INCOMPAT_DIRTY;
    public static final long INCOMPAT_CORRUPT = Qcow2Layout.INCOMPAT_CORRUPT;
    public static final long INCOMPAT_DATA_FILE = Qcow2Layout.INCOMPAT_DATA_FILE;
    public static final long INCOMPAT_COMPRESSION = Qcow2Layout.INCOMPAT_COMPRESSION;
    public static final long INCOMPAT_EXTL2 = Qcow2Layout.INCOMPAT_EXTL2;
    public static final long KNOWN_INCOMPATIBLE = Qcow2Layout.KNOWN_INCOMPATIBLE;
    public static final long COMPAT_LAZY_REFCOUNTS = Qcow2Layout.COMPAT_LAZY_REFCOUNTS;
    public static final long AUTOCLEAR_BITMAPS = Qcow2Layout.AUTOCLEAR_BITMAPS;
    public static final long AUTOCLEAR_DATA_FILE_RAW = Qcow2Layout.AUTOCLEAR_DATA_FILE_RAW;
    private static final long NANOS = 1_000_000_000L;

    public Qcow2Header {
        extensions = List.copyOf(extensions);
        snapshots = List.copyOf(snapshots);
        bitmaps = List.copyOf(bitmaps);
    }

    /**
     * qemu-img info's keys for qcow2: backing file, snapshots, encryption and the
     * format-specific block (compat, compression type, refcount bits, feature bits,
     * bitmaps, data file, LUKS parameters), as {@code qcow2_get_specific_info} reports them.
     */
    @Override
    public Map<String, Object> qemuInfo(String filename) {
        Map<String, Object> m = new LinkedHashMap<>(QemuNames.backing(filename, backingFile, backingFormat));
        if (!snapshots.isEmpty()) {
            List<Map<String, Object>> list = new ArrayList<>();
            for (Snapshot s : snapshots) {
                Map<String, Object> e = new LinkedHashMap<>();
                e.put("id", s.id());
                e.put("name", s.name());
                e.put("vm-state-size", s.vmStateSize());
                e.put("date-sec", s.dateSeconds());
                e.put("date-nsec", s.dateNanos());
                e.put("vm-clock-sec", Long.divideUnsigned(s.vmClockNanos(), NANOS));
                e.put("vm-clock-nsec", Long.remainderUnsigned(s.vmClockNanos(), NANOS));
                if (s.icount() != -1) {
                    e.put("icount", s.icount());
                }
                list.add(e);
            }
            m.put("snapshots", list);
        }
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("compat", version == 2 ? "0.10" : "1.1");
        data.put("compression-type", compressionType == 1 ? "zstd" : "zlib");
        data.put("refcount-bits", refcountBits());
        if (version >= 3) {
            data.put("lazy-refcounts", lazyRefcounts());
            data.put("corrupt", corrupt());
            data.put("extended-l2", extendedL2());
            if (!bitmaps.isEmpty()) {
                List<Map<String, Object>> list = new ArrayList<>();
                for (Bitmap b : bitmaps) {
                    Map<String, Object> e = new LinkedHashMap<>();
                    e.put("name", b.name());
                    e.put("granularity", 1L << b.granularityBits());
                    List<String> flags = new ArrayList<>();
                    if (b.inUse()) {
                        flags.add("in-use");
                    }
                    if ((b.flags() & 2) != 0) {
                        flags.add("auto");
                    }
                    e.put("flags", flags);
                    list.add(e);
                }
                data.put("bitmaps", list);
            }
            if ((incompatibleFeatures & INCOMPAT_DATA_FILE) != 0) {
                if (!dataFile.isEmpty()) {
                    data.put("data-file", dataFile);
                }
                data.put("data-file-raw", (autoclearFeatures & AUTOCLEAR_DATA_FILE_RAW) != 0);
            }
        }
        if (cryptMethod != 0) {
            if (luks.isPresent()) {
                Map<String, Object> crypt = new LinkedHashMap<>();
                crypt.put("format", "luks");
                crypt.putAll(luks.get().qemuCryptoInfo());
                data.put("encrypt", crypt);
            }
            if (cryptMethod == 1) {
                data.put("encrypt", Map.of("format", "aes"));
            }
            m.put("encrypted", true);
        }
        m.put("format-specific", QemuNames.formatSpecific("qcow2", data));
        return m;
    }

    public long clusterSize() {
        return Qcow2Layout.clusterSize(clusterBits);
    }

    public int refcountBits() {
        return 1 << refcountOrder;
    }

    public boolean extendedL2() {
        return (incompatibleFeatures & INCOMPAT_EXTL2) != 0;
    }

    /** Bytes per L2 entry: 8, or 16 with extended L2. */
    public int l2EntrySize() {
        return Qcow2Layout.l2EntrySize(extendedL2());
    }

    /** Entries in one L2 table. */
    public long l2Entries() {
        return Qcow2Layout.l2Entries(clusterBits, extendedL2());
    }

    /** L1 entries needed to map {@code virtualSize} bytes. */
    public long l1EntriesFor(long virtualSize) {
        return Qcow2Layout.l1EntriesFor(virtualSize, clusterBits, extendedL2());
    }

    /** Refcount entries in one refcount block. */
    public long refcountBlockEntries() {
        return Qcow2Layout.refblockEntries(clusterBits, refcountOrder);
    }

    public boolean dirty() {
        return (incompatibleFeatures & INCOMPAT_DIRTY) != 0;
    }

    public boolean corrupt() {
        return (incompatibleFeatures & INCOMPAT_CORRUPT) != 0;
    }

    public boolean lazyRefcounts() {
        return (compatibleFeatures & COMPAT_LAZY_REFCOUNTS) != 0;
    }

    public boolean hasBitmaps() {
        return (autoclearFeatures & AUTOCLEAR_BITMAPS) != 0;
    }

    /** The extension of this type, if present. */
    public Optional<Extension> extension(long type) {
        for (Extension e : extensions) {
            if (e.type() == type) {
                return Optional.of(e);
            }
        }
        return Optional.empty();
    }

    /**
     * One header extension.
     *
     * @param type   the u32 type code (0 = end of extensions)
     * @param offset file offset of the 8-byte extension header (type, length)
     * @param length the data length (not including the 8-byte header or the padding to 8)
     * @param name   what the type means ("feature name table", "unknown", ...)
     */
    public record Extension(long type, long offset, long length, String name) {
        /** Offset just past the data and its padding to a multiple of 8. */
        public long end() {
            return offset + 8 + ((length + 7) & ~7L);
        }
    }

    /**
     * One internal snapshot table entry.
     *
     * @param offset          file offset of the entry
     * @param entryLength     bytes the entry occupies, padding included
     * @param l1TableOffset   the snapshot's L1 table
     * @param l1Size          its entry count
     * @param id              the id string
     * @param name            the name
     * @param dateSeconds     creation time, seconds since the epoch
     * @param dateNanos       nanoseconds part
     * @param vmClockNanos    guest clock at the snapshot
     * @param vmStateSize     VM state size (the 64-bit one from extra data when present)
     * @param extraDataSize   bytes of extra data
     * @param diskSize        the virtual size at the snapshot (extra data, v3), -1 when absent
     * @param icount          instruction count (extra data), -1 when absent
     */
    public record Snapshot(long offset, long entryLength, long l1TableOffset, long l1Size, String id, String name,
                           long dateSeconds, long dateNanos, long vmClockNanos, long vmStateSize,
                           long extraDataSize, long diskSize, long icount) {
    }

    /**
     * One persistent dirty bitmap (bitmap directory entry).
     *
     * @param offset           file offset of the directory entry
     * @param tableOffset      the bitmap table
     * @param tableSize        its entry count
     * @param flags            bit 0 in use, bit 1 auto, bit 2 extra data compatible
     * @param type             1 = dirty tracking bitmap
     * @param granularityBits  log2 of the bytes one bit covers
     * @param name             the bitmap's name
     */
    public record Bitmap(long offset, long tableOffset, long tableSize, long flags, int type, int granularityBits,
                         String name) {
        public boolean inUse() {
            return (flags & 1) != 0;
        }
    }
}
