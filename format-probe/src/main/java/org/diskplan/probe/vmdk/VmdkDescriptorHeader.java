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

    @Override
    public List<java.nio.file.Path> extentFiles() {
        return extents.stream().filter(VmdkExtentFile::exists).flatMap(e -> e.file().stream()).distinct().toList();
    }
}
