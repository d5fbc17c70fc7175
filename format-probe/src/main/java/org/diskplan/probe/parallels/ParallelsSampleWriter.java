package org.diskplan.probe.parallels;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Set;
import org.diskplan.probe.PiecewiseSampleWriter;
import org.diskplan.probe.SampleFiles;
import org.diskplan.probe.SampleOptions;

/**
 * Parallels images as {@code qemu-img create -f parallels} writes them: a "WithouFreSpacExt"
 * header, an empty BAT, the data area at the next cluster boundary, no cluster allocated.
 * Option {@code cluster_size} (default 1 MiB, a multiple of 512).
 */
public final class ParallelsSampleWriter extends PiecewiseSampleWriter {
    static final long DEFAULT_CLUSTER = 1L << 20;

    @Override
    public String format() {
        return "parallels";
    }

    @Override
    protected Set<String> optionKeys() {
        return Set.of("cluster_size");
    }

    @Override
    protected Pieces pieces(long virtual, SampleOptions options) {
        long cluster = options.size("cluster_size", DEFAULT_CLUSTER);
        if (cluster <= 0 || cluster % 512 != 0 || cluster / 512 > ParallelsProbe.MAX_TRACKS) {
            throw new IllegalArgumentException("Cluster size must be a multiple of 512 bytes");
        }
        long batEntries = SampleFiles.ceilDiv(virtual, cluster);
        if (batEntries > ParallelsProbe.MAX_BAT_ENTRIES) {
            throw new IllegalArgumentException("Image size is too large for this cluster size");
        }
        long dataBytes = SampleFiles.ceilDiv(ParallelsProbe.HEADER_SIZE + 4 * batEntries, cluster) * cluster;
        ByteBuffer h = ByteBuffer.allocate(ParallelsProbe.HEADER_SIZE).order(ParallelsProbe.ORDER);
        h.put("WithouFreSpacExt".getBytes(StandardCharsets.US_ASCII));
        h.putInt(16, (int) ParallelsProbe.VERSION);
        h.putInt(20, 16);
        h.putInt(24, (int) (virtual / 512 / 16 / 32));
        h.putInt(28, (int) (cluster / 512));
        h.putInt(32, (int) batEntries);
        h.putLong(36, virtual / 512);
        h.putInt(48, (int) (dataBytes / 512));
        return new Pieces(dataBytes, virtual, Map.of(0L, h.array()));
    }
}
