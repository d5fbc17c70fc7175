package org.diskplan.planner.vhd;

import static org.diskplan.probe.vhd.VhdLayout.SECTOR;

import java.nio.ByteBuffer;
import org.diskplan.probe.vhd.VhdHeader;
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
 * <p>An image that already holds the maximum geometry for a size a smaller geometry could
 * address (disk2vhd writes 65535/16/255 whatever the size, with creator "d2v\0", which
 * qemu's table does not list) keeps it: qemu reads such an image through current_size
 * only because of that geometry, so writing the specification's geometry would turn its
 * reading to the geometry and round the size; with the maximum kept the size stays exact
 * and every reader keeps taking the field it took before. An image whose maximum geometry
 * was only its size's (past 127 GiB) follows its creator's rule when shrunk below that.
 *
 * @param bytes    the virtual size every reader will see
 * @param geometry the geometry the footer will hold
 */
record VhdSize(long bytes, Geometry geometry) {
    /** Whether readers size images of this creator by their geometry (unless it is the maximum one). */
    static boolean creatorReadsGeometry(String creatorApplication) {
        return VhdLayout.sizeFromGeometry(creatorApplication, new Geometry(1, 1, 1));
    }

    /** Whether {@code g} is the maximum geometry as qemu tests it: the product 65535 × 16 × 255. */
    static boolean isMax(Geometry g) {
        return g.sectors() == Geometry.MAX.sectors();
    }

    /**
     * Whether an image with {@code geometry} and {@code currentSize} holds the maximum geometry
     * by its maker's convention rather than because of its size.
     */
    static boolean keepsMaxGeometry(Geometry geometry, long currentSize) {
        return isMax(geometry) && currentSize < Geometry.MAX.bytes();
    }

    /** The size and geometry for {@code requested} bytes of an image with footer {@code h}. */
    static VhdSize of(VhdHeader h, long requested) {
        Geometry now = new Geometry(h.cylinders(), h.heads(), h.sectorsPerTrack());
        if (keepsMaxGeometry(now, h.currentSize())) {
            long sectors = (requested + SECTOR - 1) / SECTOR;
            return new VhdSize(sectors * SECTOR, Geometry.MAX);
        }
        return of(h.creatorApplication(), requested);
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
