package org.diskplan.probe.vhdx;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.zip.CRC32C;
import org.diskplan.probe.ImageReader;
import org.diskplan.probe.ProbeException;

/**
 * The VHDX metadata log ([MS-VHDX] 2.3; qemu block/vhdx-log.c): a circular buffer of 4 KiB
 * sectors holding entries. An entry is a 64-byte header ("loge") followed by 32-byte
 * descriptors ("desc": one 4 KiB data sector to write, "zero": a run of zeros) in
 * {@link #descriptorSectors} sectors, then one "data" sector per data descriptor. A data
 * sector keeps bytes 8..4091 of the sector it describes; bytes 0..7 and 4092..4095 are in
 * its descriptor. The CRC-32C covers the whole entry with its checksum field as zero.
 *
 * <p>The reader finds the active sequence as qemu does (every sector tried as an entry
 * start, entries chained while they stay valid, the chain whose first entry has the
 * highest sequence number wins); the writer encodes one entry for the planner.
 */
public final class VhdxLog {
    // No lambdas or streams here: the VHDX planner runs this on its start-up path (see ReadWatch / issue 20).
    public static final int SECTOR = VhdxLayout.LOG_SECTOR;
    public static final int ENTRY_HEADER_SIZE = VhdxLayout.LOG_HEADER_SIZE;
    public static final int DESCRIPTOR_SIZE = 32;
    /** "desc", "zero", "data" read as little-endian u32. */
    public static final int DESC_SIGNATURE = 0x6373_6564;
    public static final int ZERO_SIGNATURE = 0x6f72_657a;
    public static final int DATA_SIGNATURE = 0x6174_6164;

    // entry header fields
    public static final int E_SIGNATURE = 0;
    public static final int E_CHECKSUM = 4;
    public static final int E_ENTRY_LENGTH = 8;
    public static final int E_TAIL = 12;
    public static final int E_SEQUENCE = 16;
    public static final int E_DESCRIPTOR_COUNT = 24;
    public static final int E_LOG_GUID = 32;
    public static final int E_FLUSHED_FILE_OFFSET = 48;
    public static final int E_LAST_FILE_OFFSET = 56;
    // descriptor fields
    public static final int D_SIGNATURE = 0;
    public static final int D_TRAILING_BYTES = 4;
    public static final int D_LEADING_BYTES = 8;
    public static final int D_ZERO_LENGTH = 8;
    public static final int D_FILE_OFFSET = 16;
    public static final int D_SEQUENCE = 24;
    // data sector fields
    public static final int S_SEQUENCE_HIGH = 4;
    public static final int S_DATA = 8;
    public static final int S_SEQUENCE_LOW = 4092;
    /** A last_file_offset past this (1 PiB, beyond any VHDX file) is not honoured: DiskPlan refuses the log. */
    public static final long MAX_FILE_LENGTH = 1L << 50;

    private VhdxLog() {
    }

    /** One change an entry describes. */
    public sealed interface Change permits Data, Zero {
        long fileOffset();

        long length();
    }

    /** A whole 4 KiB sector written at {@code fileOffset}. */
    public record Data(long fileOffset, byte[] sector) implements Change {
        public Data {
            if (sector.length != SECTOR || fileOffset % SECTOR != 0) {
                throw new IllegalArgumentException("a log data sector is 4 KiB at a 4 KiB offset");
            }
        }

        @Override
        public long length() {
            return SECTOR;
        }
    }

    /** {@code length} bytes (a multiple of 4 KiB) of zeros at {@code fileOffset}. */
    public record Zero(long fileOffset, long length) implements Change {
        public Zero {
            if (length <= 0 || length % SECTOR != 0 || fileOffset % SECTOR != 0) {
                throw new IllegalArgumentException("a log zero run is whole 4 KiB sectors");
            }
        }
    }

    /** A valid entry: where it starts in the log, its header fields and its changes in order. */
    public record Entry(long logPosition, long sequence, long entryLength, long flushedFileOffset,
                        long lastFileOffset, List<Change> changes) {
        public Entry {
            changes = List.copyOf(changes);
        }
    }

