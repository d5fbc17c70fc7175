package org.diskplan.probe.raw;

import java.nio.file.Path;
import java.util.List;
import org.diskplan.abi.ImageFormat;
import org.diskplan.probe.FormatProbe;
import org.diskplan.probe.ImageReader;
import org.diskplan.probe.LayoutRegion;
import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.RegionKind;

/**
 * Raw images: the guest's bytes, nothing else. Like qemu, the virtual size is the
 * file length rounded up to whole 512-byte sectors (a 1000-byte file is a
 * 1024-byte disk).
 */
public final class RawProbe implements FormatProbe {
    public static final int SECTOR = 512;

    @Override
    public ImageFormat format() {
        return ImageFormat.RAW;
    }

    @Override
    public ProbedImage probe(Path path, ImageReader reader) {
        long length = reader.size();
        long virtual = virtualSize(length);
        List<LayoutRegion> regions = length == 0 ? List.of()
                : List.of(new LayoutRegion(RegionKind.DATA, 0, length, "guest data"));
        List<String> flags = virtual == length ? List.of()
                : List.of("file length " + length + " is not a multiple of 512; qemu reads it as " + virtual);
        return new ProbedImage(path, ImageFormat.RAW, "", virtual, length, 0, flags, List.of(), regions,
                new RawHeader(length));
    }

    /** qemu's view of a raw file's size: its length rounded up to whole sectors. */
    public static long virtualSize(long fileLength) {
        return org.diskplan.probe.Sectors.roundUp(fileLength);
    }
}
