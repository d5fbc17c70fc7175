package org.diskplan.probe.qcow2;

import static org.diskplan.probe.qcow2.Qcow2Layout.*;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.LongFunction;
import org.diskplan.abi.ErrorCode;
import org.diskplan.abi.ImageFormat;
import org.diskplan.probe.FieldReader;
import org.diskplan.probe.FormatProbe;
import org.diskplan.probe.HeaderField;
import org.diskplan.probe.ImageReader;
import org.diskplan.probe.LayoutRegion;
import org.diskplan.probe.ProbeException;
import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.RegionKind;
import org.diskplan.probe.RunLayout;
import org.diskplan.probe.crypto.LuksHeader;
import org.diskplan.probe.crypto.LuksLayout;

/**
 * qcow2 (QEMU copy-on-write v2 and v3), big-endian. Parses the header, every header
 * extension, the backing file name, the snapshot table, the bitmap directory, and
 * summarises the L1 and refcount tables; the layout map is built by walking
 * L1 → L2 (active and snapshot tables) and the refcount table, within fixed budgets
 * so that the work is bounded by the metadata, never by the virtual size.
 *
 * <p>Limits are qemu's (block/qcow2.h): clusters of 2^9..2^21 bytes, an L1 table of
 * at most 32 MiB, a refcount table of at most 8 MiB, at most 65536 snapshots with at
 * most 1024 bytes of extra data each, a backing file name of at most 1023 bytes.
 */
public final class Qcow2Probe implements FormatProbe {
    // No lambdas or streams here: this class runs on every command's start-up path (see ReadWatch / issue 20).

    static final String HDR = "qcow2 header";
    // Offsets, masks, flags and qemu's format limits: Qcow2Layout (imported statically).

    // qemu's limits on the snapshot table, the backing file name and bitmaps (block/qcow2.h).
    static final long MAX_SNAPSHOTS = 65536;
    static final long MAX_SNAPSHOT_EXTRA = 1024;
    static final long MAX_SNAPSHOT_TABLE_BYTES = 1024 * MAX_SNAPSHOTS;
    static final int MAX_BACKING_NAME = 1023;
    static final long MAX_BITMAPS = 65535;
    static final long MAX_BITMAP_DIRECTORY = 1024 * MAX_BITMAPS;
    static final long MAX_BITMAP_TABLE_BYTES = 64L << 20;
    static final int SNAPSHOT_FIXED = 40;
    static final int BITMAP_ENTRY_FIXED = 24;

    // Work budgets (layout map only).
    static final long L2_READ_BUDGET = 64L << 20;
    /** Bytes of L1 copies, L2 tables and bitmap tables read for the layout map, all together. */
    static final long TABLE_READ_BUDGET = 256L << 20;
    static final int MAX_INTERVALS = 1_000_000;
    static final long REFCOUNT_SCAN_BUDGET = 64L << 20;
    static final int MAX_FLAG_EXAMPLES = 5;

    @Override
    public ImageFormat format() {
        return ImageFormat.QCOW2;
    }

    @Override
    public ProbedImage probe(Path path, ImageReader reader) throws ProbeException {
        return parse(path, reader, true);
    }

    /**
     * The header, extensions, snapshot and bitmap directories and the refcount table,
     * without walking every L2 table for the layout map: what a resize planner needs,
     * in time independent of how much data the image holds.
     */
    @Override
    public ProbedImage probeForResize(Path path, ImageReader reader) throws ProbeException {
        return parse(path, reader, false);
    }

    private static ProbedImage parse(Path path, ImageReader reader, boolean layout) throws ProbeException {
        try {
            return new Parse(path, reader, layout).run();
        } catch (ArithmeticException | IndexOutOfBoundsException | IllegalArgumentException e) {
            // Defensive: every range is checked before use; this only turns a missed check
            // into a typed error rather than a crash.
            throw new ProbeException(ErrorCode.PARSE_FAILED, "qcow2", 0,
                    "qcow2 image is inconsistent: " + e.getMessage());
        }
    }

    static ProbeException fail(String field, long offset, String message) {
        return new ProbeException(ErrorCode.PARSE_FAILED, field, offset,
                HDR + " field " + field + " at offset " + offset + ": " + message);
    }

    static ProbeException failIn(String structure, String field, long offset, String message) {
        return new ProbeException(ErrorCode.PARSE_FAILED, field, offset,
                structure + " field " + field + " at offset " + offset + ": " + message);
    }

    static String featureKind(int type) {
        return switch (type) {
            case 0 -> "incompatible";
            case 1 -> "compatible";
            case 2 -> "autoclear";
            default -> "unknown type " + type;
        };
    }

    static String extensionName(long type) {
        if (type == EXT_END) {
            return "end of extensions";
        } else if (type == EXT_BACKING_FORMAT) {
            return "backing file format";
        } else if (type == EXT_FEATURE_TABLE) {
            return "feature name table";
        } else if (type == EXT_BITMAPS) {
            return "bitmaps";
        } else if (type == EXT_CRYPTO) {
            return "full disk encryption header pointer";
        } else if (type == EXT_DATA_FILE) {
            return "external data file";
        }
        return "unknown";
    }

    /** Default feature names, used when the image has no feature name table. */
    static String defaultFeatureName(int type, int bit) {
        for (Feature f : FEATURES) {
            if (f.type() == type && f.bit() == bit) {
                return f.name();
            }
        }
        return null;
    }

    static long knownMask(int type) {
        return switch (type) {
            case 0 -> KNOWN_INCOMPATIBLE;
            case 1 -> COMPAT_LAZY_REFCOUNTS;
            case 2 -> AUTOCLEAR_BITMAPS | AUTOCLEAR_DATA_FILE_RAW;
            default -> 0;
        };
    }

    /** How a header field's value is shown, beyond FieldReader's decimal and hex. */
    enum Shown implements LongFunction<String> {
        CLUSTER_BITS, CRYPT_METHOD, REFCOUNT_ORDER, COMPRESSION_TYPE, EXTENSION_TYPE, FEATURE_TYPE,
        LUKS_KEY_SLOT_ACTIVE, SNAPSHOT_DATE, BITMAP_FLAGS, GRANULARITY_BITS;

        @Override
        public String apply(long v) {
            switch (this) {
                case CLUSTER_BITS:
                    return v + " (cluster size " + (1L << v) + " bytes)";
                case CRYPT_METHOD:
                    return v == 0 ? "0 (none)" : v == 1 ? "1 (AES-CBC)" : v == 2 ? "2 (LUKS)" : v + " (unknown)";
                case REFCOUNT_ORDER:
                    return v + " (" + (1L << v) + "-bit refcounts)";
                case COMPRESSION_TYPE:
                    return v == 0 ? "0 (zlib)" : v == 1 ? "1 (zstd)" : v + " (unknown)";
                case EXTENSION_TYPE:
                    return "0x" + FieldReader.hexDigits(v, 8) + " (" + extensionName(v) + ")";
                case FEATURE_TYPE:
                    return v + " (" + featureKind((int) v) + ")";
                case LUKS_KEY_SLOT_ACTIVE:
                    return v == LuksLayout.KEY_ENABLED ? "0x00ac71f3 (enabled)"
                            : v == LuksLayout.KEY_DISABLED ? "0x0000dead (disabled)"
                            : FieldReader.hex(v) + " (invalid)";
                case SNAPSHOT_DATE:
                    return v + " (" + FieldReader.instant(v) + ")";
                case BITMAP_FLAGS:
                    return "0x" + Long.toHexString(v) + ((v & 1) != 0 ? " (in use)" : "")
                            + ((v & 2) != 0 ? " (auto)" : "");
                case GRANULARITY_BITS:
                    return v + (v < 63 ? " (" + (1L << v) + " bytes per bit)" : "");
                default:
                    throw new IllegalStateException("no rendering for " + this);
            }
        }
    }

    /** Stretches by start offset. */
    static final class ByStart implements Comparator<Iv> {
        @Override
        public int compare(Iv a, Iv b) {
            return Long.compare(a.start(), b.start());
        }
    }

    /** Stretches by start offset, then by priority (lower first). */
    static final class ByStartThenPriority implements Comparator<Iv> {
        @Override
        public int compare(Iv a, Iv b) {
            return a.start() != b.start() ? Long.compare(a.start(), b.start()) : Integer.compare(a.prio(), b.prio());
        }
    }

    /** A stretch of the file with what it holds; lower priority wins an overlap at the same start. */
    static final class Iv {
        private final long start;
        private long end;
        private final RegionKind kind;
        private final String label;
        private final int prio;

        Iv(long start, long end, RegionKind kind, String label, int prio) {
            this.start = start;
            this.end = end;
            this.kind = kind;
            this.label = label;
            this.prio = prio;
        }

        long start() {
            return start;
        }

        long end() {
            return end;
        }

        RegionKind kind() {
            return kind;
        }

        String label() {
            return label;
        }

        int prio() {
            return prio;
        }
    }

