package org.diskplan.app.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Base64;
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

    static String plan(String filename, ResizePlan plan, boolean withData) {
        ObjectNode root = MAPPER.createObjectNode();
        root.put("filename", filename);
        root.put("format", plan.format().qemuName());
        root.put("action", plan.action().jsonName());
        root.put("old_virtual_size", plan.oldVirtualSize());
        root.put("new_virtual_size", plan.newVirtualSize());
        root.put("requested_size", plan.request().newSize());
        root.put("old_file_size", plan.oldFileSize());
        root.put("new_file_size", plan.newFileSize());
        root.put("commit_index", plan.commitIndex());
        ArrayNode files = root.putArray("files");
        for (PlanFile f : plan.files()) {
            ObjectNode n = files.addObject();
            n.put("path", f.path().toString());
            n.put("role", f.role().jsonName());
            n.put("old_length", f.oldLength());
            n.put("new_length", f.newLength());
            n.put("created", f.created());
        }
        ArrayNode patches = root.putArray("patches");
        for (int i = 0; i < plan.patches().size(); i++) {
            ResizePatch p = plan.patches().get(i);
            ObjectNode n = patches.addObject();
            n.put("index", i);
            n.put("kind", p.kind().word());
            if (!p.kind().zeroMode().isEmpty()) {
                n.put("mode", p.kind().zeroMode());
            }
            n.put("file", plan.files().get(p.file()).path().toString());
            n.put("offset", p.offset());
            if (p instanceof ResizePatch.Copy c) {
                n.put("source_file", plan.files().get(c.sourceFile()).path().toString());
                n.put("source_offset", c.source());
            }
            n.put("length", p.length());
            n.put("label", p.label());
            n.put("region", p.region().jsonName());
            if (withData && p instanceof ResizePatch.Write w) {
                n.put("data", Base64.getEncoder().encodeToString(w.data()));
            }
        }
        ArrayNode notes = root.putArray("notes");
        plan.notes().forEach(notes::add);
        return write(root);
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

    /** A superset of {@code qemu-img info --output=json}. */
    static String info(String filename, ProbedImage image, long actualSize) {
        ObjectNode root = MAPPER.createObjectNode();
        root.put("virtual-size", image.virtualSize());
        root.put("filename", filename);
        root.put("format", image.format().qemuName());
        if (actualSize >= 0) {
            root.put("actual-size", actualSize);
        }
        root.put("dirty-flag", image.flags().contains("dirty"));
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
