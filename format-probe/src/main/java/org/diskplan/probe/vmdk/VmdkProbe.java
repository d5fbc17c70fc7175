package org.diskplan.probe.vmdk;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.diskplan.abi.ImageFormat;
import org.diskplan.probe.RegionMap;
import org.diskplan.probe.FormatProbe;
import org.diskplan.probe.HeaderField;
import org.diskplan.probe.ImageReader;
import org.diskplan.probe.LayoutRegion;
import org.diskplan.probe.ProbeException;
import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.RegionKind;

/**
 * A VMDK4 sparse extent opened on its own ("KDMV" at offset 0): monolithicSparse and
 * streamOptimized disks, or one extent of a twoGbMaxExtentSparse disk. The virtual size is
 * {@code capacity × 512}, as qemu reports it.
 */
public final class VmdkProbe implements FormatProbe {
    // No lambdas or streams here: this class runs on every command's start-up path (see ReadWatch / issue 20).
    static final String NO_PARENT_CID = "ffffffff";

    @Override
    public ImageFormat format() {
        return ImageFormat.VMDK4;
    }

    @Override
    public ProbedImage probe(Path path, ImageReader reader) throws ProbeException {
        List<HeaderField> fields = new ArrayList<>();
        List<String> flags = new ArrayList<>();
        RegionMap map = new RegionMap(reader.size());
        VmdkHeader h = new SparseExtentParser(reader, "", fields, flags, map, SparseExtentParser.Budget.standard())
                .parse();
        String subformat = h.createType();
        boolean hasCid = h.descriptor().isPresent() && h.descriptor().get().text().contains("CID");
        if (h.capacity() == 0 && h.descriptorOffset() != 0) {
            flags.add("capacity 0 with an embedded descriptor: qemu opens the embedded descriptor as a "
                    + "descriptor file and takes the size from its extents");
        }
        if (!hasCid) {
            subformat = "sparse extent";
            flags.add("no embedded descriptor (no CID): this is one extent of a multi-file disk; qemu opens it "
                    + "only through its descriptor file");
        } else {
            VmdkDescriptor d = h.descriptor().get();
            if (d.parentFileNameHint().isPresent()) {
                flags.add("backing file: " + d.parentFileNameHint().get());
            }
            if (!d.parentCid().isEmpty() && !d.parentCid().equalsIgnoreCase(NO_PARENT_CID)) {
                flags.add("has parent (parentCID " + d.parentCid() + ")");
            }
            if (d.createType().isEmpty()) {
                subformat = h.compressed() ? "streamOptimized" : "monolithicSparse";
                flags.add("embedded descriptor has no createType");
            }
            long described = 0;
            List<String> access = new ArrayList<>();
            for (VmdkExtent e : d.extents()) {
                described += e.sectors();
                if (!e.access().equals("RW")) {
                    access.add(e.access() + " (line " + e.lineNumber() + ")");
                }
            }
            if (!d.extents().isEmpty() && described != h.capacity()) {
                flags.add("embedded descriptor lists " + described + " sectors, the header capacity is "
                        + h.capacity() + " (qemu uses the capacity)");
            }
            if (!access.isEmpty()) {
                flags.add("embedded descriptor extent access " + String.join(", ", access) + " (qemu ignores the "
                        + "access of an embedded descriptor and opens the extent by its header)");
            }
        }
        // build() counts the overlaps, so it comes first
        List<LayoutRegion> regions = h.grainTablesScanned()
                ? map.build(RegionKind.FREE, "unused")
                : map.build(RegionKind.DATA, "not scanned (grains or free space)");
        if (map.overlaps() > 0) {
            flags.add("corrupt: " + map.overlaps() + " structures overlap one another");
        }
        return new ProbedImage(path, ImageFormat.VMDK4, subformat, h.virtualSize(), reader.size(), h.grainBytes(),
                flags, fields, regions, h);
    }
}
