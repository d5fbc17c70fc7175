package org.diskplan.probe.bochs;

import org.diskplan.probe.FormatHeader;

/**
 * The Bochs redolog header, little-endian, 512 bytes at offset 0.
 *
 * @param type        offset 32: "Redolog"
 * @param subtype     offset 48: "Growing" (the only one qemu reads; "Undoable" and "Volatile" need a base)
 * @param version     offset 64: 0x00020000, or 0x00010000 for the older layout without the reserved word
 * @param headerSize  offset 68: bytes before the catalog
 * @param catalog     offset 72: catalog entries (one u32 per extent)
 * @param bitmapSize  offset 76: bytes of each extent's sector bitmap
 * @param extentSize  offset 80: bytes per extent
 * @param diskSize    offset 88 (v2) or 84 (v1): virtual size in bytes
 * @param allocated   catalog entries that map an extent
 */
public record BochsHeader(String type, String subtype, long version, long headerSize, long catalog,
                          long bitmapSize, long extentSize, long diskSize, long allocated) implements FormatHeader {
}
