package org.diskplan.probe.vmdk;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A parsed VMDK text descriptor (embedded in a sparse extent or a file of its own).
 *
 * @param offset             absolute byte offset of the descriptor text
 * @param text               the text up to its first NUL
 * @param version            the {@code version=} value, empty if absent
 * @param cid                content ID (hex), empty if absent
 * @param parentCid          parent content ID (hex; ffffffff = none), empty if absent
 * @param createType         e.g. monolithicSparse, empty if absent
 * @param parentFileNameHint the parent (backing) file, if any
 * @param extents            every extent line, in order
 * @param ddb                every {@code ddb.*} key with its unquoted value, in order
 */
public record VmdkDescriptor(long offset, String text, String version, String cid, String parentCid,
                             String createType, Optional<String> parentFileNameHint, List<VmdkExtent> extents,
                             Map<String, String> ddb) {
    public VmdkDescriptor {
        extents = List.copyOf(extents);
        ddb = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(ddb));
    }
}
