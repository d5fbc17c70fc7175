package org.diskplan.probe;

import java.util.LinkedHashMap;
import java.util.Map;

/** Names as qemu prints them in {@code qemu-img info}. */
public final class QemuNames {
    private QemuNames() {
    }

    /**
     * A name relative to an image, resolved the way qemu's {@code path_combine} does:
     * an absolute name stays as it is, a relative one is put after the image's folder
     * part ({@code dir/a.qcow2} + {@code b.qcow2} = {@code dir/b.qcow2}).
     */
    public static String combine(String base, String name) {
        if (name.startsWith("/")) {
            return name;
        }
        int slash = base.lastIndexOf('/');
        return slash < 0 ? name : base.substring(0, slash + 1) + name;
    }

    /**
     * The backing-file keys of qemu-img info: {@code backing-filename},
     * {@code full-backing-filename} and, when the image names one,
     * {@code backing-filename-format}. Empty when there is no backing file.
     */
    public static Map<String, Object> backing(String filename, String backing, String backingFormat) {
        Map<String, Object> m = new LinkedHashMap<>();
        if (!backing.isEmpty()) {
            m.put("backing-filename", backing);
            m.put("full-backing-filename", combine(filename, backing));
            if (!backingFormat.isEmpty()) {
                m.put("backing-filename-format", backingFormat);
            }
        }
        return m;
    }

    /** {@code {"type": type, "data": data}}, qemu's format-specific wrapper. */
    public static Map<String, Object> formatSpecific(String type, Map<String, Object> data) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("type", type);
        m.put("data", data);
        return m;
    }
}
