package org.diskplan.probe.bochs;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import org.diskplan.probe.PiecewiseSampleWriter;
import org.diskplan.probe.SampleFiles;
import org.diskplan.probe.SampleOptions;

/**
 * An empty Bochs growing redolog (version 2): the 512-byte header, a catalog with every extent
 * absent. Extents of 32 KiB, or the smallest power of two up to 8 MiB that keeps the catalog
 * within qemu's 1 Mi entries.
 */
public final class BochsSampleWriter extends PiecewiseSampleWriter {
    static final long MIN_EXTENT = 32 << 10;

    @Override
    public String format() {
        return "bochs";
    }

    @Override
    protected Pieces pieces(long virtual, SampleOptions options) {
        long extent = MIN_EXTENT;
        while (SampleFiles.ceilDiv(virtual, extent) > BochsProbe.MAX_CATALOG && extent < BochsProbe.MAX_EXTENT) {
            extent *= 2;
        }
        long catalog = SampleFiles.ceilDiv(virtual, extent);
        if (catalog > BochsProbe.MAX_CATALOG) {
            throw new IllegalArgumentException("bochs images hold at most "
                    + BochsProbe.MAX_CATALOG * BochsProbe.MAX_EXTENT + " bytes");
        }
        ByteBuffer h = ByteBuffer.allocate(BochsProbe.HEADER_SIZE).order(BochsProbe.ORDER);
        h.put(0, BochsProbe.MAGIC.getBytes(StandardCharsets.US_ASCII));
        h.put(BochsProbe.OFF_TYPE, "Redolog".getBytes(StandardCharsets.US_ASCII));
        h.put(BochsProbe.OFF_SUBTYPE, "Growing".getBytes(StandardCharsets.US_ASCII));
        h.putInt(BochsProbe.OFF_VERSION, (int) BochsProbe.VERSION_2);
        h.putInt(BochsProbe.OFF_HEADER, BochsProbe.HEADER_SIZE);
        h.putInt(BochsProbe.OFF_CATALOG, (int) catalog);
        h.putInt(76, (int) (extent / 512 / 8));
        h.putInt(BochsProbe.OFF_EXTENT, (int) extent);
        h.putLong(88, virtual);
        byte[] absent = new byte[(int) catalog * 4];
        Arrays.fill(absent, (byte) 0xff);
        return new Pieces(BochsProbe.HEADER_SIZE + absent.length, virtual,
                Map.of(0L, h.array(), (long) BochsProbe.HEADER_SIZE, absent));
    }
}
