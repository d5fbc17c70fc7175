package org.diskplan.probe.vmdk;

import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import org.diskplan.abi.ErrorCode;
import org.diskplan.probe.FieldReader;
import org.diskplan.probe.HeaderField;
import org.diskplan.probe.ProbeException;

/** Parses VMDK descriptor text line by line, recording each line as a field. */
final class DescriptorParser {
    // No lambdas, streams or regular expressions here (java.util.regex links lambdas): this class runs
    // on the start-up path of every VMDK command (see ReadWatch / issue 20).

    /** Largest descriptor DiskPlan parses (qemu reads at most 1 MiB - 1 bytes of it). */
    static final int MAX_DESCRIPTOR = 1 << 20;
    /** Lines recorded as fields; the rest are summarised. */
    static final int MAX_LINE_FIELDS = 4096;
    /** Extent line fields found by {@link #extentFields}: access, sectors, type, file name, offset (or null). */
    private static final int ACCESS = 0;
    private static final int SECTORS = 1;
    private static final int TYPE = 2;
    private static final int FILE = 3;
    private static final int OFFSET = 4;

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
            String[] m = extentFields(line);
            int eq = trimmed.indexOf('=');
            if (trimmed.startsWith("#")) {
                name = "comment";
                meaning = "comment line";
            } else if (m != null && (m[ACCESS].equals("RW") || m[ACCESS].equals("RDONLY")
                    || m[ACCESS].equals("NOACCESS"))) {
                long sectors = parseLong(m[SECTORS]);
                OptionalLong off = m[OFFSET] == null ? OptionalLong.empty()
                        : OptionalLong.of(parseLong(m[OFFSET]));
                VmdkExtent e = new VmdkExtent(m[ACCESS], sectors, m[TYPE], m[FILE], off, lineNo,
                        base + start, line);
                extents.add(e);
                name = "extent " + extents.size();
                meaning = extentMeaning(e);
            } else if (isExtentWithoutFile(trimmed)) {
                List<String> t = words(trimmed);
                long sectors = parseLong(t.get(1));
                VmdkExtent e = new VmdkExtent(t.get(0), sectors, t.get(2), "", OptionalLong.empty(), lineNo, base + start,
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
            r.record("further lines", end, 0, skipped, FieldReader.DECIMAL,
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
        List<String> parts = words(t);
        return parts.size() == 3 && (parts.get(0).equals("RW") || parts.get(0).equals("RDONLY")
                || parts.get(0).equals("NOACCESS")) && isNumber(parts.get(1), 0, parts.get(1).length());
    }

    /**
     * The fields of an extent line as qemu's sscanf("%10s %" SCNd64 " %10s \"%511[^\n\r\"]\" %" SCNd64)
     * reads them, or null when the line does not start so: as the regular expression
     * {@code ^\s*(\S{1,10})\s+([+-]?\d{1,19})\s+(\S{1,10})\s+"([^"\r\n]{0,511})"(?:\s+([+-]?\d{1,19}))?}
     * would find them, with the offset null when absent.
     */
    static String[] extentFields(String line) {
        int n = line.length();
        int i = skipSpaces(line, 0);
        int a = i;
        i = skipWord(line, i);
        if (i - a < 1 || i - a > 10 || i == n) {
            return null;
        }
        String access = line.substring(a, i);
        i = skipSpaces(line, i);
        int b = i;
        i = skipNumber(line, i, Integer.MAX_VALUE);
        if (i < 0 || !isNumber(line, b, i) || i == n || !isSpace(line.charAt(i))) {
            return null;
        }
        String sectors = line.substring(b, i);
        i = skipSpaces(line, i);
        int c = i;
        i = skipWord(line, i);
        if (i - c < 1 || i - c > 10 || i == n) {
            return null;
        }
        String type = line.substring(c, i);
        i = skipSpaces(line, i);
        if (i == n || line.charAt(i) != '"') {
            return null;
        }
        int f = ++i;
        while (i < n && line.charAt(i) != '"' && line.charAt(i) != '\r' && line.charAt(i) != '\n') {
            i++;
        }
        if (i == n || line.charAt(i) != '"' || i - f > 511) {
            return null;
        }
        String file = line.substring(f, i);
        i++;
        String offset = null;
        int o = skipSpaces(line, i);
        if (o > i) {
            int e = skipNumber(line, o, 19);
            if (e > 0) {
                offset = line.substring(o, e);
            }
        }
        return new String[] {access, sectors, type, file, offset};
    }

    /** The words of {@code t} between runs of regex {@code \s} characters, as t.split("\\s+") (no leading space). */
    private static List<String> words(String t) {
        List<String> out = new ArrayList<>();
        int i = 0;
        int n = t.length();
        while (i < n) {
            int start = i;
            i = skipWord(t, i);
            if (i > start || out.isEmpty()) {
                out.add(t.substring(start, i));
            }
            i = skipSpaces(t, i);
        }
        return out;
    }

    /** Whether s[from, to) is a sign and 1 to 19 ASCII digits (regex {@code [+-]?\d{1,19}}). */
    private static boolean isNumber(String s, int from, int to) {
        int i = from;
        if (i < to && (s.charAt(i) == '+' || s.charAt(i) == '-')) {
            i++;
        }
        int digits = to - i;
        if (digits < 1 || digits > 19) {
            return false;
        }
        for (; i < to; i++) {
            if (!isDigit(s.charAt(i))) {
                return false;
            }
        }
        return true;
    }

    /** The end of a sign and up to {@code max} digits from {@code i}; -1 when no digit follows. */
    private static int skipNumber(String s, int i, int max) {
        int n = s.length();
        if (i < n && (s.charAt(i) == '+' || s.charAt(i) == '-')) {
            i++;
        }
        int d = i;
        while (i < n && i - d < max && isDigit(s.charAt(i))) {
            i++;
        }
        return i > d ? i : -1;
    }

    private static int skipSpaces(String s, int i) {
        while (i < s.length() && isSpace(s.charAt(i))) {
            i++;
        }
        return i;
    }

    private static int skipWord(String s, int i) {
        while (i < s.length() && !isSpace(s.charAt(i))) {
            i++;
        }
        return i;
    }

    /** Regex {@code \s}: space, tab, newline, vertical tab, form feed, carriage return. */
    private static boolean isSpace(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == 0x0b || c == '\f' || c == '\r';
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
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
