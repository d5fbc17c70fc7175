package org.diskplan.probe.vmdk;

import java.util.OptionalLong;

/**
 * One extent line of a VMDK descriptor: {@code RW 4192256 SPARSE "disk-s001.vmdk"} or
 * {@code RW 8388608 FLAT "disk-flat.vmdk" 0}.
 *
 * @param access       RW, RDONLY or NOACCESS
 * @param sectors      extent size in 512-byte sectors, as written in the line
 * @param type         SPARSE, FLAT, ZERO, VMFS, VMFSSPARSE, SESPARSE, ...
 * @param fileName     the quoted file name, relative to the descriptor's folder (empty for ZERO)
 * @param offset       FLAT/VMFS: the extent's start inside its file, in sectors
 * @param lineNumber   1-based line number in the descriptor
 * @param lineOffset   absolute byte offset of the line in the file holding the descriptor
 * @param line         the line text
 */
public record VmdkExtent(String access, long sectors, String type, String fileName, OptionalLong offset,
                         int lineNumber, long lineOffset, String line) {

    /** Whether qemu counts this extent (only RW lines of the types it opens). */
    public boolean countedByQemu() {
        return access.equals("RW") && sectors > 0 && (type.equals("FLAT") || type.equals("SPARSE")
                || type.equals("VMFS") || type.equals("VMFSSPARSE") || type.equals("SESPARSE"));
    }

    public boolean isSparse() {
        return type.equals("SPARSE") || type.equals("VMFSSPARSE") || type.equals("SESPARSE");
    }
}
