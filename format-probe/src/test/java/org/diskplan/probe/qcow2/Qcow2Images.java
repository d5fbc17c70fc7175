package org.diskplan.probe.qcow2;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/** Hand-built qcow2 images for the tests, byte by byte (big-endian). */
final class Qcow2Images {
    static final int CS = 512;

    private Qcow2Images() {
    }

    static long c(int cluster) {
        return (long) cluster * CS;
    }

    /**
     * A v3 image with 512-byte clusters and 64 KiB virtual size:
     * cluster 0 header (112 bytes) + backing format extension "raw" + end + backing name "base.img";
     * 1 refcount table; 2 refcount block (16-bit); 3 L1 (2 entries); 4 L2; 5, 6 data;
     * 7 leaked (refcount 1, unreferenced); 8 free (refcount 0); 9 snapshot table (1 entry); 10 snapshot L1.
     */
    static byte[] v3() {
        ByteBuffer b = ByteBuffer.allocate(11 * CS).order(ByteOrder.BIG_ENDIAN);
        header(b, 3, 65536, 2, c(3), c(1), 1, 1, c(9));
        b.putLong(72, 0); // incompatible
        b.putLong(80, 1); // compatible: lazy refcounts
        b.putLong(88, 0);
        b.putInt(96, 4);
        b.putInt(100, 112);
        b.put(104, (byte) 0);
        // backing format extension at 112: type, length 3, "raw", padding to 8
        b.putInt(112, (int) 0xe2792acaL);
        b.putInt(116, 3);
        b.put(120, "raw".getBytes(StandardCharsets.US_ASCII));
        // end of extensions at 128
        b.putInt(128, 0);
        b.putInt(132, 0);
        // backing file name at 136
        b.putLong(8, 136);
        b.putInt(16, 8);
        b.put(136, "base.img".getBytes(StandardCharsets.US_ASCII));
        // refcount table: entry 0 -> refcount block at cluster 2
        b.putLong((int) c(1), c(2));
        int[] refs = {1, 1, 1, 1, 2, 2, 2, 1, 0, 1, 1};
        for (int i = 0; i < refs.length; i++) {
            b.putShort((int) c(2) + 2 * i, (short) refs[i]);
        }
        // L1: entry 0 -> L2 at cluster 4 (shared with the snapshot: no copied flag), entry 1 unallocated
        b.putLong((int) c(3), c(4));
        // L2: entry 0 -> cluster 5, entry 1 -> cluster 6, entry 2 zero cluster
        b.putLong((int) c(4), c(5));
        b.putLong((int) c(4) + 8, c(6));
        b.putLong((int) c(4) + 16, 1L);
        // snapshot table at cluster 9
        int s = (int) c(9);
        b.putLong(s, c(10));
        b.putInt(s + 8, 2);
        b.putShort(s + 12, (short) 1);
        b.putShort(s + 14, (short) 4);
        b.putInt(s + 16, 1_700_000_000);
        b.putInt(s + 20, 5);
        b.putLong(s + 24, 123);
        b.putInt(s + 32, 0);
        b.putInt(s + 36, 24);
        b.putLong(s + 40, 0);
        b.putLong(s + 48, 65536);
        b.putLong(s + 56, -1);
        b.put(s + 64, "1".getBytes(StandardCharsets.US_ASCII));
        b.put(s + 65, "snap".getBytes(StandardCharsets.US_ASCII));
        // snapshot L1 shares the L2 table
        b.putLong((int) c(10), c(4));
        return b.array();
    }

    /** A v2 image: 72-byte header, 1 MiB virtual, cluster 1 refcount table, 2 block, 3 L1, 4 L2, 5 data. */
    static byte[] v2() {
        ByteBuffer b = ByteBuffer.allocate(6 * CS).order(ByteOrder.BIG_ENDIAN);
        // 1 MiB / (512 * 64) = 32 L1 entries
        header(b, 2, 1 << 20, 32, c(3), c(1), 1, 0, 0);
        b.putLong((int) c(1), c(2));
        for (int i = 0; i < 6; i++) {
            b.putShort((int) c(2) + 2 * i, (short) 1);
        }
        b.putLong((int) c(3) + 8, c(4) | (1L << 63));
        b.putLong((int) c(4) + 8 * 63, c(5) | (1L << 63));
        return b.array();
    }

