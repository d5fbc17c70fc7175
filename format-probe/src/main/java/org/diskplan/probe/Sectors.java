package org.diskplan.probe;

/** qemu's block layer counts lengths in whole 512-byte sectors. */
public final class Sectors {
    public static final int SIZE = 512;

    private Sectors() {
    }

    /**
     * The size qemu reports for a file of {@code length} bytes read as raw (an archive, a
     * raw image): rounded up to a whole sector.
     */
    public static long roundUp(long length) {
        long rem = length % SIZE;
        return rem == 0 ? length : length + (SIZE - rem);
    }
}