    /** One parse: state for a single image. */
    static final class Parse {
        final Path path;
        final ImageReader reader;
        final long fileSize;
        final List<HeaderField> headerFields = new ArrayList<>();
        final List<HeaderField> extFields = new ArrayList<>();
        final List<HeaderField> otherFields = new ArrayList<>();
        final Set<String> flags = new LinkedHashSet<>();
        /** Why qemu would refuse to open the image, found while parsing leniently (qemu's words first). */
        final List<String> openProblems = new ArrayList<>();
        /** Tables qemu opens but that lie past the end of the file (typed for the planner; flagged for info). */
        final List<Qcow2Header.Damage> damage = new ArrayList<>();
        final List<Iv> ivs = new ArrayList<>();
        final Map<Long, String> featureNames = new HashMap<>();
        final List<Qcow2Header.Extension> extensions = new ArrayList<>();
        final List<Qcow2Header.Snapshot> snapshots = new ArrayList<>();
        final List<Qcow2Header.Bitmap> bitmaps = new ArrayList<>();
        boolean intervalsTruncated;
        long l2BytesRead;
        long tableBytesRead;
        boolean tableBudgetHit;
        boolean l2BudgetHit;

        long version;
        int clusterBits;
        long clusterSize;
        long headerLength;
        long backingFileOffset;
        long backingFileSize;
        long size;
        long cryptMethod;
        long l1Size;
        long l1TableOffset;
        long refcountTableOffset;
        long refcountTableClusters;
        long nbSnapshots;
        long snapshotsOffset;
        long incompatible;
        long compatible;
        long autoclear;
        int refcountOrder = 4;
        int compressionType;
        long extensionsEnd;
        String backingFile = "";
        String backingFormat = "";
        String dataFile = "";
        long cryptoOffset = -1;
        long cryptoLength;
        String luksCipher = "";
        Optional<LuksHeader> luks = Optional.empty();
        int luksSlots;
        long bitmapDirOffset;
        long bitmapDirSize;
        long nbBitmaps;
        boolean hasBitmapsExt;
        long bitmapsExtOffset;
        long[] refTable = new long[0];
        long refTableAllocated;
        long l1Allocated;
        long l1Needed;
        boolean l1PastEnd;

        /** Whether to walk the L1/L2 tables for the layout map (false: resize-time probe). */
        final boolean layout;

        Parse(Path path, ImageReader reader, boolean layout) {
            this.path = path;
            this.reader = reader;
            this.layout = layout;
            this.fileSize = reader.size();
        }

        boolean inFile(long off, long len) {
            return off >= 0 && len >= 0 && off <= fileSize && fileSize - off >= len;
        }

        void addIv(long start, long len, RegionKind kind, String label, int prio) {
            if (len <= 0 || start < 0 || start >= fileSize) {
                return;
            }
            long end = fileSize - start < len ? fileSize : start + len;
            if (ivs.size() >= MAX_INTERVALS) {
                intervalsTruncated = true;
                return;
            }
            ivs.add(new Iv(start, end, kind, label, prio));
        }

        ProbedImage run() throws ProbeException {
            try {
                readHeader();
            } catch (ProbeException e) {
                recordHeaderFieldsBefore();
                throw e;
            }
            readExtensions();
            recordHeaderFields();
            readBackingFile();
            readCryptoHeader();
            checkL1();
            readRefcountTable();
            readSnapshots();
            readBitmaps();
            if (layout) {
                walkActive();
                walkSnapshots();
            }
            List<LayoutRegion> regions = layout ? buildRegions() : List.of();

            Qcow2Header header = new Qcow2Header(version, headerLength, backingFileOffset, backingFileSize,
                    clusterBits, size, cryptMethod, l1Size, l1TableOffset, refcountTableOffset,
                    refcountTableClusters, nbSnapshots, snapshotsOffset, incompatible, compatible, autoclear,
                    refcountOrder, compressionType, extensionsEnd, extensions, backingFile, backingFormat,
                    dataFile, snapshots, bitmaps, l1Allocated, l1Needed, refTableAllocated, luks, List.copyOf(damage));
            List<HeaderField> fields = new ArrayList<>(headerFields);
            fields.addAll(extFields);
            fields.addAll(otherFields);
            // qemu keeps size / 512 sectors and reports that many whole sectors.
            long virtualSize = size - (size % 512);
            List<String> flags = summaryFlags();
            Optional<Qcow2OpenChecks.Problem> first = Qcow2OpenChecks.firstProblem(header);
            if (first.isPresent()) {
                flags.add(Qcow2OpenChecks.FLAG + first.get().describe());
            }
            for (String p : openProblems) {
                flags.add(Qcow2OpenChecks.FLAG + p);
            }
            return new ProbedImage(path, ImageFormat.QCOW2, "v" + version, virtualSize, fileSize, clusterSize,
                    flags, fields, regions, header);
        }

        // ------------------------------------------------------------------ header

        void readHeader() throws ProbeException {
            if (fileSize < V2_HEADER_LENGTH) {
                throw fail("header", 0, "the file is " + fileSize + " bytes, shorter than the "
                        + V2_HEADER_LENGTH + "-byte qcow2 header");
            }
            ByteBuffer h = reader.readBuffer(0, V2_HEADER_LENGTH, ORDER, HDR);
            version = Integer.toUnsignedLong(h.getInt(OFF_VERSION));
            if (version != 2 && version != 3) {
                throw fail("version", OFF_VERSION, "unsupported qcow2 version " + version + " (expected 2 or 3)");
            }
            clusterBits = h.getInt(OFF_CLUSTER_BITS);
            if (clusterBits < MIN_CLUSTER_BITS || clusterBits > MAX_CLUSTER_BITS) {
                throw fail("cluster_bits", OFF_CLUSTER_BITS, "unsupported cluster size 2^"
                        + Integer.toUnsignedString(clusterBits) + " (cluster_bits must be "
                        + MIN_CLUSTER_BITS + ".." + MAX_CLUSTER_BITS + ")");
            }
            clusterSize = Qcow2Layout.clusterSize(clusterBits);
            backingFileOffset = h.getLong(OFF_BACKING_FILE_OFFSET);
            backingFileSize = Integer.toUnsignedLong(h.getInt(OFF_BACKING_FILE_SIZE));
            size = h.getLong(OFF_SIZE);
            cryptMethod = Integer.toUnsignedLong(h.getInt(OFF_CRYPT_METHOD));
            l1Size = Integer.toUnsignedLong(h.getInt(OFF_L1_SIZE));
            l1TableOffset = h.getLong(OFF_L1_TABLE_OFFSET);
            refcountTableOffset = h.getLong(OFF_REFCOUNT_TABLE_OFFSET);
            refcountTableClusters = Integer.toUnsignedLong(h.getInt(OFF_REFCOUNT_TABLE_CLUSTERS));
            nbSnapshots = Integer.toUnsignedLong(h.getInt(OFF_NB_SNAPSHOTS));
            snapshotsOffset = h.getLong(OFF_SNAPSHOTS_OFFSET);
            headerLength = V2_HEADER_LENGTH;
            if (version == 3) {
                if (fileSize < V3_MIN_HEADER_LENGTH) {
                    throw fail("header_length", OFF_HEADER_LENGTH, "the file is " + fileSize
                            + " bytes, shorter than the " + V3_MIN_HEADER_LENGTH + "-byte qcow2 v3 header");
                }
                ByteBuffer v3 = reader.readBuffer(0, V3_MIN_HEADER_LENGTH, ORDER, HDR);
                headerLength = Integer.toUnsignedLong(v3.getInt(OFF_HEADER_LENGTH));
                if (headerLength < V3_MIN_HEADER_LENGTH) {
                    throw fail("header_length", OFF_HEADER_LENGTH, headerLength
                            + " bytes is too short (a v3 header has at least " + V3_MIN_HEADER_LENGTH + ")");
                }
                if (headerLength > clusterSize) {
                    throw fail("header_length", OFF_HEADER_LENGTH, headerLength
                            + " bytes exceeds the cluster size " + clusterSize);
                }
                if (headerLength > fileSize) {
                    throw fail("header_length", OFF_HEADER_LENGTH, headerLength
                            + " bytes lies beyond the end of the file (" + fileSize + " bytes)");
                }
                incompatible = v3.getLong(OFF_INCOMPATIBLE);
                compatible = v3.getLong(OFF_COMPATIBLE);
                autoclear = v3.getLong(OFF_AUTOCLEAR);
                long order = Integer.toUnsignedLong(v3.getInt(OFF_REFCOUNT_ORDER));
                if (order > MAX_REFCOUNT_ORDER) {
                    throw fail("refcount_order", OFF_REFCOUNT_ORDER, order
                            + " is too large (refcount entries are at most 2^6 = 64 bits)");
                }
                refcountOrder = (int) order;
                if ((incompatible & INCOMPAT_EXTL2) != 0
                        && clusterSize / SUBCLUSTERS < (1L << MIN_CLUSTER_BITS)) {
                    throw fail("incompatible_features", OFF_INCOMPATIBLE, "extended L2 entries need clusters of at least "
                            + SUBCLUSTERS * (1L << MIN_CLUSTER_BITS) + " bytes (subclusters of "
                            + clusterSize / SUBCLUSTERS + " bytes are unsupported)");
                }
            }
            if (backingFileOffset != 0 && Long.compareUnsigned(backingFileOffset, clusterSize) > 0) {
                throw fail("backing_file_offset", OFF_BACKING_FILE_OFFSET, Long.toUnsignedString(backingFileOffset)
                        + " lies outside the first cluster (" + clusterSize + " bytes)");
            }
            if (size < 0) {
                throw fail("size", OFF_SIZE, Long.toUnsignedString(size) + " bytes is too big (at most 2^63 - 1)");
            }
        }

