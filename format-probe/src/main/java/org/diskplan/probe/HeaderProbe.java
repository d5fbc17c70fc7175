package org.diskplan.probe;

import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.List;
import org.diskplan.abi.ErrorCode;
import org.diskplan.abi.ImageFormat;

/**
 * What the probes of the formats DiskPlan recognises but does not resize (Parallels, Bochs,
 * cloop, DMG, seSparse extents, compressed files) share: errors that name the structure, the
 * field and its offset; a header read that says how short the file is; no runtime exception
 * escaping; and, for formats that qemu reads but never writes, a refusal to plan a resize.
 */
public abstract class HeaderProbe implements FormatProbe {
    private final ImageFormat format;
    private final String group;
    private final boolean readOnly;

    /**
     * @param format   the format this probe parses
     * @param group    the header's name in fields and messages, e.g. "Bochs header"
     * @param readOnly whether qemu only reads the format (a resize is then refused before planning)
     */
    protected HeaderProbe(ImageFormat format, String group, boolean readOnly) {
        this.format = format;
        this.group = group;
        this.readOnly = readOnly;
    }

    @Override
    public final ImageFormat format() {
        return format;
    }

    /** The header's name in fields and messages. */
    protected final String group() {
        return group;
    }

    @Override
    public final ProbedImage probe(Path path, ImageReader reader) throws ProbeException {
        try {
            return parse(path, reader);
        } catch (ArithmeticException | IndexOutOfBoundsException | IllegalArgumentException e) {
            // Defensive: every range is checked before use; a missed check becomes a typed error, not a crash.
            throw new ProbeException(ErrorCode.PARSE_FAILED, format().qemuName(), 0,
                    format().displayName() + " image is inconsistent: " + e.getMessage());
        }
    }

    /** For a format qemu only reads, refuses to plan a resize, in one line naming the file. */
    @Override
    public ProbedImage probeForResize(Path path, ImageReader reader) throws ProbeException {
        ProbedImage image = probe(path, reader);
        if (readOnly) {
            throw new ProbeException(ErrorCode.UNSUPPORTED_FORMAT, "format", 0, "'" + path + "' is a "
                    + format.displayName() + " image, which qemu reads but never writes: convert it first"
                    + " (qemu-img convert -O qcow2 or -O raw)");
        }
        return image;
    }

    protected abstract ProbedImage parse(Path path, ImageReader reader) throws ProbeException;

    /** An error about one field of the header: "<group> field <name> at offset <n>: <why>". */
    protected final ProbeException fail(String field, long offset, String message) {
        return new ProbeException(ErrorCode.PARSE_FAILED, field, offset,
                group + " field " + field + " at offset " + offset + ": " + message);
    }

    /** Reads the {@code size}-byte header at {@code offset}, failing clearly when the file is shorter. */
    protected final byte[] readHeader(ImageReader reader, long offset, int size) throws ProbeException {
        long fileSize = reader.size();
        if (offset < 0 || offset > fileSize || fileSize - offset < size) {
            throw new ProbeException(ErrorCode.PARSE_FAILED, "header", offset, group + " at offset " + offset
                    + ": the file is " + fileSize + " bytes, too short for the " + size + "-byte header");
        }
        return reader.read(offset, size, group);
    }

    /**
     * Reads the {@code size}-byte header at offset 0 and returns a reader of its fields, which it
     * records into {@code fields}.
     */
    protected final FieldReader fields(ImageReader reader, int size, ByteOrder order, List<HeaderField> fields)
            throws ProbeException {
        return new FieldReader(group, 0, readHeader(reader, 0, size), order, fields);
    }

    /** A summary value (no bytes of its own) shown among the fields. */
    protected static HeaderField summary(String group, String name, long offset, String value, String meaning) {
        return new HeaderField(group, name, offset, 0, new byte[0], value, meaning);
    }
}
