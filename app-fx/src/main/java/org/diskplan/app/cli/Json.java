package org.diskplan.app.cli;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.diskplan.abi.ResizeResult;
import org.diskplan.planner.PlanFile;
import org.diskplan.planner.ResizePatch;
import org.diskplan.planner.ResizePlan;
import org.diskplan.probe.HeaderField;
import org.diskplan.probe.LayoutRegion;
import org.diskplan.probe.ProbedImage;

/** The JSON documents of cli.md. */
final class Json {
    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private Json() {
    }

    /**
     * Writes the plan document to {@code out} as it goes, with a JsonGenerator: the base64
     * of each write is streamed from its bytes, so a plan of any size prints in bounded
     * memory beyond the plan itself (a 128 GiB grow of a 512-byte-cluster qcow2 carries a
     * 32 MiB L1 table; a document tree of it, as text, took several times that).
     */
    static void plan(OutputStream out, String filename, ResizePlan plan, boolean withData) throws IOException {
        try (JsonGenerator g = MAPPER.getFactory().createGenerator(new NonClosing(out), JsonEncoding.UTF8)) {
            g.useDefaultPrettyPrinter();
            g.writeStartObject();
            g.writeStringField("filename", filename);
            g.writeStringField("format", plan.format().qemuName());
            g.writeStringField("action", plan.action().jsonName());
            g.writeNumberField("old_virtual_size", plan.oldVirtualSize());
            g.writeNumberField("new_virtual_size", plan.newVirtualSize());
            g.writeNumberField("requested_size", plan.request().newSize());
            g.writeNumberField("old_file_size", plan.oldFileSize());
            g.writeNumberField("new_file_size", plan.newFileSize());
            g.writeNumberField("commit_index", plan.commitIndex());
            g.writeArrayFieldStart("files");
            for (PlanFile f : plan.files()) {
                g.writeStartObject();
                g.writeStringField("path", f.path().toString());
                g.writeStringField("role", f.role().jsonName());
                g.writeNumberField("old_length", f.oldLength());
                g.writeNumberField("new_length", f.newLength());
                g.writeBooleanField("created", f.created());
                g.writeBooleanField("removed", f.removed());
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeArrayFieldStart("patches");
            for (int i = 0; i < plan.patches().size(); i++) {
                ResizePatch p = plan.patches().get(i);
                g.writeStartObject();
                g.writeNumberField("index", i);
                g.writeStringField("kind", p.kind().word());
                if (!p.kind().zeroMode().isEmpty()) {
                    g.writeStringField("mode", p.kind().zeroMode());
                }
                g.writeStringField("file", plan.files().get(p.file()).path().toString());
                g.writeNumberField("offset", p.offset());
                if (p instanceof ResizePatch.Copy c) {
                    g.writeStringField("source_file", plan.files().get(c.sourceFile()).path().toString());
                    g.writeNumberField("source_offset", c.source());
                }
                g.writeNumberField("length", p.length());
                g.writeStringField("label", p.label());
                g.writeStringField("region", p.region().jsonName());
                if (withData && p instanceof ResizePatch.Write w) {
                    g.writeFieldName("data");
                    ByteBuffer data = w.dataView();
                    g.writeBinary(new ByteBufferInput(data), data.remaining());
                }
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeArrayFieldStart("notes");
            for (String note : plan.notes()) {
                g.writeString(note);
            }
            g.writeEndArray();
            g.writeEndObject();
        }
        out.write(System.lineSeparator().getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    /** Lets the generator flush {@code out} without closing it (stdout stays open). */
    private static final class NonClosing extends FilterOutputStream {
        NonClosing(OutputStream out) {
            super(out);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
        }

        @Override
        public void close() throws IOException {
            flush();
        }
    }

    /** A read-only view of a buffer as a stream, so base64 is encoded from it chunk by chunk. */
    private static final class ByteBufferInput extends InputStream {
        private final ByteBuffer buf;

        ByteBufferInput(ByteBuffer buf) {
            this.buf = buf.duplicate();
        }

        @Override
        public int read() {
            return buf.hasRemaining() ? buf.get() & 0xff : -1;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            if (!buf.hasRemaining()) {
                return -1;
            }
            int n = Math.min(len, buf.remaining());
            buf.get(b, off, n);
            return n;
        }
    }

    static String resize(String filename, ResizePlan plan, ResizeResult result) {
        ObjectNode root = MAPPER.createObjectNode();
        root.put("filename", filename);
        root.put("format", plan.format().qemuName());
        root.put("action", result.action().jsonName());
        root.put("old_virtual_size", plan.oldVirtualSize());
        root.put("new_virtual_size", result.resolvedNewVirtualSize());
        root.put("old_file_size", result.fileSizeBefore());
        root.put("new_file_size", result.fileSizeAfter());
        root.put("patches", plan.patches().size());
        root.put("bytes_written", plan.bytesWritten());
        return write(root);
    }

    /**
     * Whether the image was left unclean: a flag "dirty" (qcow2, QED), or a VHDX whose log
     * needs replay (qemu replays it on a read-write open; it cannot open such a file read-only
     * for info, so no qemu output disagrees).
     */
    static boolean dirty(ProbedImage image) {
        return image.flags().contains("dirty")
                || image.header() instanceof org.diskplan.probe.vhdx.VhdxHeader h && h.logNeedsReplay();
    }

    /** A superset of {@code qemu-img info --output=json}. */
    static String info(String filename, ProbedImage image, long actualSize) {
        ObjectNode root = MAPPER.createObjectNode();
        root.put("virtual-size", image.virtualSize());
        root.put("filename", filename);
        root.put("format", image.format().qemuName());
        if (actualSize >= 0) {
            root.put("actual-size", actualSize);
        }
        root.put("dirty-flag", dirty(image));
        if (image.allocationUnit() > 0) {
            root.put("cluster-size", image.allocationUnit());
        }
        root.setAll((ObjectNode) MAPPER.valueToTree(image.header().qemuInfo(filename)));
        root.put("subformat", image.subformat());
        root.put("file-size", image.fileSize());
        ArrayNode flags = root.putArray("flags");
        image.flags().forEach(flags::add);
        ArrayNode fields = root.putArray("fields");
        for (HeaderField f : image.fields()) {
            ObjectNode n = fields.addObject();
            n.put("group", f.group());
            n.put("name", f.name());
            n.put("offset", f.offset());
            n.put("length", f.length());
            n.put("hex", f.hex());
            n.put("value", f.value());
            n.put("meaning", f.meaning());
        }
        ArrayNode regions = root.putArray("regions");
        for (LayoutRegion r : image.regions()) {
            ObjectNode n = regions.addObject();
            n.put("kind", r.kind().jsonName());
            n.put("offset", r.offset());
            n.put("length", r.length());
            n.put("label", r.label());
        }
        return write(root);
    }

    private static String write(ObjectNode root) {
        try {
            return MAPPER.writeValueAsString(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot happen for a tree of plain values", e);
        }
    }
}
