package org.diskplan.probe.raw;

import org.diskplan.probe.FormatHeader;

/** A raw image has no header; the file length is all there is. */
public record RawHeader(long fileLength) implements FormatHeader {
}
