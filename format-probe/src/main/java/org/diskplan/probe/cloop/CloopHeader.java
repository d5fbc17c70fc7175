package org.diskplan.probe.cloop;

import org.diskplan.probe.FormatHeader;

/**
 * The cloop V2.0 header, big-endian: a 128-byte shell preamble, then the fields below.
 *
 * @param preamble   offset 0: "#!/bin/sh\n#V2.0 Format\nmodprobe cloop ..." (128 bytes)
 * @param blockSize  offset 128: uncompressed bytes per block (a multiple of 512, at most 64 MiB)
 * @param blocks     offset 132: number of blocks
 * @param dataStart  offsets[0]: where the first compressed block starts
 * @param dataEnd    offsets[blocks]: where the last compressed block ends
 */
public record CloopHeader(String preamble, long blockSize, long blocks, long dataStart, long dataEnd)
        implements FormatHeader {
}
