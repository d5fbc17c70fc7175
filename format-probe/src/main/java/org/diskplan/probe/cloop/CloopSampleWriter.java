package org.diskplan.probe.cloop;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.zip.Deflater;
import org.diskplan.probe.PiecewiseSampleWriter;
import org.diskplan.probe.SampleFiles;
import org.diskplan.probe.SampleOptions;

/**
 * A cloop V2.0 image of zeros: the preamble, the offsets table, and each block as the same zlib
 * stream of {@code block_size} zero bytes. Option {@code block_size} (default 64 KiB, a multiple
 * of 512 up to 64 MiB); the virtual size is rounded up to whole blocks.
 */
public final class CloopSampleWriter extends PiecewiseSampleWriter {
    static final long DEFAULT_BLOCK = 64 << 10;
    /** Bounds the offsets table and the file this writer makes. */
    static final long MAX_BLOCKS = 1 << 18;

    @Override
    public String format() {
        return "cloop";
    }

    @Override
    protected java.util.Set<String> optionKeys() {
        return java.util.Set.of("block_size");
    }

    @Override
    protected Pieces pieces(long virtual, SampleOptions options) {
        long blockSize = options.size("block_size", DEFAULT_BLOCK);
        if (blockSize <= 0 || blockSize % 512 != 0 || blockSize > CloopProbe.MAX_BLOCK_SIZE) {
            throw new IllegalArgumentException("cloop block_size must be a multiple of 512 up to 64 MiB");
        }
        long blocks = SampleFiles.ceilDiv(virtual, blockSize);
        if (blocks > MAX_BLOCKS) {
            throw new IllegalArgumentException("a cloop sample holds at most " + MAX_BLOCKS
                    + " blocks: use a larger block_size");
        }
        byte[] zeros = compressedZeros((int) blockSize);
        ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(CloopProbe.OFF_OFFSETS + (blocks + 1) * 8
                + blocks * zeros.length)).order(CloopProbe.ORDER);
        b.put(CloopProbe.V2_MAGIC.getBytes(StandardCharsets.US_ASCII));
        b.putInt(CloopProbe.OFF_BLOCK_SIZE, (int) blockSize);
        b.putInt(CloopProbe.OFF_BLOCKS, (int) blocks);
        long data = CloopProbe.OFF_OFFSETS + (blocks + 1) * 8;
        for (int i = 0; i <= blocks; i++) {
            b.putLong(CloopProbe.OFF_OFFSETS + 8 * i, data + (long) i * zeros.length);
            if (i < blocks) {
                b.put((int) (data + (long) i * zeros.length), zeros);
            }
        }
        return new Pieces(b.capacity(), blocks * blockSize, Map.of(0L, b.array()));
    }

    static byte[] compressedZeros(int n) {
        Deflater d = new Deflater(Deflater.BEST_COMPRESSION);
        d.setInput(new byte[n]);
        d.finish();
        byte[] out = new byte[n / 100 + 1024];
        int len = d.deflate(out);
        d.end();
        return java.util.Arrays.copyOf(out, len);
    }
}