        /** The fixed header's fields, for the partial result of a header {@code readHeader} refused. */
        void recordHeaderFieldsBefore() throws ProbeException {
            if (fileSize < V2_HEADER_LENGTH) {
                return;
            }
            headerLength = version == 3 && fileSize >= V3_MIN_HEADER_LENGTH ? V3_MIN_HEADER_LENGTH
                    : V2_HEADER_LENGTH;
            recordHeaderFields();
        }

        void recordHeaderFields() throws ProbeException {
            byte[] bytes = reader.read(0, (int) headerLength, HDR);
            FieldReader f = new FieldReader(HDR, 0, bytes, ORDER, headerFields);
            f.bytes("magic", OFF_MAGIC, 4, "'QFI\\xfb'", "identifies a QEMU copy-on-write image");
            f.u32("version", OFF_VERSION, "format version: 2 (qemu compat 0.10) or 3 (compat 1.1)",
                    FieldReader.DECIMAL);
            f.u64("backing_file_offset", OFF_BACKING_FILE_OFFSET,
                    "where the backing file name is stored in the first cluster; 0 = no backing file");
            f.u32("backing_file_size", OFF_BACKING_FILE_SIZE, "length of the backing file name in bytes (no NUL)",
                    FieldReader.DECIMAL);
            f.u32("cluster_bits", OFF_CLUSTER_BITS, "log2 of the cluster size: every allocation is one cluster",
                    Shown.CLUSTER_BITS);
            f.u64("size", OFF_SIZE, "virtual disk size in bytes (the guest sees size / 512 whole sectors)");
            f.u32("crypt_method", OFF_CRYPT_METHOD, "encryption: 0 none, 1 AES-CBC (deprecated), 2 LUKS",
                    Shown.CRYPT_METHOD);
            f.u32("l1_size", OFF_L1_SIZE, "number of 8-byte entries in the active L1 table", FieldReader.DECIMAL);
            f.u64("l1_table_offset", OFF_L1_TABLE_OFFSET, "file offset of the active L1 table (cluster aligned)");
            f.u64("refcount_table_offset", OFF_REFCOUNT_TABLE_OFFSET,
                    "file offset of the refcount table (cluster aligned)");
            f.u32("refcount_table_clusters", OFF_REFCOUNT_TABLE_CLUSTERS,
                    "clusters occupied by the refcount table", FieldReader.DECIMAL);
            f.u32("nb_snapshots", OFF_NB_SNAPSHOTS, "number of internal snapshots", FieldReader.DECIMAL);
            f.u64("snapshots_offset", OFF_SNAPSHOTS_OFFSET, "file offset of the snapshot table (cluster aligned)");
            if (version < 3 || headerLength < V3_MIN_HEADER_LENGTH) {
                return;
            }
            f.u64("incompatible_features", OFF_INCOMPATIBLE,
                    "features a reader must understand to open the image at all", new FeatureText(0));
            f.u64("compatible_features", OFF_COMPATIBLE,
                    "features a reader may ignore safely", new FeatureText(1));
            f.u64("autoclear_features", OFF_AUTOCLEAR,
                    "features a writer that does not know them must clear", new FeatureText(2));
            f.u32("refcount_order", OFF_REFCOUNT_ORDER, "log2 of the refcount entry width in bits",
                    Shown.REFCOUNT_ORDER);
            f.u32("header_length", OFF_HEADER_LENGTH, "length of this header; extensions follow it",
                    FieldReader.DECIMAL);
            if (headerLength > OFF_COMPRESSION_TYPE) {
                long ct = f.record("compression_type", OFF_COMPRESSION_TYPE, 1,
                        bytes[OFF_COMPRESSION_TYPE] & 0xff,
                        Shown.COMPRESSION_TYPE,
                        "algorithm of compressed clusters: 0 zlib, 1 zstd");
                compressionType = (int) ct;
                int padEnd = (int) Math.min(headerLength, COMPRESSION_FIELD_END);
                if (padEnd > OFF_COMPRESSION_TYPE + 1) {
                    f.bytes("padding", OFF_COMPRESSION_TYPE + 1, padEnd - OFF_COMPRESSION_TYPE - 1,
                            hexPreview(bytes, OFF_COMPRESSION_TYPE + 1, padEnd), "pads the header to 8 bytes");
                }
                if (headerLength > COMPRESSION_FIELD_END) {
                    f.bytes("unknown header bytes", COMPRESSION_FIELD_END,
                            (int) headerLength - COMPRESSION_FIELD_END,
                            hexPreview(bytes, COMPRESSION_FIELD_END, (int) headerLength),
                            "header fields newer than this parser (kept as they are)");
                }
            }
        }

        /** A feature field's value with the names of its bits (the image's own names first). */
        final class FeatureText implements LongFunction<String> {
            private final int type;

            FeatureText(int type) {
                this.type = type;
            }

            @Override
            public String apply(long v) {
                return featureText(type, v);
            }
        }

        String featureText(int type, long value) {
            if (value == 0) {
                return "0x0 (none)";
            }
            StringBuilder sb = new StringBuilder("0x").append(Long.toHexString(value)).append(" (");
            boolean first = true;
            for (int bit = 0; bit < 64; bit++) {
                if ((value & (1L << bit)) == 0) {
                    continue;
                }
                if (!first) {
                    sb.append(", ");
                }
                first = false;
                sb.append("bit ").append(bit).append(' ').append(featureName(type, bit));
            }
            return sb.append(')').toString();
        }

        String featureName(int type, int bit) {
            String name = featureNames.get(((long) type << 8) | bit);
            if (name == null) {
                name = defaultFeatureName(type, bit);
            }
            return name == null ? "(unknown)" : "'" + name + "'";
        }

        // ------------------------------------------------------------------ extensions

        void readExtensions() throws ProbeException {
            long start = headerLength;
            long end = backingFileOffset != 0 ? backingFileOffset : clusterSize;
            long offset = start;
            extensionsEnd = start;
            while (offset < end) {
                if (end - offset < 8) {
                    // qemu reads the 8-byte extension header anyway and refuses the image.
                    openProblems.add("Header extension too large (header extension at offset " + offset
                            + " crosses the end of the extension area at " + end + ")");
                    break;
                }
                if (!inFile(offset, 8)) {
                    throw failIn("header extension", "type", offset,
                            "the extension header lies beyond the end of the file (" + fileSize + " bytes)");
                }
                ByteBuffer eh = reader.readBuffer(offset, 8, ORDER, "header extension");
                long type = Integer.toUnsignedLong(eh.getInt(0));
                long len = Integer.toUnsignedLong(eh.getInt(4));
                String group = "header extension 0x" + FieldReader.hexDigits(type, 8) + " (" + extensionName(type)
                        + ")";
                if (len > end - offset - 8) {
                    throw failIn(group, "length", offset + 4, len + " bytes runs past the end of the extension area"
                            + " (offset " + end + ")");
                }
                if (!inFile(offset + 8, len)) {
                    throw failIn(group, "length", offset + 4, len + " bytes lies beyond the end of the file");
                }
                byte[] data = reader.read(offset, (int) (8 + len), group);
                FieldReader f = new FieldReader(group, offset, data, ORDER, extFields);
                f.u32("type", 0, "extension type code",
                        Shown.EXTENSION_TYPE);
                f.u32("length", 4, "bytes of extension data (padded to a multiple of 8 on disk)",
                        FieldReader.DECIMAL);
                extensions.add(new Qcow2Header.Extension(type, offset, len, extensionName(type)));
                if (type == EXT_END) {
                    extensionsEnd = offset + 8;
                    return;
                }
                parseExtension(type, len, f, offset, data);
                long padded = (len + 7) & ~7L;
                offset = offset + 8 + padded;
                extensionsEnd = Math.min(offset, end);
            }
        }