    /**
     * A v3 image with extended L2, a feature name table, an unknown extension and a
     * compressed cluster; 16 KiB clusters (the smallest qemu allows with extended L2),
     * 1 MiB virtual.
     */
    static byte[] extended() {
        int cs = 16384;
        ByteBuffer b = ByteBuffer.allocate(7 * cs).order(ByteOrder.BIG_ENDIAN);
        b.putInt(0, 0x514649fb);
        b.putInt(4, 3);
        b.putInt(20, 14);
        b.putLong(24, 1 << 20);
        b.putInt(36, 1); // 16384 * 1024 = 16 MiB per L1 entry
        b.putLong(40, 3L * cs);
        b.putLong(48, cs);
        b.putInt(56, 1);
        b.putLong(72, Qcow2Header.INCOMPAT_EXTL2 | Qcow2Header.INCOMPAT_COMPRESSION);
        b.putInt(96, 4);
        b.putInt(100, 112);
        b.put(104, (byte) 1); // zstd
        int e = 112;
        b.putInt(e, 0x6803f857);
        b.putInt(e + 4, 48);
        b.put(e + 8, (byte) 0);
        b.put(e + 9, (byte) 4);
        b.put(e + 10, "extended L2 entries".getBytes(StandardCharsets.US_ASCII));
        e += 56;
        b.putInt(e, 0x12345678);
        b.putInt(e + 4, 5);
        b.put(e + 8, new byte[] {1, 2, 3, 4, 5});
        e += 16;
        b.putInt(e, 0); // end
        b.putLong(cs, 2L * cs);
        for (int i = 0; i < 7; i++) {
            b.putShort(2 * cs + 2 * i, (short) 1);
        }
        b.putLong(3 * cs, 4L * cs | (1L << 63));
        // L2 (16-byte entries): entry 0 -> cluster 5 with all subclusters allocated
        b.putLong(4 * cs, 5L * cs | (1L << 63));
        b.putLong(4 * cs + 8, 0xffffffffL);
        // entry 1: compressed at cluster 6 + 100, 1 extra sector (x = 62 - (14 - 8) = 56)
        b.putLong(4 * cs + 16, (1L << 62) | (1L << 56) | (6L * cs + 100));
        return b.array();
    }

    static void header(ByteBuffer b, int version, long size, int l1Size, long l1Off, long refOff, int refClusters,
                       int nbSnapshots, long snapOff) {
        b.putInt(0, 0x514649fb);
        b.putInt(4, version);
        b.putInt(20, 9);
        b.putLong(24, size);
        b.putInt(32, 0);
        b.putInt(36, l1Size);
        b.putLong(40, l1Off);
        b.putLong(48, refOff);
        b.putInt(56, refClusters);
        b.putInt(60, nbSnapshots);
        b.putLong(64, snapOff);
    }

    /** A 64 TiB virtual image with 64 KiB clusters: 1 MiB of L1, nothing allocated. */
    static byte[] huge() {
        int cs = 65536;
        int l1 = 1 << 17;
        ByteBuffer b = ByteBuffer.allocate(3 * cs + l1 * 8).order(ByteOrder.BIG_ENDIAN);
        b.putInt(0, 0x514649fb);
        b.putInt(4, 3);
        b.putInt(20, 16);
        b.putLong(24, 64L << 40);
        b.putInt(36, l1);
        b.putLong(40, 3L * cs);
        b.putLong(48, cs);
        b.putInt(56, 1);
        b.putInt(96, 4);
        b.putInt(100, 104);
        b.putLong(cs, 2L * cs);
        for (int i = 0; i < 3 + 16; i++) {
            b.putShort(2 * cs + 2 * i, (short) 1);
        }
        return b.array();
    }

    /**
     * 512-byte clusters, 32 KiB virtual, LUKS-encrypted, one persistent bitmap "bm" (in use):
     * 0 header + bitmaps extension + encryption extension + end; 1 refcount table; 2 refcount block;
     * 3 L1 (1 entry, unallocated); 4 bitmap directory; 5 bitmap table; 6 bitmap data; 7-8 LUKS header.
     */
    static byte[] bitmapsAndLuks() {
        ByteBuffer b = ByteBuffer.allocate(9 * CS).order(ByteOrder.BIG_ENDIAN);
        header(b, 3, 32768, 1, c(3), c(1), 1, 0, 0);
        b.putInt(32, 2); // LUKS
        b.putLong(88, Qcow2Header.AUTOCLEAR_BITMAPS);
        b.putInt(96, 4);
        b.putInt(100, 112);
        b.putInt(112, 0x23852875);
        b.putInt(116, 24);
        b.putInt(120, 1);
        b.putLong(128, 32);
        b.putLong(136, c(4));
        b.putInt(144, 0x0537be77);
        b.putInt(148, 16);
        b.putLong(152, c(7));
        b.putLong(160, 1024);
        b.putInt(168, 0); // end
        b.putLong((int) c(1), c(2));
        for (int i = 0; i < 9; i++) {
            b.putShort((int) c(2) + 2 * i, (short) 1);
        }
        int d = (int) c(4);
        b.putLong(d, c(5));
        b.putInt(d + 8, 1);
        b.putInt(d + 12, 1); // in use
        b.put(d + 16, (byte) 1);
        b.put(d + 17, (byte) 16);
        b.putShort(d + 18, (short) 2);
        b.putInt(d + 20, 0);
        b.put(d + 24, "bm".getBytes(StandardCharsets.US_ASCII));
        b.putLong((int) c(5), c(6));
        int l = (int) c(7);
        b.put(l, new byte[] {'L', 'U', 'K', 'S', (byte) 0xba, (byte) 0xbe});
        b.putShort(l + 6, (short) 1);
        b.putInt(l + 104, 2); // the LUKS area is 2 sectors
        b.putInt(l + 108, 32);
        b.put(l + 8, "aes".getBytes(StandardCharsets.US_ASCII));
        b.put(l + 40, "xts-plain64".getBytes(StandardCharsets.US_ASCII));
        b.put(l + 72, "sha256".getBytes(StandardCharsets.US_ASCII));
        b.putInt(l + 208, 0x00AC71F3);
        return b.array();
    }
}
