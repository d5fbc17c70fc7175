package org.diskplan.probe.vmdk;

import java.util.List;
import org.diskplan.probe.FormatHeader;

/**
 * A VMDK descriptor file (monolithicFlat, twoGbMaxExtentSparse, twoGbMaxExtentFlat, vmfs, ...):
 * its text and every extent with the file it names.
 *
 * @param descriptor the parsed descriptor
 * @param extents    one entry per extent line, in order
 */
public record VmdkDescriptorHeader(VmdkDescriptor descriptor, List<VmdkExtentFile> extents)
        implements FormatHeader {
    public VmdkDescriptorHeader {
        extents = List.copyOf(extents);
    }

    /** qemu-img info's VMDK block: every extent line with the file it names and its size. */
    @Override
    public java.util.Map<String, Object> qemuInfo(String filename) {
        List<java.util.Map<String, Object>> list = new java.util.ArrayList<>();
        for (VmdkExtentFile e : extents) {
            java.util.Map<String, Object> info = VmdkDescriptor.extentInfo(org.diskplan.probe.QemuNames.combine(
                    filename, e.extent().fileName()), e.extent().type(), e.sectors(), e.sparseHeader());
            if (e.exists() && e.extent().type().equals("SESPARSE")) {
                info.put("cluster-size", SeSparseProbe.GRAIN_BYTES); // qemu reads only 8-sector grains
            }
            list.add(info);
        }
        return descriptor.qemuInfo(filename, list);
    }

    @Override
    public List<java.nio.file.Path> extentFiles() {
        return extents.stream().filter(VmdkExtentFile::exists).flatMap(e -> e.file().stream()).distinct().toList();
    }
}