        void parseExtension(long type, long len, FieldReader f, long offset, byte[] data) throws ProbeException {
            int n = (int) len;
            if (type == EXT_BACKING_FORMAT && len >= BACKING_FORMAT_MAX) {
                openProblems.add("ERROR: ext_backing_format: len=" + len + " too large (>=" + BACKING_FORMAT_MAX
                        + ") (header extension length at offset " + (offset + 4) + ")");
            }
            if (type == EXT_CRYPTO && cryptMethod != CRYPT_LUKS) {
                openProblems.add("CRYPTO header extension only expected with LUKS encryption method (crypt_method at"
                        + " offset " + OFF_CRYPT_METHOD + ")");
            }
            if (type == EXT_BACKING_FORMAT) {
                backingFormat = FieldReader.printable(java.util.Arrays.copyOfRange(data, 8, 8 + n));
                f.ascii("backing format", 8, n, "driver name of the backing file (e.g. qcow2, raw)");
            } else if (type == EXT_DATA_FILE) {
                dataFile = FieldReader.printable(java.util.Arrays.copyOfRange(data, 8, 8 + n));
                f.ascii("data file name", 8, n, "file holding the guest data clusters");
            } else if (type == EXT_FEATURE_TABLE) {
                int entries = n / FEATURE_ENTRY_SIZE;
                for (int i = 0; i < entries; i++) {
                    int rel = 8 + i * FEATURE_ENTRY_SIZE;
                    int ftype = (int) f.record("feature " + i + " type", rel, 1, data[rel] & 0xff,
                            Shown.FEATURE_TYPE, "0 incompatible, 1 compatible, 2 autoclear");
                    int bit = (int) f.u8("feature " + i + " bit", rel + 1, "bit number within that feature field");
                    String name = f.ascii("feature " + i + " name", rel + 2, FEATURE_NAME_SIZE,
                            "human-readable feature name");
                    if (ftype <= 2 && bit < 64) {
                        featureNames.put(((long) ftype << 8) | bit, FieldReader.printable(
                                name.getBytes(StandardCharsets.ISO_8859_1)));
                    }
                }
                if (n % FEATURE_ENTRY_SIZE != 0) {
                    int rel = 8 + entries * FEATURE_ENTRY_SIZE;
                    f.bytes("trailing bytes", rel, n - entries * FEATURE_ENTRY_SIZE,
                            hexPreview(data, rel, 8 + n), "not a whole 48-byte feature entry");
                    flags.add("feature name table length " + n + " is not a multiple of 48");
                }
            } else if (type == EXT_BITMAPS) {
                if (n != BITMAPS_EXT_SIZE) {
                    throw failIn("header extension 0x23852875 (bitmaps)", "length", offset + 4,
                            n + " bytes (the bitmaps extension is exactly " + BITMAPS_EXT_SIZE + ")");
                }
                hasBitmapsExt = true;
                bitmapsExtOffset = offset;
                nbBitmaps = f.u32("nb_bitmaps", 8, "number of persistent bitmaps", FieldReader.DECIMAL);
                f.u32("reserved", 12, "must be zero");
                bitmapDirSize = f.u64("bitmap_directory_size", 16, "bytes of the bitmap directory");
                bitmapDirOffset = f.u64("bitmap_directory_offset", 24, "file offset of the bitmap directory");
            } else if (type == EXT_CRYPTO) {
                if (n != CRYPTO_EXT_SIZE) {
                    throw failIn("header extension 0x0537be77 (full disk encryption header pointer)", "length",
                            offset + 4, n + " bytes (this extension is exactly " + CRYPTO_EXT_SIZE + ")");
                }
                cryptoOffset = f.u64("offset", 8, "file offset of the LUKS header (cluster aligned)");
                cryptoLength = f.u64("length", 16, "bytes of the LUKS header and key material");
            } else if (n > 0) {
                f.bytes("data", 8, n, n + " bytes: " + hexPreview(data, 8, 8 + n),
                        "data of an extension this parser does not know (kept as it is)");
            }
            int pad = (int) (((len + 7) & ~7L) - len);
            if (pad > 0 && inFile(offset + 8 + len, pad)) {
                byte[] p = reader.read(offset + 8 + len, pad, "header extension padding");
                FieldReader pf = new FieldReader(f.group(), offset + 8 + len, p, ORDER, extFields);
                pf.bytes("padding", 0, pad, hexPreview(p, 0, pad), "pads the extension to a multiple of 8 bytes");
            }
        }

        void readBackingFile() throws ProbeException {
            if (backingFileOffset == 0) {
                return;
            }
            if (backingFileSize > MAX_BACKING_NAME || backingFileSize > clusterSize - backingFileOffset) {
                throw fail("backing_file_size", OFF_BACKING_FILE_SIZE, backingFileSize
                        + " bytes is too long (at most " + MAX_BACKING_NAME + " and within the first cluster)");
            }
            if (!inFile(backingFileOffset, backingFileSize)) {
                throw fail("backing_file_offset", OFF_BACKING_FILE_OFFSET, "the backing file name ("
                        + backingFileSize + " bytes at " + backingFileOffset + ") lies beyond the end of the file");
            }
            byte[] name = reader.read(backingFileOffset, (int) backingFileSize, "backing file name");
            FieldReader f = new FieldReader("backing file name", backingFileOffset, name, ORDER, otherFields);
            f.ascii("backing file", 0, (int) backingFileSize, "the image this one is an overlay of");
            backingFile = FieldReader.printable(name);
        }

        /**
         * The LUKS header that the full disk encryption extension points at (crypt_method 2):
         * its main fields, so a user sees the cipher without a second tool. Read only when it
         * lies inside the file and carries the LUKS magic.
         */
        void readCryptoHeader() throws ProbeException {
            if (cryptoOffset < 0 || !inFile(cryptoOffset, LuksLayout.PHDR_SIZE)) {
                return;
            }
            byte[] p = reader.read(cryptoOffset, LuksLayout.PHDR_SIZE, "LUKS header");
            if (!java.util.Arrays.equals(p, 0, LuksLayout.MAGIC_SIZE, LuksLayout.MAGIC, 0, LuksLayout.MAGIC_SIZE)) {
                flags.add("corrupt: no LUKS magic at the encryption header offset " + cryptoOffset);
                return;
            }
            FieldReader f = new FieldReader("LUKS header (qcow2 encryption)", cryptoOffset, p, LuksLayout.ORDER,
                    otherFields);
            f.bytes("magic", LuksLayout.OFF_MAGIC, LuksLayout.MAGIC_SIZE, "'LUKS\\xba\\xbe'", "identifies a LUKS header");
            long luksVersion = f.u16("version", LuksLayout.OFF_VERSION, "LUKS header version");
            String cipher = f.ascii("cipher_name", LuksLayout.OFF_CIPHER_NAME, LuksLayout.NAME_LEN, "cipher algorithm");
            String mode = f.ascii("cipher_mode", LuksLayout.OFF_CIPHER_MODE, LuksLayout.NAME_LEN, "cipher mode");
            String hash = f.ascii("hash_spec", LuksLayout.OFF_HASH_SPEC, LuksLayout.NAME_LEN,
                    "hash used by PBKDF2 and the AF splitter");
            long payload = f.u32("payload_offset", LuksLayout.OFF_PAYLOAD_OFFSET, "size of the LUKS area in 512-byte "
                    + "sectors (inside qcow2 the data lives in clusters)", FieldReader.DECIMAL);
            long keyBytes = f.u32("key_bytes", LuksLayout.OFF_KEY_BYTES, "master key length in bytes",
                    FieldReader.DECIMAL);
            int digestEnd = LuksLayout.OFF_MK_DIGEST + LuksLayout.MK_DIGEST_SIZE;
            f.bytes("mk_digest", LuksLayout.OFF_MK_DIGEST, LuksLayout.MK_DIGEST_SIZE,
                    hexPreview(p, LuksLayout.OFF_MK_DIGEST, digestEnd), "PBKDF2 digest of the master key");
            int saltEnd = LuksLayout.OFF_MK_DIGEST_SALT + LuksLayout.SALT_SIZE;
            f.bytes("mk_digest_salt", LuksLayout.OFF_MK_DIGEST_SALT, LuksLayout.SALT_SIZE,
                    hexPreview(p, LuksLayout.OFF_MK_DIGEST_SALT, saltEnd), "salt of that digest");
            long mkIter = f.u32("mk_digest_iter", LuksLayout.OFF_MK_DIGEST_ITER, "PBKDF2 iterations of the digest",
                    FieldReader.DECIMAL);
            String uuid = f.ascii("uuid", LuksLayout.OFF_UUID, LuksLayout.UUID_SIZE, "UUID of the encrypted volume");
            int enabled = 0;
            List<LuksHeader.KeySlot> slots = new ArrayList<>();
            for (int i = 0; i < LuksLayout.KEY_SLOTS; i++) {
                int rel = LuksLayout.keySlotOffset(i);
                long active = f.u32("key slot " + i + " active", rel + LuksLayout.KS_ACTIVE,
                        "0x00AC71F3 enabled, 0x0000DEAD disabled", Shown.LUKS_KEY_SLOT_ACTIVE);
                if (active == LuksLayout.KEY_ENABLED) {
                    enabled++;
                }
                long iter = f.u32("key slot " + i + " iterations", rel + LuksLayout.KS_ITERATIONS, "PBKDF2 iterations",
                        FieldReader.DECIMAL);
                int salt = rel + LuksLayout.KS_SALT;
                f.bytes("key slot " + i + " salt", salt, LuksLayout.SALT_SIZE,
                        hexPreview(p, salt, salt + LuksLayout.SALT_SIZE), "PBKDF2 salt");
                long km = f.u32("key slot " + i + " key_material_offset", rel + LuksLayout.KS_KEY_MATERIAL_OFFSET,
                        "sector of the key material, relative to the LUKS header", FieldReader.DECIMAL);
                long stripes = f.u32("key slot " + i + " stripes", rel + LuksLayout.KS_STRIPES,
                        "anti-forensic stripes", FieldReader.DECIMAL);
                slots.add(new LuksHeader.KeySlot(active, iter, km, stripes));
            }
            luksCipher = FieldReader.printable(cipher) + "-" + FieldReader.printable(mode);
            luksSlots = enabled;
            luks = Optional.of(new LuksHeader((int) luksVersion, FieldReader.printable(cipher),
                    FieldReader.printable(mode), FieldReader.printable(hash), payload, keyBytes, mkIter,
                    FieldReader.printable(uuid), slots));
        }

        // ------------------------------------------------------------------ tables

