package org.diskplan.probe;

/**
 * The format-specific parsed header a probe keeps for the planners (a qcow2
 * header record, a VHD footer record, ...). Each format package defines its own
 * record implementing this interface.
 */
public interface FormatHeader {
}
