package org.diskplan.probe.dmg;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;
import org.diskplan.probe.PiecewiseSampleWriter;
import org.diskplan.probe.SampleOptions;

/**
 * A DMG (UDIF) of zeros: no data fork, an XML property list with one "mish" block table whose
 * single zero-fill chunk covers the disk, and the "koly" trailer. qemu opens it (read-only) when
 * its name ends in ".dmg".
 */
public final class DmgSampleWriter extends PiecewiseSampleWriter {
    static final int MISH_HEADER = 204;
    static final int CHUNK = 40;
    static final int ZERO_FILL = 2;
    static final int END = 0xffffffff;

    @Override
    public String format() {
        return "dmg";
    }

    @Override
    protected Pieces pieces(long virtual, SampleOptions options) {
        long sectors = virtual / 512;
        ByteBuffer m = ByteBuffer.allocate(MISH_HEADER + 2 * CHUNK).order(DmgProbe.ORDER);
        m.putInt(0, 0x6d697368); // "mish"
        m.putInt(4, 1);
        m.putLong(16, sectors);
        m.putInt(200, 2);
        m.putInt(MISH_HEADER, ZERO_FILL);
        m.putLong(MISH_HEADER + 16, sectors);
        m.putInt(MISH_HEADER + CHUNK, END);
        m.putLong(MISH_HEADER + CHUNK + 8, sectors);
        byte[] xml = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\">\n<dict>\n"
                + "\t<key>resource-fork</key>\n\t<dict>\n\t\t<key>blkx</key>\n\t\t<array>\n\t\t\t<dict>\n"
                + "\t\t\t\t<key>Data</key>\n\t\t\t\t<data>" + Base64.getEncoder().encodeToString(m.array())
                + "</data>\n\t\t\t\t<key>Name</key>\n\t\t\t\t<string>whole disk (DiskPlan sample)</string>\n"
                + "\t\t\t</dict>\n\t\t</array>\n\t</dict>\n</dict>\n</plist>\n").getBytes(StandardCharsets.UTF_8);
        ByteBuffer k = ByteBuffer.allocate(DmgProbe.TRAILER_SIZE).order(DmgProbe.ORDER);
        k.put(0, "koly".getBytes(StandardCharsets.US_ASCII));
        k.putInt(4, (int) DmgProbe.VERSION);
        k.putInt(8, DmgProbe.TRAILER_SIZE);
        k.putInt(12, 1);
        k.putInt(0x38, 1);
        k.putInt(0x3c, 1);
        k.putLong(0xd8, 0);
        k.putLong(0xe0, xml.length);
        k.putInt(0x1e8, 1);
        k.putLong(0x1ec, sectors);
        return new Pieces(xml.length + DmgProbe.TRAILER_SIZE, virtual,
                Map.of(0L, xml, (long) xml.length, k.array()));
    }
}