        void checkL1() throws ProbeException {
            l1Needed = Qcow2Layout.l1EntriesFor(size, clusterBits, extendedL2());
            if (l1Size > MAX_L1_BYTES / 8) {
                throw fail("l1_size", OFF_L1_SIZE, l1Size + " entries exceed the 32 MiB limit ("
                        + (MAX_L1_BYTES / 8) + " entries)");
            }
            if (l1Size < l1Needed) {
                throw fail("l1_size", OFF_L1_SIZE, l1Size + " entries are too few for the virtual size " + size
                        + " (" + l1Needed + " needed)");
            }
            if (l1Size > 0) {
                if ((l1TableOffset & (clusterSize - 1)) != 0 || l1TableOffset < 0) {
                    throw fail("l1_table_offset", OFF_L1_TABLE_OFFSET, Long.toUnsignedString(l1TableOffset)
                            + " is not aligned to the cluster size " + clusterSize);
                }
                if (!inFile(l1TableOffset, l1Size * 8)) {
                    // qemu opens it (reads past the end as zeros); info shows it, a resize refuses
                    damaged(fail("l1_table_offset", OFF_L1_TABLE_OFFSET, "the L1 table (" + l1Size * 8
                            + " bytes at " + l1TableOffset + ") lies beyond the end of the file (" + fileSize + " bytes)"));
                    l1PastEnd = true;
                }
            }
        }

        /** A table qemu opens but that lies past the end of the file: a flag for info, a refusal for resize. */
        void damaged(ProbeException e) {
            damage.add(new Qcow2Header.Damage(e.field(), e.offset(), e.getMessage()));
            flags.add("corrupt: " + e.getMessage()); // starts with Qcow2OpenChecks.DAMAGED
        }

        boolean extendedL2() {
            return (incompatible & INCOMPAT_EXTL2) != 0;
        }

        int l2EntrySize() {
            return Qcow2Layout.l2EntrySize(extendedL2());
        }

        void readRefcountTable() throws ProbeException {
            if (refcountTableClusters > MAX_REFTABLE_BYTES / clusterSize) {
                throw fail("refcount_table_clusters", OFF_REFCOUNT_TABLE_CLUSTERS, refcountTableClusters
                        + " clusters exceed the 8 MiB refcount table limit");
            }
            long bytes = refcountTableClusters * clusterSize;
            if ((refcountTableOffset & (clusterSize - 1)) != 0 || refcountTableOffset < 0) {
                throw fail("refcount_table_offset", OFF_REFCOUNT_TABLE_OFFSET,
                        Long.toUnsignedString(refcountTableOffset) + " is not aligned to the cluster size "
                                + clusterSize);
            }
            if (refcountTableClusters == 0) {
                flags.add("corrupt: the refcount table is empty");
            }
            if (!inFile(refcountTableOffset, bytes)) {
                damaged(fail("refcount_table_offset", OFF_REFCOUNT_TABLE_OFFSET, "the refcount table (" + bytes
                        + " bytes at " + refcountTableOffset + ") lies beyond the end of the file (" + fileSize
                        + " bytes)"));
                return;
            }
            ByteBuffer t = reader.readBuffer(refcountTableOffset, (int) bytes, ORDER, "refcount table");
            int entries = (int) (bytes / 8);
            refTable = new long[entries];
            t.asLongBuffer().get(refTable); // in the buffer's (big-endian) order
            long unaligned = 0;
            long outside = 0;
            for (int i = 0; i < entries; i++) {
                long e = refTable[i];
                long off = e & REFT_OFFSET_MASK;
                if (off == 0) {
                    continue;
                }
                refTableAllocated++;
                if ((e & (clusterSize - 1)) != 0) {
                    unaligned++;
                    continue;
                }
                if (!inFile(off, 1)) {
                    outside++;
                    continue;
                }
                addMerged(off, clusterSize, RegionKind.REFCOUNT, "refcount blocks", 1);
            }
            addIv(refcountTableOffset, bytes, RegionKind.REFCOUNT, "refcount table", 0);
            long blockEntries = Qcow2Layout.refblockEntries(clusterBits, refcountOrder);
            FieldReader f = new FieldReader("refcount table", refcountTableOffset, new byte[0], ORDER, otherFields);
            summary(f, "offset", refcountTableOffset, "file offset of the refcount table");
            summary(f, "entries", entries, "8-byte entries, each the offset of one refcount block (0 = none)");
            summary(f, "allocated entries", refTableAllocated, "entries pointing at a refcount block");
            summary(f, "refcount bits", 1L << refcountOrder, "width of one refcount entry");
            summary(f, "entries per refcount block", blockEntries, "clusters one refcount block covers");
            summary(f, "clusters covered", Math.multiplyHigh(entries, blockEntries) == 0 ? entries * blockEntries
                    : Long.MAX_VALUE, "host clusters the table can describe");
            if (unaligned > 0) {
                flags.add("corrupt: " + unaligned + " refcount table entries are not cluster aligned");
            }
            if (outside > 0) {
                flags.add("corrupt: " + outside + " refcount blocks lie beyond the end of the file");
            }
        }

        /** A computed summary value, recorded at the table's offset with no raw bytes. */
        void summary(FieldReader f, String name, long value, String meaning) {
            otherFields.add(new HeaderField(f.group(), name, f.at(0), 0, new byte[0],
                    FieldReader.decimal(value), meaning));
        }

        void readSnapshots() throws ProbeException {
            if (nbSnapshots > MAX_SNAPSHOTS) {
                throw fail("nb_snapshots", OFF_NB_SNAPSHOTS, nbSnapshots + " snapshots exceed the limit of "
                        + MAX_SNAPSHOTS);
            }
            if (nbSnapshots == 0) {
                return;
            }
            if ((snapshotsOffset & (clusterSize - 1)) != 0 || snapshotsOffset < 0) {
                throw fail("snapshots_offset", OFF_SNAPSHOTS_OFFSET, Long.toUnsignedString(snapshotsOffset)
                        + " is not aligned to the cluster size " + clusterSize);
            }
            if (!inFile(snapshotsOffset, nbSnapshots * SNAPSHOT_FIXED)) {
                damaged(fail("snapshots_offset", OFF_SNAPSHOTS_OFFSET, "the snapshot table (" + nbSnapshots
                        + " entries at " + snapshotsOffset + ") lies beyond the end of the file"));
                return;
            }
            long offset = snapshotsOffset;
            for (int i = 0; i < nbSnapshots; i++) {
                String group = "snapshot " + (i + 1);
                if (offset - snapshotsOffset > MAX_SNAPSHOT_TABLE_BYTES) {
                    throw fail("snapshots_offset", OFF_SNAPSHOTS_OFFSET, "the snapshot table exceeds "
                            + MAX_SNAPSHOT_TABLE_BYTES + " bytes at entry " + (i + 1));
                }
                if (!inFile(offset, SNAPSHOT_FIXED)) {
                    throw failIn(group, "l1_table_offset", offset, "the snapshot entry lies beyond the end of the file");
                }
                ByteBuffer fixed = reader.readBuffer(offset, SNAPSHOT_FIXED, ORDER, group);
                int idSize = Short.toUnsignedInt(fixed.getShort(12));
                int nameSize = Short.toUnsignedInt(fixed.getShort(14));
                long extra = Integer.toUnsignedLong(fixed.getInt(36));
                if (extra > MAX_SNAPSHOT_EXTRA) {
                    throw failIn(group, "extra_data_size", offset + 36, extra + " bytes exceed the limit of "
                            + MAX_SNAPSHOT_EXTRA);
                }
                long raw = SNAPSHOT_FIXED + extra + idSize + nameSize;
                long entryLen = (raw + 7) & ~7L;
                if (!inFile(offset, raw)) {
                    throw failIn(group, "extra_data_size", offset + 36, "the snapshot entry (" + raw
                            + " bytes) runs past the end of the file");
                }
                byte[] e = reader.read(offset, (int) raw, group);
                FieldReader f = new FieldReader(group, offset, e, ORDER, otherFields);
                long l1Off = f.u64("l1_table_offset", 0, "file offset of the snapshot's L1 table");
                long l1n = f.u32("l1_size", 8, "entries in the snapshot's L1 table", FieldReader.DECIMAL);
                f.u16("id_str_size", 12, "length of the id string");
                f.u16("name_size", 14, "length of the name");
                long sec = f.u32("date_sec", 16, "creation time, seconds since 1970-01-01 UTC",
                        Shown.SNAPSHOT_DATE);
                long nsec = f.u32("date_nsec", 20, "creation time, nanoseconds part", FieldReader.DECIMAL);
                long clock = f.u64("vm_clock_nsec", 24, "guest clock at the snapshot, nanoseconds",
                        FieldReader.DECIMAL);
                long vmState = f.u32("vm_state_size", 32, "bytes of saved VM state (0 = disk-only snapshot)",
                        FieldReader.DECIMAL);
                f.u32("extra_data_size", 36, "bytes of extra data that follow", FieldReader.DECIMAL);
                long diskSize = -1;
                long icount = -1;
                if (extra >= 8) {
                    vmState = f.u64("vm_state_size_large", 40, "64-bit VM state size", FieldReader.DECIMAL);
                }
                if (extra >= 16) {
                    diskSize = f.u64("disk_size", 48, "virtual disk size when the snapshot was taken",
                            FieldReader.DECIMAL);
                }
                if (extra >= 24) {
                    icount = f.u64("icount", 56, "instruction count (record/replay); -1 = none", FieldReader.HEX);
                }
                if (extra > 24) {
                    f.bytes("unknown extra data", 64, (int) extra - 24, hexPreview(e, 64, (int) (40 + extra)),
                            "extra data newer than this parser");
                } else if (extra % 8 != 0) {
                    int known = (int) (extra / 8 * 8);
                    f.bytes("unknown extra data", 40 + known, (int) extra - known,
                            hexPreview(e, 40 + known, (int) (40 + extra)), "partial extra data field");
                }
                if (version >= 3 && extra < 16) {
                    flags.add("snapshot " + (i + 1) + ": extra data too small for a v3 image (" + extra + " bytes)");
                }
                int idRel = (int) (40 + extra);
                String id = f.ascii("id_str", idRel, idSize, "unique id of the snapshot");
                String name = f.ascii("name", idRel + idSize, nameSize, "name of the snapshot");
                snapshots.add(new Qcow2Header.Snapshot(offset, entryLen, l1Off, l1n,
                        FieldReader.printable(id.getBytes(StandardCharsets.ISO_8859_1)),
                        FieldReader.printable(name.getBytes(StandardCharsets.ISO_8859_1)),
                        sec, nsec, clock, vmState, extra, diskSize, icount));
                offset += entryLen;
            }
            addIv(snapshotsOffset, offset - snapshotsOffset, RegionKind.METADATA, "snapshot table", 0);
        }

