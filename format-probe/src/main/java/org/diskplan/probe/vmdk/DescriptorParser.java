package org.diskplan.probe.vmdk;

import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.diskplan.abi.ErrorCode;
import org.diskplan.probe.FieldReader;
import org.diskplan.probe.HeaderField;
import org.diskplan.probe.ProbeException;

/** Parses VMDK descriptor text line by line, recording each line as a field. */
final class DescriptorParser {
    /** Largest descriptor DiskPlan parses (qemu reads at most 1 MiB - 1 bytes of it). */
    static final int MAX_DESCRIPTOR = 1 << 20;
    /** Lines recorded as fields; the rest are summarised. */
    static final int MAX_LINE_FIELDS = 4096;
    /** Mirrors qemu's sscanf("%10s %" SCNd64 " %10s \"%511[^\n\r\"]\" %" SCNd64). */
    private static final Pattern EXTENT = Pattern.compile(
            "^\\s*(\\S{1,10})\\s+([+-]?\\d{1,19})\\s+(\\S{1,10})\\s+\"([^\"\\r\\n]{0,511})\"(?:\\s+([+-]?\\d{1,19}))?");

    private DescriptorParser() {
    }

    static VmdkDescriptor parse(byte[] raw, long base, String group, List<HeaderField> fields)
            throws ProbeException {
        int end = 0;
        while (end < raw.length && raw[end] != 0) {
            end++;
        }
        String text = new String(raw, 0, end, StandardCharsets.ISO_8859_1);
        FieldReader r = new FieldReader(group, base, raw, ByteOrder.LITTLE_ENDIAN, fields);
        String version = "";
        String cid = "";
        String parentCid = "";
        String createType = "";
        Optional<String> parent = Optional.empty();
        List<VmdkExtent> extents = new ArrayList<>();
        Map<String, String> ddb = new LinkedHashMap<>();
        int recorded = 0;
        int skipped = 0;
        int lineNo = 0;
        int pos = 0;
        while (pos < end) {
            int nl = text.indexOf('\n', pos);
            int lineEnd = nl < 0 ? end : nl;
            lineNo++;
            String line = text.substring(pos, lineEnd);
            if (line.endsWith("\r")) {
                line = line.substring(0, line.length() - 1);
            }
            int start = pos;
            pos = lineEnd + 1;
            String trimmed = line.strip();
            if (trimmed.isEmpty()) {
                continue;
            }
            String name;
            String meaning;
            String value = "'" + FieldReader.printable(line.getBytes(StandardCharsets.ISO_8859_1)) + "'";
            Matcher m = EXTENT.matcher(line);
            int eq = trimmed.indexOf('=');
            if (trimmed.startsWith("#")) {
                name = "comment";
                meaning = "comment line";
            } else if (m.find() && (m.group(1).equals("RW") || m.group(1).equals("RDONLY")
                    || m.group(1).equals("NOACCESS"))) {
                long sectors = parseLong(m.group(2));
                OptionalLong off = m.group(5) == null ? OptionalLong.empty()
                        : OptionalLong.of(parseLong(m.group(5)));
                VmdkExtent e = new VmdkExtent(m.group(1), sectors, m.group(3), m.group(4), off, lineNo,
                        base + start, line);
                extents.add(e);
                name = "extent " + extents.size();
                meaning = extentMeaning(e);
            } else if (isExtentWithoutFile(trimmed)) {
                String[] t = trimmed.split("\\s+");
                long sectors = parseLong(t[1]);
                VmdkExtent e = new VmdkExtent(t[0], sectors, t[2], "", OptionalLong.empty(), lineNo, base + start,
                        line);
                extents.add(e);
                name = "extent " + extents.size();
                meaning = extentMeaning(e);
            } else if (eq > 0) {
                String key = trimmed.substring(0, eq).strip();
                String v = unquote(trimmed.substring(eq + 1).strip());
                name = key;
                meaning = keyMeaning(key);
                switch (key) {
                    case "version" -> version = v;
                    case "CID" -> cid = v;
                    case "parentCID" -> parentCid = v;
                    case "createType" -> createType = v;
                    case "parentFileNameHint" -> parent = Optional.of(v);
                    default -> {
                        if (key.startsWith("ddb.")) {
                            ddb.put(key, v);
                        }
                    }
                }
            } else {
                name = "line " + lineNo;
                meaning = "unrecognised line (ignored by qemu)";
            }
            if (recorded < MAX_LINE_FIELDS) {
                fields.add(new HeaderField(group, name, base + start, line.length(),
                        line.getBytes(StandardCharsets.ISO_8859_1), value, meaning));
                recorded++;
            } else {
                skipped++;
            }
        }
        if (skipped > 0) {
            r.record("further lines", end, 0, skipped, FieldReader::decimal,
                    "lines not listed individually (more than " + MAX_LINE_FIELDS + ")");
        }
        if (end < raw.length) {
            r.bytes("padding", end, raw.length - end, "NUL padding (" + (raw.length - end) + " bytes)",
                    "unused space reserved for the descriptor to grow");
        }
        return new VmdkDescriptor(base, text, version, cid, parentCid, createType, parent, extents, ddb);
    }

