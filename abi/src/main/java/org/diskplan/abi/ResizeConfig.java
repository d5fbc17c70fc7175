package org.diskplan.abi;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * The resize request, the 112-byte little-endian {@code ResizeConfig} struct of
 * {@code docs/abi.md} (byte compatible with instar's shared crate).
 *
 * <p>Encoding and decoding use the explicit {@code OFFSET_*} constants below. The decoder
 * rejects a short buffer or wrong magic ({@link ErrorCode#PARSE_FAILED}), unknown flag bits,
 * shrink with preallocation, unknown subformat codes, a zero sector size or an out-of-range
 * u32/u8 field ({@link ErrorCode#INVALID_OPTION}), an unknown format
 * ({@link ErrorCode#UNSUPPORTED_FORMAT}) and a u64 size of 2^63 or more
 * ({@link ErrorCode#INVALID_NEW_SIZE}). Pad and reserved bytes are ignored on read and written
 * as zero.
 *
 * @param targetFormat        format of the image (offset 4)
 * @param shrink              {@code --shrink} was given (flags bit 0)
 * @param extendedL2          qcow2 extended L2 entries (flags bit 1)
 * @param quiet               no progress output (flags bit 2)
 * @param preallocation       preallocation mode (flags bits 4–5)
 * @param sectorSize          logical sector size, 512 unless the format says otherwise
 * @param currentVirtualSize  virtual size from the probe
 * @param newVirtualSize      absolute new virtual size, after {@code +}/{@code -} resolution
 * @param qcow2ClusterSize    qcow2 cluster size, 0 when unknown
 * @param qcow2RefcountBits   qcow2 refcount width, 0 when unknown, at most 64
 * @param vmdkSubformat       VMDK create type
 * @param vhdSubformat        VHD subformat
 * @param vmdkGrainSize       VMDK grain size in bytes, 0 when unknown
 * @param blockSize           VHD/VHDX/VDI block size, 0 when unknown
 * @param currentFileSize     file size from the probe; the applier refuses if it changed
 */
public record ResizeConfig(
        ImageFormat targetFormat,
        boolean shrink,
        boolean extendedL2,
        boolean quiet,
        Preallocation preallocation,
        int sectorSize,
        long currentVirtualSize,
        long newVirtualSize,
        int qcow2ClusterSize,
        int qcow2RefcountBits,
        VmdkSubformat vmdkSubformat,
        VhdSubformat vhdSubformat,
        int vmdkGrainSize,
        int blockSize,
        long currentFileSize) {

    public static final int SIZE = 112;
    /** "RESI" read from the high byte; on disk {@code 49 53 45 52}. */
    public static final int MAGIC = 0x52455349;

    public static final int OFFSET_MAGIC = 0;
    public static final int OFFSET_TARGET_FORMAT = 4;
    public static final int OFFSET_FLAGS = 8;
    public static final int OFFSET_SECTOR_SIZE = 12;
    public static final int OFFSET_CURRENT_VIRTUAL_SIZE = 16;
    public static final int OFFSET_NEW_VIRTUAL_SIZE = 24;
    public static final int OFFSET_QCOW2_CLUSTER_SIZE = 32;
    public static final int OFFSET_QCOW2_REFCOUNT_BITS = 36;
    public static final int OFFSET_VMDK_SUBFORMAT = 37;
    public static final int OFFSET_VHD_SUBFORMAT = 38;
    public static final int OFFSET_PAD = 39;
    public static final int OFFSET_VMDK_GRAIN_SIZE = 40;
    public static final int OFFSET_BLOCK_SIZE = 44;
    public static final int OFFSET_CURRENT_FILE_SIZE = 48;
    public static final int OFFSET_RESERVED = 56;
    public static final int RESERVED_SIZE = 56;

    public static final int FLAG_SHRINK = 1;
    public static final int FLAG_EXTENDED_L2 = 2;
    public static final int FLAG_QUIET = 4;
    public static final int PREALLOC_MASK = 0x30;
    public static final int PREALLOC_SHIFT = 4;

    private static final int KNOWN_FLAGS = FLAG_SHRINK | FLAG_EXTENDED_L2 | FLAG_QUIET | PREALLOC_MASK;
    private static final int MAX_REFCOUNT_BITS = 64;
    private static final String STRUCT = "ResizeConfig";

    public ResizeConfig {
        Objects.requireNonNull(targetFormat, "targetFormat");
        Objects.requireNonNull(preallocation, "preallocation");
        Objects.requireNonNull(vmdkSubformat, "vmdkSubformat");
        Objects.requireNonNull(vhdSubformat, "vhdSubformat");
        if (sectorSize <= 0) {
            throw new IllegalArgumentException("sectorSize must be positive, got " + sectorSize);
        }
        requireNonNegative("currentVirtualSize", currentVirtualSize);
        requireNonNegative("newVirtualSize", newVirtualSize);
        requireNonNegative("qcow2ClusterSize", qcow2ClusterSize);
        requireNonNegative("vmdkGrainSize", vmdkGrainSize);
        requireNonNegative("blockSize", blockSize);
        requireNonNegative("currentFileSize", currentFileSize);
        if (qcow2RefcountBits < 0 || qcow2RefcountBits > MAX_REFCOUNT_BITS) {
            throw new IllegalArgumentException(
                    "qcow2RefcountBits must be in 0..64, got " + qcow2RefcountBits);
        }
    }

    /**
     * A config with defaults: no flags, preallocation off, sector size 512, unknown qcow2/VMDK/
     * block parameters (0), {@link VmdkSubformat#MONOLITHIC_SPARSE}, {@link VhdSubformat#DYNAMIC}.
     */
    public static ResizeConfig of(ImageFormat format, long currentVirtualSize, long newVirtualSize,
            long currentFileSize) {
        return new ResizeConfig(format, false, false, false, Preallocation.OFF, 512,
                currentVirtualSize, newVirtualSize, 0, 0, VmdkSubformat.MONOLITHIC_SPARSE,
                VhdSubformat.DYNAMIC, 0, 0, currentFileSize);
    }

    /** A copy with {@link #shrink()} replaced. */
    public ResizeConfig withShrink(boolean shrink) {
        return new ResizeConfig(targetFormat, shrink, extendedL2, quiet, preallocation, sectorSize,
                currentVirtualSize, newVirtualSize, qcow2ClusterSize, qcow2RefcountBits,
                vmdkSubformat, vhdSubformat, vmdkGrainSize, blockSize, currentFileSize);
    }

    /** A copy with {@link #preallocation()} replaced. */
    public ResizeConfig withPreallocation(Preallocation preallocation) {
        return new ResizeConfig(targetFormat, shrink, extendedL2, quiet, preallocation, sectorSize,
                currentVirtualSize, newVirtualSize, qcow2ClusterSize, qcow2RefcountBits,
                vmdkSubformat, vhdSubformat, vmdkGrainSize, blockSize, currentFileSize);
    }

    /** A copy with {@link #quiet()} replaced. */
    public ResizeConfig withQuiet(boolean quiet) {
        return new ResizeConfig(targetFormat, shrink, extendedL2, quiet, preallocation, sectorSize,
                currentVirtualSize, newVirtualSize, qcow2ClusterSize, qcow2RefcountBits,
                vmdkSubformat, vhdSubformat, vmdkGrainSize, blockSize, currentFileSize);
    }

    /** The flags word (offset 8). */
    private int flags() {
        return (shrink ? FLAG_SHRINK : 0)
                | (extendedL2 ? FLAG_EXTENDED_L2 : 0)
                | (quiet ? FLAG_QUIET : 0)
                | (preallocation.code() << PREALLOC_SHIFT);
    }

    /** The 112-byte little-endian encoding; pad and reserved bytes are zero. */
    public byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(OFFSET_MAGIC, MAGIC);
        b.putInt(OFFSET_TARGET_FORMAT, targetFormat.code());
        b.putInt(OFFSET_FLAGS, flags());
        b.putInt(OFFSET_SECTOR_SIZE, sectorSize);
        b.putLong(OFFSET_CURRENT_VIRTUAL_SIZE, currentVirtualSize);
        b.putLong(OFFSET_NEW_VIRTUAL_SIZE, newVirtualSize);
        b.putInt(OFFSET_QCOW2_CLUSTER_SIZE, qcow2ClusterSize);
        b.put(OFFSET_QCOW2_REFCOUNT_BITS, (byte) qcow2RefcountBits);
        b.put(OFFSET_VMDK_SUBFORMAT, (byte) vmdkSubformat.code());
        b.put(OFFSET_VHD_SUBFORMAT, (byte) vhdSubformat.code());
        b.put(OFFSET_PAD, (byte) 0);
        b.putInt(OFFSET_VMDK_GRAIN_SIZE, vmdkGrainSize);
        b.putInt(OFFSET_BLOCK_SIZE, blockSize);
        b.putLong(OFFSET_CURRENT_FILE_SIZE, currentFileSize);
        // Reserved bytes 56..111 stay zero (fresh buffer).
        return b.array();
    }

    /** Decodes the first 112 bytes of {@code bytes}; longer arrays are accepted. */
    public static ResizeConfig decode(byte[] bytes) throws AbiException {
        ByteBuffer b = Wire.littleEndian(bytes, SIZE, STRUCT);
        Wire.checkMagic(b, MAGIC, STRUCT);

        int flags = b.getInt(OFFSET_FLAGS);
        int unknown = flags & ~KNOWN_FLAGS;
        if (unknown != 0) {
            throw new AbiException(ErrorCode.INVALID_OPTION, String.format(
                    "ResizeConfig flags at offset %d has unknown bits 0x%X (known mask 0x%X)",
                    OFFSET_FLAGS, unknown, KNOWN_FLAGS));
        }
        ImageFormat format = Wire.format(b, OFFSET_TARGET_FORMAT, STRUCT);
        boolean shrink = (flags & FLAG_SHRINK) != 0;
        Preallocation prealloc =
                Preallocation.fromCode((flags & PREALLOC_MASK) >>> PREALLOC_SHIFT).orElseThrow();
        if (shrink && prealloc != Preallocation.OFF) {
            throw new AbiException(ErrorCode.INVALID_OPTION,
                    "Preallocation can only be used for growing images");
        }
        int vmdkCode = Wire.u8(b, OFFSET_VMDK_SUBFORMAT);
        VmdkSubformat vmdk = VmdkSubformat.fromCode(vmdkCode).orElseThrow(() -> invalid(
                "vmdk_subformat", OFFSET_VMDK_SUBFORMAT, vmdkCode, "is not a known code"));
        int vhdCode = Wire.u8(b, OFFSET_VHD_SUBFORMAT);
        VhdSubformat vhd = VhdSubformat.fromCode(vhdCode).orElseThrow(() -> invalid(
                "vhd_subformat", OFFSET_VHD_SUBFORMAT, vhdCode, "is not a known code"));
        int sectorSize = u31(b, OFFSET_SECTOR_SIZE, "sector_size");
        if (sectorSize == 0) {
            throw invalid("sector_size", OFFSET_SECTOR_SIZE, 0, "must be positive");
        }
        int refcountBits = Wire.u8(b, OFFSET_QCOW2_REFCOUNT_BITS);
        if (refcountBits > MAX_REFCOUNT_BITS) {
            throw invalid("qcow2_refcount_bits", OFFSET_QCOW2_REFCOUNT_BITS, refcountBits,
                    "must be at most 64");
        }
        return new ResizeConfig(
                format,
                shrink,
                (flags & FLAG_EXTENDED_L2) != 0,
                (flags & FLAG_QUIET) != 0,
                prealloc,
                sectorSize,
                Wire.size(b, OFFSET_CURRENT_VIRTUAL_SIZE, STRUCT, "current_virtual_size"),
                Wire.size(b, OFFSET_NEW_VIRTUAL_SIZE, STRUCT, "new_virtual_size"),
                u31(b, OFFSET_QCOW2_CLUSTER_SIZE, "qcow2_cluster_size"),
                refcountBits,
                vmdk,
                vhd,
                u31(b, OFFSET_VMDK_GRAIN_SIZE, "vmdk_grain_size"),
                u31(b, OFFSET_BLOCK_SIZE, "block_size"),
                Wire.size(b, OFFSET_CURRENT_FILE_SIZE, STRUCT, "current_file_size"));
    }

    /**
     * Decodes 112 bytes starting at the buffer's position, whatever the buffer's byte order.
     * On success the position advances by {@link #SIZE}; on failure it is unchanged.
     */
    public static ResizeConfig decode(ByteBuffer buf) throws AbiException {
        ResizeConfig config = decode(Wire.peek(buf, SIZE, STRUCT));
        buf.position(buf.position() + SIZE);
        return config;
    }

    /** A u32 field that must fit a Java {@code int} (below 2^31). */
    private static int u31(ByteBuffer b, int offset, String field) throws AbiException {
        long v = Wire.u32(b, offset);
        if (v > Integer.MAX_VALUE) {
            throw invalid(field, offset, v, "must be below 2^31");
        }
        return (int) v;
    }

    private static AbiException invalid(String field, int offset, long value, String problem) {
        return new AbiException(ErrorCode.INVALID_OPTION, String.format(
                "ResizeConfig %s at offset %d is %d, %s", field, offset, value, problem));
    }

    private static void requireNonNegative(String field, long value) {
        if (value < 0) {
            throw new IllegalArgumentException(field + " must be non-negative, got " + value);
        }
    }
}