        void readBitmaps() throws ProbeException {
            if (!hasBitmapsExt) {
                return;
            }
            String group = "header extension 0x23852875 (bitmaps)";
            if (nbBitmaps > MAX_BITMAPS) {
                throw failIn(group, "nb_bitmaps", bitmapsExtOffset + 8, nbBitmaps + " bitmaps exceed the limit of " + MAX_BITMAPS);
            }
            if (bitmapDirSize > MAX_BITMAP_DIRECTORY || bitmapDirSize < 0) {
                throw failIn(group, "bitmap_directory_size", bitmapsExtOffset + 16, Long.toUnsignedString(bitmapDirSize)
                        + " bytes exceed the limit of " + MAX_BITMAP_DIRECTORY);
            }
            if (!inFile(bitmapDirOffset, bitmapDirSize)) {
                throw failIn(group, "bitmap_directory_offset", bitmapsExtOffset + 24, "the bitmap directory (" + bitmapDirSize
                        + " bytes at " + Long.toUnsignedString(bitmapDirOffset) + ") lies beyond the end of the file");
            }
            byte[] dir = reader.read(bitmapDirOffset, (int) bitmapDirSize, "bitmap directory");
            addIv(bitmapDirOffset, bitmapDirSize, RegionKind.METADATA, "bitmap directory", 0);
            ByteBuffer b = ByteBuffer.wrap(dir).order(ORDER);
            int rel = 0;
            for (int i = 0; i < nbBitmaps; i++) {
                String g = "bitmap " + (i + 1);
                if (dir.length - rel < BITMAP_ENTRY_FIXED) {
                    throw failIn(g, "bitmap_table_offset", bitmapDirOffset + rel,
                            "the entry runs past the end of the bitmap directory");
                }
                int nameSize = Short.toUnsignedInt(b.getShort(rel + 18));
                long extra = Integer.toUnsignedLong(b.getInt(rel + 20));
                long len = BITMAP_ENTRY_FIXED + extra + nameSize;
                if (len > dir.length - rel) {
                    throw failIn(g, "extra_data_size", bitmapDirOffset + rel + 20,
                            "the entry (" + len + " bytes) runs past the end of the bitmap directory");
                }
                byte[] e = java.util.Arrays.copyOfRange(dir, rel, (int) (rel + len));
                FieldReader f = new FieldReader(g, bitmapDirOffset + rel, e, ORDER, otherFields);
                long tOff = f.u64("bitmap_table_offset", 0, "file offset of the bitmap table");
                long tSize = f.u32("bitmap_table_size", 8, "entries in the bitmap table", FieldReader.DECIMAL);
                long bflags = f.u32("flags", 12, "bit 0 in use (not saved cleanly), bit 1 auto, bit 2 extra data compatible",
                        Shown.BITMAP_FLAGS);
                int type = (int) f.u8("type", 16, "1 = dirty tracking bitmap");
                int gran = (int) f.record("granularity_bits", 17, 1, e[17] & 0xff,
                        Shown.GRANULARITY_BITS,
                        "log2 of the guest bytes one bit covers");
                f.u16("name_size", 18, "length of the name");
                f.u32("extra_data_size", 20, "bytes of extra data", FieldReader.DECIMAL);
                if (extra > 0) {
                    f.bytes("extra data", 24, (int) extra, hexPreview(e, 24, (int) (24 + extra)), "extra data");
                }
                String name = FieldReader.printable(f.ascii("name", (int) (24 + extra), nameSize, "bitmap name")
                        .getBytes(StandardCharsets.ISO_8859_1));
                bitmaps.add(new Qcow2Header.Bitmap(bitmapDirOffset + rel, tOff, tSize, bflags, type, gran, name));
                if ((bflags & 1) != 0) {
                    flags.add("bitmap '" + name + "' in use");
                } else if (nameSize > 0 && e[(int) (24 + extra)] == 0) {
                    // qemu keeps the name as a C string: opened read-write, it stores the directory
                    // again with a name of length 0, which its own entry check refuses
                    openProblems.add("Can't update bitmap directory: Invalid argument (name of bitmap " + (i + 1)
                            + " at offset " + (bitmapDirOffset + rel + 24 + extra) + " starts with a NUL byte)");
                }
                readBitmapTable(g, tOff, tSize);
                rel += (int) ((len + 7) & ~7L);
                if (rel > dir.length) {
                    rel = dir.length;
                }
            }
        }

        void readBitmapTable(String group, long off, long entries) throws ProbeException {
            if (entries == 0) {
                return;
            }
            if (entries > MAX_BITMAP_TABLE_BYTES / 8 || !inFile(off, entries * 8) || (off & (clusterSize - 1)) != 0) {
                flags.add("corrupt: " + group + " table (" + entries + " entries at " + Long.toUnsignedString(off)
                        + ") is misplaced");
                return;
            }
            if (!spend(entries * 8)) {
                return;
            }
            ByteBuffer t = reader.readBuffer(off, (int) (entries * 8), ORDER, group + " table");
            addIv(off, entries * 8, RegionKind.METADATA, "bitmap table", 0);
            for (int i = 0; i < entries; i++) {
                long o = t.getLong(i * 8) & BME_OFFSET_MASK;
                if (o != 0 && (o & (clusterSize - 1)) == 0) {
                    addMerged(o, clusterSize, RegionKind.METADATA, "bitmap data", 2);
                }
            }
        }

        /** Charges a table read to the layout budget; false (and a flag) once it is spent. */
        boolean spend(long bytes) {
            if (tableBytesRead > TABLE_READ_BUDGET - bytes) {
                tableBudgetHit = true;
                return false;
            }
            tableBytesRead += bytes;
            return true;
        }

        /** Adds a run, extending the previous interval when it is the same kind of run and adjacent. */
        void addMerged(long start, long len, RegionKind kind, String label, int prio) {
            if (!ivs.isEmpty()) {
                Iv last = ivs.get(ivs.size() - 1);
                if (last.end == start && last.label.equals(label) && start < fileSize) {
                    last.end = fileSize - start < len ? fileSize : start + len;
                    return;
                }
            }
            addIv(start, len, kind, label, prio);
        }

        // ------------------------------------------------------------------ L1 / L2 walk

        void walkActive() throws ProbeException {
            if (l1Size == 0 || l1PastEnd) {
                addL1Summary(0, 0, 0, 0, 0, 0, 0);
                return;
            }
            addIv(l1TableOffset, l1Size * 8, RegionKind.TABLE, "L1 table", 0);
            long[] stats = walkL1(l1TableOffset, l1Size, "L2 table", "guest data", "L1 table");
            l1Allocated = stats[0];
            addL1Summary(l1TableOffset, l1Size, stats[0], stats[1], stats[2], stats[3], stats[4]);
        }

        void addL1Summary(long off, long n, long alloc, long l2, long data, long compressed, long zero) {
            FieldReader f = new FieldReader("L1 table", off, new byte[0], ORDER, otherFields);
            summary(f, "offset", off, "file offset of the active L1 table");
            summary(f, "entries", n, "8-byte entries, each the offset of one L2 table (0 = unallocated)");
            summary(f, "entries needed", l1Needed, "entries needed to map the virtual size");
            summary(f, "allocated entries", alloc, "entries pointing at an L2 table");
            summary(f, "L2 entry size", l2EntrySize(), "bytes per L2 entry (16 with extended L2)");
            summary(f, "L2 tables read", l2, "distinct L2 tables walked for the layout map");
            summary(f, "data clusters", data, "L2 entries mapping a host cluster");
            summary(f, "compressed clusters", compressed, "L2 entries holding compressed data");
            summary(f, "zero clusters", zero, "L2 entries reading as zeros without a host cluster");
        }

        final Set<Long> visitedL2 = new HashSet<>();
        /** Clusters of structures whose refcount the layout map checks at most. */
        static final long ZERO_REF_CHECKS = 1L << 20;
        /** Host clusters mapped by L2 entries with the copied flag, and by any, walked so far. */
        java.util.BitSet copiedHosts;
        java.util.BitSet mappedHosts;