    /** The active sequence: the entries to replay, oldest first. */
    public record Replay(List<Entry> entries) {
        public Replay {
            entries = List.copyOf(entries);
        }

        /** Every change of every entry, in replay order. */
        public List<Change> changes() {
            List<Change> out = new ArrayList<>();
            for (Entry e : entries) {
                out.addAll(e.changes());
            }
            return out;
        }

        /** The largest last_file_offset of the entries (unsigned). */
        public long lastFileOffset() {
            long last = 0;
            for (Entry e : entries) {
                if (Long.compareUnsigned(e.lastFileOffset(), last) > 0) {
                    last = e.lastFileOffset();
                }
            }
            return last;
        }

        /**
         * The length of a file of {@code fileLength} bytes once the log is replayed: the
         * largest last_file_offset rounded up to 1 MiB when it lies past the end ([MS-VHDX]
         * 2.3.3: replay extends the file to it; qemu's vhdx_log_flush rounds up to 1 MiB),
         * else unchanged. Capped at {@link #MAX_FILE_LENGTH} (callers refuse more).
         */
        public long fileLength(long fileLength) {
            long last = lastFileOffset();
            if (Long.compareUnsigned(last, fileLength) <= 0) {
                return fileLength;
            }
            if (Long.compareUnsigned(last, MAX_FILE_LENGTH) > 0) {
                return MAX_FILE_LENGTH;
            }
            return (last + VhdxLayout.MIB - 1) / VhdxLayout.MIB * VhdxLayout.MIB;
        }

        /**
         * {@code base} as it reads once the log is replayed: the changes over it, and zeros
         * past its end up to {@link #fileLength} (what replay's extension adds).
         */
        public ImageReader overlay(ImageReader base) {
            List<Change> all = changes();
            long replayedLength = fileLength(base.size());
            return new ImageReader() {
                @Override
                public long size() {
                    return replayedLength;
                }

                @Override
                public void readFullyUnchecked(long offset, byte[] into, int length) throws IOException {
                    long inFile = Math.max(0, Math.min(length, base.size() - offset));
                    if (inFile > 0) {
                        base.readFullyUnchecked(offset, into, (int) inFile);
                    }
                    Arrays.fill(into, (int) inFile, length, (byte) 0);
                    long end = offset + length;
                    for (Change c : all) {
                        long from = Math.max(offset, c.fileOffset());
                        long to = Math.min(end, c.fileOffset() + c.length());
                        if (from >= to) {
                            continue;
                        }
                        if (c instanceof Data d) {
                            System.arraycopy(d.sector(), (int) (from - d.fileOffset()), into, (int) (from - offset),
                                    (int) (to - from));
                        } else {
                            Arrays.fill(into, (int) (from - offset), (int) (to - offset), (byte) 0);
                        }
                    }
                }
            };
        }
    }

    /** Sectors holding the entry header and {@code count} descriptors (never 0). */
    public static int descriptorSectors(long count) {
        return (int) ((count + 2 + 127) / 128);
    }

    /** The length of an entry with these changes. */
    public static long entryLength(List<? extends Change> changes) {
        long data = 0;
        for (Change c : changes) {
            if (c instanceof Data) {
                data++;
            }
        }
        return (descriptorSectors(changes.size()) + data) * SECTOR;
    }

