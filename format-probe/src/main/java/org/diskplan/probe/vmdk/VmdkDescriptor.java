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
    // No lambdas or streams here: this class runs on every command's start-up path (see ReadWatch / issue 20).

    public VmdkDescriptor {
        extents = List.copyOf(extents);
        ddb = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(ddb));
    }

    /**
     * qemu-img info's VMDK block around {@code extents}: cid, parent-cid (hex in the
     * text, numbers in qemu's JSON) and create-type; plus the backing keys for a
     * parentFileNameHint (qemu takes the parent as a VMDK).
     */
    Map<String, Object> qemuInfo(String filename, List<Map<String, Object>> extentInfo) {
        Map<String, Object> m = new java.util.LinkedHashMap<>();
        if (parentFileNameHint.isPresent()) {
            m.putAll(org.diskplan.probe.QemuNames.backing(filename, parentFileNameHint.get(), "vmdk"));
        }
        Map<String, Object> data = new java.util.LinkedHashMap<>();
        Optional<Long> cidValue = hex(cid);
        if (cidValue.isPresent()) {
            data.put("cid", cidValue.get());
        }
        Optional<Long> parentCidValue = hex(parentCid);
        if (parentCidValue.isPresent()) {
            data.put("parent-cid", parentCidValue.get());
        }
        if (!createType.isEmpty()) {
            data.put("create-type", createType);
        }
        data.put("extents", extentInfo);
        m.put("format-specific", org.diskplan.probe.QemuNames.formatSpecific("vmdk", data));
        return m;
    }

    /** One extent as qemu-img info lists it. */
    static Map<String, Object> extentInfo(String filename, String type, long sectors, Optional<VmdkHeader> sparse) {
        Map<String, Object> e = new java.util.LinkedHashMap<>();
        e.put("filename", filename);
        e.put("format", type);
        e.put("virtual-size", sectors * 512);
        if (sparse.isPresent()) {
            VmdkHeader h = sparse.get();
            e.put("cluster-size", h.grainBytes());
            if (h.compressAlgorithm() == VmdkLayout.COMPRESSION_DEFLATE) {
                e.put("compressed", true);
            }
        }
        return e;
    }

    private static Optional<Long> hex(String text) {
        try {
            return text.isEmpty() ? Optional.empty() : Optional.of(Long.parseUnsignedLong(text.trim(), 16) & 0xffffffffL);
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }
}