        /** Whether the cluster at {@code cluster} holds any of the {@code length} bytes at {@code offset}. */
        boolean overlapsCluster(long cluster, long offset, long length) {
            return length > 0 && cluster < offset + length && offset < cluster + clusterSize;
        }

        /** Returns {allocated L1 entries, L2 tables read, data clusters, compressed, zero}. */
        /**
         * A table's entries as a long[], copied in bulk: a loop of ByteBuffer.getLong calls is
         * ten nested calls an entry in the interpreter, where a short command spends its life
         * (a 64 KiB L2 table cost {@code info} a seventh of its instructions).
         */
        private static long[] longs(ByteBuffer b) {
            long[] out = new long[b.remaining() / 8];
            b.asLongBuffer().get(out);
            return out;
        }

        long[] walkL1(long l1Off, long n, String l2Label, String dataLabel, String what) throws ProbeException {
            long[] stats = new long[5];
            if (!spend(n * 8)) {
                return stats;
            }
            long[] l1 = longs(reader.readBuffer(l1Off, (int) (n * 8), ORDER, what));
            int es = l2EntrySize();
            int perTable = (int) (clusterSize / es);
            long badL1 = 0;
            long badL2 = 0;
            long noOffset = 0;
            long sharedCopied = 0;
            for (int i = 0; i < n; i++) {
                long off = l1[i] & L1E_OFFSET_MASK;
                if (off == 0) {
                    if (l1[i] != 0) {
                        noOffset++; // qemu-img check reads the header as its L2 table; a write asserts
                    }
                    continue;
                }
                stats[0]++;
                if ((off & (clusterSize - 1)) != 0 || !inFile(off, clusterSize)) {
                    badL1++;
                    continue;
                }
                if (overlapsCluster(off, l1TableOffset, l1Size * 8) || overlapsCluster(off, l1Off, n * 8)) {
                    // both are tables, which the layout map lets overlap
                    flags.add("corrupt: an L2 table of the " + what + " (at " + off + ") overlaps an L1 table");
                }
                if (!visitedL2.add(off)) {
                    continue;
                }
                if (l2BytesRead >= L2_READ_BUDGET) {
                    l2BudgetHit = true;
                    continue;
                }
                if (!spend(clusterSize)) {
                    continue;
                }
                l2BytesRead += clusterSize;
                stats[1]++;
                addMerged(off, clusterSize, RegionKind.TABLE, l2Label + "s", 1);
                if (dataFile.isEmpty() && (incompatible & INCOMPAT_DATA_FILE) == 0) {
                    // fall through: data clusters live in this file
                } else {
                    continue;
                }
                long[] l2 = longs(reader.readBuffer(off, (int) clusterSize, ORDER, l2Label));
                int step = es / 8;
                for (int j = 0; j < perTable; j++) {
                    long e = l2[j * step];
                    if ((e & OFLAG_COMPRESSED) != 0) {
                        long host = Qcow2Layout.compressedOffset(e, clusterBits);
                        long end = Qcow2Layout.compressedEnd(e, clusterBits);
                        stats[3]++;
                        if (host > 0 && inFile(host, 1)) {
                            addMerged(host, end - host, RegionKind.DATA, "compressed " + dataLabel, 3);
                        } else {
                            badL2++;
                        }
                        continue;
                    }
                    long host = e & L2E_OFFSET_MASK;
                    if (host == 0) {
                        if ((e & 1) != 0 || (es == 16 && l2[j * step + 1] >>> 32 != 0)) {
                            stats[4]++;
                        }
                        continue;
                    }
                    stats[2]++;
                    if ((host & (clusterSize - 1)) != 0 || !inFile(host, 1)) {
                        badL2++;
                        continue;
                    }
                    if (copiedHosts == null && fileSize / clusterSize < (1L << 28)) {
                        copiedHosts = new java.util.BitSet();
                        mappedHosts = new java.util.BitSet();
                    }
                    if (copiedHosts != null) { // the copied flag says refcount 1: no other entry maps it
                        int hc = (int) (host >>> clusterBits);
                        if (copiedHosts.get(hc) || (e < 0 && mappedHosts.get(hc))) {
                            sharedCopied++;
                        }
                        mappedHosts.set(hc);
                        if (e < 0) {
                            copiedHosts.set(hc);
                        }
                    }
                    addMerged(host, clusterSize, RegionKind.DATA, dataLabel, 3);
                }
            }
            if (badL1 > 0) {
                flags.add("corrupt: " + badL1 + " entries of the " + what + " point outside the file or are unaligned");
            }
            if (sharedCopied > 0) {
                flags.add("corrupt: " + sharedCopied + " L2 entries (" + l2Label + ") map a cluster another entry "
                        + "maps, one of them with the copied flag (refcount 1)");
            }
            if (noOffset > 0) {
                flags.add("corrupt: " + noOffset + " entries of the " + what + " have flags but no L2 table offset "
                        + "(their L2 table would be the header)");
            }
            if (badL2 > 0) {
                flags.add("corrupt: " + badL2 + " L2 entries (" + l2Label + ") point outside the file or are unaligned");
            }
            return stats;
        }

        void walkSnapshots() throws ProbeException {
            int i = 0;
            for (Qcow2Header.Snapshot s : snapshots) {
                i++;
                String what = "snapshot " + i + " L1 table";
                if (s.l1Size() == 0) {
                    continue;
                }
                if (s.l1Size() > MAX_L1_BYTES / 8 || (s.l1TableOffset() & (clusterSize - 1)) != 0
                        || !inFile(s.l1TableOffset(), s.l1Size() * 8)) {
                    flags.add("corrupt: " + what + " (" + s.l1Size() + " entries at "
                            + Long.toUnsignedString(s.l1TableOffset()) + ") is misplaced");
                    continue;
                }
                long sFirst = s.l1TableOffset() >>> clusterBits;
                long sEnd = (s.l1TableOffset() + s.l1Size() * 8 + clusterSize - 1) >>> clusterBits;
                long aFirst = l1TableOffset >>> clusterBits;
                long aEnd = (l1TableOffset + l1Size * 8 + clusterSize - 1) >>> clusterBits;
                if (l1Size > 0 && sFirst < aEnd && aFirst < sEnd) { // both are tables: the layout map lets it pass
                    flags.add("corrupt: " + what + " (at " + Long.toUnsignedString(s.l1TableOffset())
                            + ") overlaps the active L1 table");
                }
                addIv(s.l1TableOffset(), s.l1Size() * 8, RegionKind.TABLE, what, 0);
                walkL1(s.l1TableOffset(), s.l1Size(), "snapshot L2 table", "guest data (snapshot)", what);
            }
        }

        // ------------------------------------------------------------------ regions

        List<LayoutRegion> buildRegions() throws ProbeException {
            List<Iv> all = new ArrayList<>(ivs);
            // Header cluster: header, extensions, backing file name, the rest unused.
            long c0 = Math.min(clusterSize, fileSize);
            List<Iv> head = new ArrayList<>();
            head.add(new Iv(0, Math.min(headerLength, c0), RegionKind.HEADER, "qcow2 header", 0));
            if (extensionsEnd > headerLength) {
                head.add(new Iv(headerLength, Math.min(extensionsEnd, c0), RegionKind.HEADER, "header extensions", 0));
            }
            if (backingFileOffset > 0 && backingFileSize > 0) {
                head.add(new Iv(backingFileOffset, Math.min(backingFileOffset + backingFileSize, c0),
                        RegionKind.HEADER, "backing file name", 0));
            }
            head.sort(new ByStart());
            long cur = 0;
            for (Iv h : head) {
                if (h.start() > cur) {
                    all.add(new Iv(cur, h.start(), RegionKind.HEADER, "header cluster (unused)", 5));
                }
                if (h.end() > h.start()) {
                    all.add(h);
                }
                cur = Math.max(cur, h.end());
            }
            if (c0 > cur) {
                all.add(new Iv(cur, c0, RegionKind.HEADER, "header cluster (unused)", 5));
            }
            if (cryptoOffset >= 0 && cryptoLength > 0) {
                if ((cryptoOffset & (clusterSize - 1)) != 0 || !inFile(cryptoOffset, 1)) {
                    flags.add("corrupt: the LUKS header pointer (" + Long.toUnsignedString(cryptoOffset)
                            + ") is unaligned or beyond the end of the file");
                } else {
                    all.add(new Iv(cryptoOffset, fileSize - cryptoOffset < cryptoLength ? fileSize
                            : cryptoOffset + cryptoLength, RegionKind.METADATA, "LUKS header", 0));
                }
            }
            all.sort(new ByStartThenPriority());

            List<LayoutRegion> out = new ArrayList<>();
            RefcountLookup rc = new RefcountLookup();
            long pos = 0;
            long overlaps = 0;
            String overlapExample = null;
            long zeroRef = 0;
            long zeroRefChecked = 0;
            String zeroRefExample = null;
            for (Iv iv : all) {
                long s = iv.start();
                long e = Math.min(iv.end(), fileSize);
                if (e <= pos) {
                    if (e > s && !sameFamily(iv, out)) {
                        overlaps++;
                        overlapExample = overlapExample != null ? overlapExample
                                : iv.label() + " at " + s + " overlaps " + out.get(out.size() - 1).label();
                    }
                    continue;
                }
                if (s < pos) {
                    if (!sameFamily(iv, out)) {
                        overlaps++;
                        overlapExample = overlapExample != null ? overlapExample
                                : iv.label() + " at " + s + " overlaps " + out.get(out.size() - 1).label();
                    }
                    s = pos;
                }
                if (s > pos) {
                    gap(out, pos, s, rc);
                }
                RunLayout.append(out, new LayoutRegion(iv.kind(), s, e - s, iv.label()));
                for (long c = s >>> clusterBits; c << clusterBits < e && zeroRefChecked < ZERO_REF_CHECKS; c++) {
                    zeroRefChecked++;
                    long r = rc.refcount(c);
                    if (r == 0 || r == RefcountLookup.ZERO_BLOCK) {
                        zeroRef++;
                        zeroRefExample = zeroRefExample != null ? zeroRefExample : iv.label() + " at " + (c << clusterBits);
                    }
                }
                pos = e;
            }
            if (pos < fileSize) {
                gap(out, pos, fileSize, rc);
            }
            if (overlaps > 0) {
                flags.add("corrupt: " + overlaps + " overlapping structures (e.g. " + overlapExample + ")");
            }
            if (zeroRef > 0) {
                flags.add("corrupt: " + zeroRef + " clusters in use have a refcount of 0 (e.g. " + zeroRefExample + ")");
            }
            if (rc.leaked > 0) {
                flags.add("leaked clusters: " + rc.leaked);
            }
            if (rc.budgetHit) {
                flags.add("layout map: refcount scan stopped after " + REFCOUNT_SCAN_BUDGET + " clusters");
            }
            if (l2BudgetHit) {
                flags.add("layout map: L2 tables beyond " + (L2_READ_BUDGET >> 20) + " MiB not walked");
            }
            if (tableBudgetHit) {
                flags.add("layout map: table reads stopped after " + (TABLE_READ_BUDGET >> 20) + " MiB");
            }
            if (intervalsTruncated) {
                flags.add("layout map: more than " + MAX_INTERVALS + " runs; the rest is shown by refcount only");
            }
            return RunLayout.coalesce(out, fileSize, clusterSize);
        }

