package org.diskplan.probe.archive;

import org.diskplan.probe.FormatHeader;

/**
 * A compressed file or archive: what it is, and what its header says of its content.
 *
 * @param archive    the kind
 * @param firstEntry the first member's name (zip, tar) or the original file name (gzip), empty if none
 */
public record ArchiveHeader(Archive archive, String firstEntry) implements FormatHeader {
}