    /** Validates extent lines the way qemu's vmdk_parse_extents does. */
    static void checkExtentsLikeQemu(VmdkDescriptor d) throws ProbeException {
        for (VmdkExtent e : d.extents()) {
            if (!e.access().equals("RW")) {
                continue;
            }
            boolean ok = e.type().equals("FLAT") == e.offset().isPresent();
            if (e.type().equals("FLAT") && e.offset().isPresent() && e.offset().getAsLong() < 0) {
                ok = false;
            }
            if (!ok && e.line().indexOf('"') >= 0) {
                throw new ProbeException(ErrorCode.PARSE_FAILED, "extent line " + e.lineNumber(), e.lineOffset(),
                        "VMDK descriptor extent line " + e.lineNumber() + " at offset " + e.lineOffset()
                                + ": invalid extent line '" + FieldReader.printable(
                                e.line().getBytes(StandardCharsets.ISO_8859_1)) + "'");
            }
        }
    }

    private static boolean isExtentWithoutFile(String t) {
        String[] parts = t.split("\\s+");
        return parts.length == 3 && (parts[0].equals("RW") || parts[0].equals("RDONLY")
                || parts[0].equals("NOACCESS")) && parts[1].matches("[+-]?\\d{1,19}");
    }

    private static long parseLong(String s) {
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            return s.startsWith("-") ? Long.MIN_VALUE : Long.MAX_VALUE;
        }
    }

    static String unquote(String v) {
        if (v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"")) {
            return v.substring(1, v.length() - 1);
        }
        if (v.startsWith("\"")) {
            int close = v.indexOf('"', 1);
            return close < 0 ? v.substring(1) : v.substring(1, close);
        }
        return v;
    }

    private static String extentMeaning(VmdkExtent e) {
        String access = switch (e.access()) {
            case "RW" -> "read-write";
            case "RDONLY" -> "read-only";
            default -> "no access";
        };
        String kind = switch (e.type()) {
            case "SPARSE" -> "sparse extent (KDMV header, grain tables)";
            case "FLAT" -> "flat extent (raw sectors)";
            case "ZERO" -> "zero extent (reads as zeros, no file)";
            case "VMFS" -> "VMFS flat extent";
            case "VMFSSPARSE" -> "VMFS sparse extent (COWD)";
            case "SESPARSE" -> "space-efficient sparse extent";
            case "VMFSRDM", "VMFSRAW" -> "raw device mapping";
            default -> "unknown extent type";
        };
        String where = e.fileName().isEmpty() ? "" : " in \"" + e.fileName() + "\""
                + (e.offset().isPresent() ? " from sector " + e.offset().getAsLong() : "");
        String qemu = e.countedByQemu() ? "" : " (not counted by qemu)";
        return access + " " + kind + " of " + e.sectors() + " sectors" + where + qemu;
    }

    private static String keyMeaning(String key) {
        return switch (key) {
            case "version" -> "descriptor format version (1; 3 for images with ddb.longContentID)";
            case "encoding" -> "character encoding of the descriptor";
            case "CID" -> "content ID: random 32-bit hex value renewed when the disk is first written after open";
            case "parentCID" -> "CID of the parent when this child was created (ffffffff: no parent)";
            case "isNativeSnapshot" -> "whether the parent is an array-native snapshot";
            case "createType" -> "disk type: monolithicSparse, monolithicFlat, twoGbMaxExtentSparse, "
                    + "twoGbMaxExtentFlat, streamOptimized, vmfs, vmfsSparse, ...";
            case "parentFileNameHint" -> "path of the parent (backing) disk of this delta disk";
            case "ddb.virtualHWVersion" -> "virtual hardware version of the VM that created the disk";
            case "ddb.geometry.cylinders" -> "guest-visible geometry: cylinders (resize updates it)";
            case "ddb.geometry.heads" -> "guest-visible geometry: heads";
            case "ddb.geometry.sectors" -> "guest-visible geometry: sectors per track";
            case "ddb.geometry.biosCylinders" -> "BIOS geometry: cylinders";
            case "ddb.geometry.biosHeads" -> "BIOS geometry: heads";
            case "ddb.geometry.biosSectors" -> "BIOS geometry: sectors per track";
            case "ddb.adapterType" -> "controller the disk was made for: ide, buslogic, lsilogic, legacyESX";
            case "ddb.toolsVersion" -> "VMware Tools version installed in the guest";
            case "ddb.uuid" -> "disk UUID reported to the guest";
            case "ddb.longContentID" -> "128-bit content ID (version 3 descriptors)";
            case "ddb.encoding" -> "character encoding of the DDB";
            case "ddb.thinProvisioned" -> "whether the disk is thin provisioned (1) on VMFS";
            case "ddb.deletable" -> "whether the disk may be deleted with its VM";
            default -> key.startsWith("ddb.") ? "disk database entry" : "descriptor key (not used by qemu)";
        };
    }
}