        /** Whether every table was walked, so that an unreferenced allocated cluster is really leaked. */
        boolean walkComplete() {
            return !intervalsTruncated && !tableBudgetHit && !l2BudgetHit;
        }

        /** Overlaps within the same kind (shared clusters, packed compressed data) are normal. */
        static boolean sameFamily(Iv iv, List<LayoutRegion> out) {
            return !out.isEmpty() && out.get(out.size() - 1).kind() == iv.kind();
        }

        /** Labels unreferenced space by its refcount. */
        void gap(List<LayoutRegion> out, long from, long to, RefcountLookup rc) throws ProbeException {
            long pos = from;
            long runStart = from;
            String runLabel = null;
            while (pos < to) {
                long c = pos >>> clusterBits;
                long cStart = c << clusterBits;
                long cEnd = cStart + clusterSize;
                long runEnd = Math.min(to, cEnd);
                long ref = rc.refcount(c);
                String label;
                if (ref == RefcountLookup.ZERO_BLOCK) {
                    runEnd = Math.min(to, rc.blockEndCluster(c) << clusterBits);
                    label = "free (refcount 0)";
                } else if (ref == 0) {
                    label = "free (refcount 0)";
                } else if (ref == RefcountLookup.UNCOVERED) {
                    runEnd = to;
                    label = "not covered by the refcount table";
                } else if (ref == RefcountLookup.UNREADABLE) {
                    label = "refcount unknown (refcount block unreadable)";
                } else if (ref == RefcountLookup.BUDGET) {
                    runEnd = to;
                    label = "not classified (scan budget reached)";
                } else if (pos == cStart && runEnd == cEnd && !walkComplete()) {
                    label = "allocated, not classified (layout budget reached)";
                } else if (pos == cStart && runEnd == cEnd) {
                    label = "leaked (refcount > 0, nothing points at it)";
                    rc.leaked++;
                } else {
                    label = "unused bytes in an allocated cluster";
                }
                if (runLabel != null && !runLabel.equals(label)) {
                    RunLayout.append(out, new LayoutRegion(RegionKind.FREE, runStart, pos - runStart, runLabel));
                    runStart = pos;
                }
                runLabel = label;
                pos = runEnd;
            }
            if (runLabel != null) {
                RunLayout.append(out, new LayoutRegion(RegionKind.FREE, runStart, to - runStart, runLabel));
            }
        }

        /** Refcount lookups by host cluster index, one cached refcount block at a time. */
        final class RefcountLookup {
            static final long UNCOVERED = -1;
            static final long UNREADABLE = -2;
            static final long ZERO_BLOCK = -3;
            static final long BUDGET = -4;
            final long perBlock = Qcow2Layout.refblockEntries(clusterBits, refcountOrder);
            long cachedIndex = -1;
            byte[] block;
            long scanned;
            long leaked;
            boolean budgetHit;

            long blockEndCluster(long c) {
                return (c / perBlock + 1) * perBlock;
            }

            long refcount(long c) throws ProbeException {
                long ti = c / perBlock;
                if (ti >= refTable.length) {
                    return UNCOVERED;
                }
                long e = refTable[(int) ti];
                long off = e & REFT_OFFSET_MASK;
                if (off == 0) {
                    return ZERO_BLOCK;
                }
                if (++scanned > REFCOUNT_SCAN_BUDGET) {
                    budgetHit = true;
                    return BUDGET;
                }
                if ((e & (clusterSize - 1)) != 0 || !inFile(off, clusterSize)) {
                    return UNREADABLE;
                }
                if (cachedIndex != ti) {
                    block = reader.read(off, (int) clusterSize, "refcount block");
                    cachedIndex = ti;
                }
                long v = Qcow2Layout.refcount(block, (int) (c % perBlock), refcountOrder);
                return v < 0 ? Long.MAX_VALUE : v; // a 64-bit refcount of 2^63 or more: never one of the markers
            }
        }

        // ------------------------------------------------------------------ flags

        List<String> summaryFlags() {
            List<String> out = new ArrayList<>();
            out.add("compat " + (version == 2 ? "0.10" : "1.1"));
            if ((incompatible & INCOMPAT_DIRTY) != 0) {
                out.add("dirty");
            }
            if ((incompatible & INCOMPAT_CORRUPT) != 0) {
                out.add("corrupt");
            }
            for (int t = 0; t < 3; t++) {
                long v = t == 0 ? incompatible : t == 1 ? compatible : autoclear;
                long unknown = v & ~knownMask(t);
                for (int bit = 0; bit < 64; bit++) {
                    if ((unknown & (1L << bit)) != 0) {
                        out.add("unknown " + featureKind(t) + " feature bit " + bit + " " + featureName(t, bit)
                                + (t == 0 ? ": qemu refuses to open the image" : ""));
                    }
                }
            }
            if ((compatible & COMPAT_LAZY_REFCOUNTS) != 0) {
                out.add("lazy refcounts");
            }
            if ((incompatible & INCOMPAT_EXTL2) != 0) {
                out.add("extended L2");
            }
            if (compressionType != 0) {
                out.add("compression: " + (compressionType == 1 ? "zstd" : "unknown type " + compressionType));
                if ((incompatible & INCOMPAT_COMPRESSION) == 0) {
                    out.add("corrupt: compression type " + compressionType
                            + " without the compression type incompatible bit");
                }
            }
            if (cryptMethod != 0) {
                out.add("encrypted: " + (cryptMethod == 1 ? "aes" : cryptMethod == 2 ? "luks"
                        + (luksCipher.isEmpty() ? "" : " (" + luksCipher + ", " + luksSlots + " key slots enabled)")
                        : "unknown method " + cryptMethod));
            }
            if (refcountOrder != 4) {
                out.add("refcount bits: " + (1 << refcountOrder));
            }
            if (!backingFile.isEmpty()) {
                out.add("backing file: " + backingFile);
            }
            if (!backingFormat.isEmpty()) {
                out.add("backing format: " + backingFormat);
            }
            if ((incompatible & INCOMPAT_DATA_FILE) != 0 || !dataFile.isEmpty()) {
                out.add("external data file: " + (dataFile.isEmpty() ? "(name missing)" : dataFile)
                        + ((autoclear & AUTOCLEAR_DATA_FILE_RAW) != 0 ? " (raw)" : ""));
            }
            if (nbSnapshots > 0) {
                out.add("snapshots: " + nbSnapshots);
            }
            if ((autoclear & AUTOCLEAR_BITMAPS) != 0 || hasBitmapsExt) {
                out.add("bitmaps: " + bitmaps.size()
                        + ((autoclear & AUTOCLEAR_BITMAPS) == 0 ? " (extension ignored: autoclear bit 0 clear)" : ""));
            }
            if (size % 512 != 0) {
                out.add("size " + size + " is not a multiple of 512; qemu reads " + (size - size % 512) + " bytes");
            }
            out.addAll(flags);
            return out;
        }
    }

    static String hexPreview(byte[] b, int from, int to) {
        int end = Math.min(to, from + 32);
        StringBuilder sb = new StringBuilder(java.util.HexFormat.of().formatHex(b, from, end));
        if (to > end) {
            sb.append("...");
        }
        return sb.length() == 0 ? "(empty)" : sb.toString();
    }
}
