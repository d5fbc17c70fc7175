package org.diskplan.probe.vmdk;

import org.diskplan.probe.FormatHeader;

/**
 * The constant header of a VMDK seSparse extent (ESXi 6.5+ snapshots), little-endian, 512 bytes
 * at offset 0; every offset and size is in 512-byte sectors.
 *
 * @param capacity          offset 16: virtual size in sectors
 * @param grainSize         offset 24: sectors per grain (8)
 * @param grainTableSize    offset 32: sectors per grain table (64)
 * @param volatileOffset    offset 80: the volatile header (magic 0xcafecafe, replay_journal)
 * @param grainDirOffset    offset 128
 * @param grainDirSize      offset 136
 * @param grainTablesOffset offset 144
 * @param grainsOffset      offset 192
 * @param replayJournal     volatile header + 24: nonzero when the journal must be replayed
 */
public record SeSparseHeader(long capacity, long grainSize, long grainTableSize, long volatileOffset,
                             long grainDirOffset, long grainDirSize, long grainTablesOffset, long grainsOffset,
                             long replayJournal) implements FormatHeader {
}
