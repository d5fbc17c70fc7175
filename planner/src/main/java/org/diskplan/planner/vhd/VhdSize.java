package org.diskplan.planner.vhd;

import static org.diskplan.probe.vhd.VhdLayout.SECTOR;

import java.nio.ByteBuffer;
import org.diskplan.probe.vhd.VhdLayout;
import org.diskplan.probe.vhd.VhdLayout.Geometry;

/**
 * The size a VHD gets for a requested size, and the footer fields that say it.
 *
 * <p>Readers disagree on which field is the size: qemu (and Virtual PC) take images whose
 * creator is "vpc " or "qemu" (any creator not known to write current_size) through their
 * CHS geometry; "win ", "d2v ", "qem2", "tap\0" and "CTXS" through current_size; the
 * maximum geometry 65535/16/255 means current_size for everyone. So that every reader sees
 * one size: a CHS-read image is rounded up to the next size a geometry addresses exactly
 * (as qemu-img create does) and gets that geometry and that current_size; past what a
 * geometry can address it gets the maximum geometry and the exact size; any other image
 * gets the exact size and the specification's geometry.
 *
 * @param bytes    the virtual size every reader will see
 * @param geometry the geometry the footer will hold
 */
record VhdSize(long bytes, Geometry geometry) {
    /** Whether readers size images of this creator by their geometry (unless it is the maximum one). */
    static boolean creatorReadsGeometry(String creatorApplication) {
        return VhdLayout.sizeFromGeometry(creatorApplication, new Geometry(1, 1, 1));
    }

    static VhdSize of(String creatorApplication, long requested) {
        long sectors = (requested + SECTOR - 1) / SECTOR;
        if (creatorReadsGeometry(creatorApplication)) {
            Geometry g = sectors > Geometry.MAX.sectors() ? Geometry.MAX : Geometry.covering(sectors);
            if (g.sectors() == Geometry.MAX.sectors()) {
                return new VhdSize(sectors * SECTOR, Geometry.MAX);
            }
            return new VhdSize(g.bytes(), g);
        }
        return new VhdSize(sectors * SECTOR, Geometry.of(sectors));
    }

    /**
     * {@code footer} (512 bytes) with original_size, current_size, the geometry and the checksum
     * set; every other byte kept. original_size changes too because libvhdi (vhdiinfo 20210425)
     * reports that field, not current_size, as the media size: keeping it would leave the libyal
     * tools on the old size.
     */
    byte[] patch(byte[] footer) {
        ByteBuffer b = ByteBuffer.wrap(footer.clone()).order(VhdLayout.ORDER);
        b.putLong(VhdLayout.F_ORIGINAL_SIZE, bytes);
        b.putLong(VhdLayout.F_CURRENT_SIZE, bytes);
        b.putShort(VhdLayout.F_CYLINDERS, (short) geometry.cylinders());
        b.put(VhdLayout.F_HEADS, (byte) geometry.heads());
        b.put(VhdLayout.F_SECTORS, (byte) geometry.sectorsPerTrack());
        b.putInt(VhdLayout.F_CHECKSUM, 0);
        b.putInt(VhdLayout.F_CHECKSUM, (int) VhdLayout.checksum(b.array(), VhdLayout.F_CHECKSUM));
        return b.array();
    }

    /** The bytes of a patched footer a size change writes: original_size through the checksum. */
    static final int FIELDS_FROM = VhdLayout.F_ORIGINAL_SIZE;
    static final int FIELDS_TO = VhdLayout.F_CHECKSUM + 4;

    String describe() {
        return bytes + " bytes, geometry " + geometry.cylinders() + "/" + geometry.heads() + "/"
                + geometry.sectorsPerTrack();
    }
}