    /**
     * Encodes one log entry (to be written at log position {@code tail}, which is recorded
     * as the entry's tail: it needs no older entry).
     */
    public static byte[] encodeEntry(byte[] logGuid, long sequence, long tail, long flushedFileOffset,
                                     long lastFileOffset, List<? extends Change> changes) {
        int descSectors = descriptorSectors(changes.size());
        long length = entryLength(changes);
        if (length > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("log entry too long");
        }
        ByteBuffer b = ByteBuffer.allocate((int) length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(E_SIGNATURE, (int) VhdxLayout.LOG_ENTRY_SIGNATURE);
        b.putInt(E_ENTRY_LENGTH, (int) length);
        b.putInt(E_TAIL, (int) tail);
        b.putLong(E_SEQUENCE, sequence);
        b.putInt(E_DESCRIPTOR_COUNT, changes.size());
        b.put(E_LOG_GUID, logGuid, 0, 16);
        b.putLong(E_FLUSHED_FILE_OFFSET, flushedFileOffset);
        b.putLong(E_LAST_FILE_OFFSET, lastFileOffset);
        int dataAt = descSectors * SECTOR;
        for (int i = 0; i < changes.size(); i++) {
            int d = ENTRY_HEADER_SIZE + i * DESCRIPTOR_SIZE;
            Change c = changes.get(i);
            b.putLong(d + D_FILE_OFFSET, c.fileOffset());
            b.putLong(d + D_SEQUENCE, sequence);
            if (c instanceof Data data) {
                ByteBuffer s = ByteBuffer.wrap(data.sector()).order(ByteOrder.LITTLE_ENDIAN);
                b.putInt(d + D_SIGNATURE, DESC_SIGNATURE);
                b.putInt(d + D_TRAILING_BYTES, s.getInt(S_SEQUENCE_LOW));
                b.putLong(d + D_LEADING_BYTES, s.getLong(0));
                b.putInt(dataAt, DATA_SIGNATURE);
                b.putInt(dataAt + S_SEQUENCE_HIGH, (int) (sequence >>> 32));
                b.put(dataAt + S_DATA, data.sector(), S_DATA, S_SEQUENCE_LOW - S_DATA);
                b.putInt(dataAt + S_SEQUENCE_LOW, (int) sequence);
                dataAt += SECTOR;
            } else {
                b.putInt(d + D_SIGNATURE, ZERO_SIGNATURE);
                b.putLong(d + D_ZERO_LENGTH, c.length());
            }
        }
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, b.capacity());
        b.putInt(E_CHECKSUM, (int) crc.getValue());
        return b.array();
    }

    /**
     * The active sequence of a log of {@code logLength} bytes at {@code logOffset} whose
     * entries carry {@code logGuid}; empty when no valid entry does.
     */
    public static Optional<Replay> search(ImageReader reader, long logOffset, long logLength, byte[] logGuid)
            throws ProbeException {
        if (logLength < SECTOR || logOffset < 0 || logOffset > reader.size()
                || reader.size() - logOffset < logLength) {
            return Optional.empty();
        }
        List<Entry> best = List.of();
        long pos = 0;
        while (pos < logLength) {
            Entry first = entryAt(reader, logOffset, logLength, pos, logGuid);
            if (first == null) {
                // as qemu: past a whole entry whose header holds but whose contents do not, else one sector
                pos += Math.max(SECTOR, plausibleLength(reader, logOffset, logLength, pos, logGuid));
                continue;
            }
            List<Entry> chain = new ArrayList<>(List.of(first));
            long next = (pos + first.entryLength()) % logLength;
            long walked = first.entryLength();
            while (walked < logLength) {
                Entry e = entryAt(reader, logOffset, logLength, next, logGuid);
                if (e == null || e.sequence() != chain.get(chain.size() - 1).sequence() + 1) {
                    break;
                }
                chain.add(e);
                walked += e.entryLength();
                next = (next + e.entryLength()) % logLength;
            }
            if (best.isEmpty() || Long.compareUnsigned(first.sequence(), best.get(0).sequence()) > 0) {
                best = chain;
            }
            long after = pos + walked;
            if (after >= logLength) {
                break;
            }
            pos = after;
        }
        return best.isEmpty() ? Optional.empty() : Optional.of(new Replay(best));
    }

    /** The length of the entry whose header (alone) is valid at {@code pos}, or 0. */
    private static long plausibleLength(ImageReader reader, long logOffset, long logLength, long pos, byte[] logGuid)
            throws ProbeException {
        ByteBuffer h = ByteBuffer.wrap(reader.read(logOffset + pos, ENTRY_HEADER_SIZE, "log entry header"))
                .order(ByteOrder.LITTLE_ENDIAN);
        return headerValid(h, logLength, logGuid) ? Integer.toUnsignedLong(h.getInt(E_ENTRY_LENGTH)) : 0;
    }

    private static boolean headerValid(ByteBuffer h, long logLength, byte[] logGuid) {
        long length = Integer.toUnsignedLong(h.getInt(E_ENTRY_LENGTH));
        long count = Integer.toUnsignedLong(h.getInt(E_DESCRIPTOR_COUNT));
        return Integer.toUnsignedLong(h.getInt(E_SIGNATURE)) == VhdxLayout.LOG_ENTRY_SIGNATURE && length <= logLength
                && length != 0 && length % SECTOR == 0 && h.getLong(E_SEQUENCE) != 0
                && Arrays.equals(h.array(), E_LOG_GUID, E_LOG_GUID + 16, logGuid, 0, 16)
                && count * DESCRIPTOR_SIZE <= length && (long) descriptorSectors(count) * SECTOR <= length;
    }

    /** The entry starting at log position {@code pos}, or null when none valid starts there. */
    private static Entry entryAt(ImageReader reader, long logOffset, long logLength, long pos, byte[] logGuid)
            throws ProbeException {
        ByteBuffer h = ByteBuffer.wrap(reader.read(logOffset + pos, SECTOR, "log entry header"))
                .order(ByteOrder.LITTLE_ENDIAN);
        long length = Integer.toUnsignedLong(h.getInt(E_ENTRY_LENGTH));
        long count = Integer.toUnsignedLong(h.getInt(E_DESCRIPTOR_COUNT));
        long seq = h.getLong(E_SEQUENCE);
        if (!headerValid(h, logLength, logGuid) || length > ImageReader.MAX_READ) {
            return null; // (an entry over 64 MiB is not read: DiskPlan never writes one, qemu's are one sector run)
        }
        long descSectors = descriptorSectors(count);
        // read the whole entry (it may wrap around the end of the log)
        byte[] entry = new byte[(int) length];
        for (long done = 0; done < length; done += SECTOR) {
            long at = (pos + done) % logLength;
            System.arraycopy(reader.read(logOffset + at, SECTOR, "log entry"), 0, entry, (int) done, SECTOR);
        }
        ByteBuffer b = ByteBuffer.wrap(entry).order(ByteOrder.LITTLE_ENDIAN);
        long stored = Integer.toUnsignedLong(b.getInt(E_CHECKSUM));
        if (VhdxLayout.crc32c(entry, E_CHECKSUM) != stored) {
            return null;
        }
        List<Change> changes = new ArrayList<>();
        int dataAt = (int) (descSectors * SECTOR);
        for (int i = 0; i < count; i++) {
            int d = ENTRY_HEADER_SIZE + i * DESCRIPTOR_SIZE;
            int sig = b.getInt(d + D_SIGNATURE);
            long fileOffset = b.getLong(d + D_FILE_OFFSET);
            if (b.getLong(d + D_SEQUENCE) != seq || fileOffset % SECTOR != 0 || fileOffset < 0) {
                return null;
            }
            if (sig == ZERO_SIGNATURE) {
                long zl = b.getLong(d + D_ZERO_LENGTH);
                if (zl % SECTOR != 0 || zl < 0) {
                    return null;
                }
                if (zl > 0) {
                    changes.add(new Zero(fileOffset, zl));
                }
            } else if (sig == DESC_SIGNATURE) {
                if (dataAt + SECTOR > entry.length || b.getInt(dataAt) != DATA_SIGNATURE) {
                    return null;
                }
                long dseq = (Integer.toUnsignedLong(b.getInt(dataAt + S_SEQUENCE_HIGH)) << 32)
                        | Integer.toUnsignedLong(b.getInt(dataAt + S_SEQUENCE_LOW));
                if (dseq != seq) {
                    return null;
                }
                ByteBuffer sector = ByteBuffer.allocate(SECTOR).order(ByteOrder.LITTLE_ENDIAN);
                sector.putLong(0, b.getLong(d + D_LEADING_BYTES));
                sector.put(S_DATA, entry, dataAt + S_DATA, S_SEQUENCE_LOW - S_DATA);
                sector.putInt(S_SEQUENCE_LOW, b.getInt(d + D_TRAILING_BYTES));
                changes.add(new Data(fileOffset, sector.array()));
                dataAt += SECTOR;
            } else {
                return null;
            }
        }
        return new Entry(pos, seq, length, b.getLong(E_FLUSHED_FILE_OFFSET), b.getLong(E_LAST_FILE_OFFSET),
                changes);
    }
}
