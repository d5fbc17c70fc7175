package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Base64;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/** Parsing DiskPlan's JSON outputs, and replaying a plan's patches on a file. */
public final class Json {

    private static final ObjectMapper MAPPER = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(DeserializationFeature.USE_LONG_FOR_INTS);

    private Json() {
    }

    /** The one JSON object that is the whole of {@code r}'s stdout (exit status 0). */
    public static JsonNode object(ProcessRunner.Result r) {
        assertThat(r.exitCode()).as("exit status\n" + r.describe()).isZero();
        JsonNode n;
        try {
            n = MAPPER.readTree(r.stdout());
        } catch (JsonProcessingException e) {
            throw new AssertionError("stdout is not exactly one JSON value: " + e.getOriginalMessage()
                    + "\n" + r.describe(), e);
        }
        assertThat(n).as("stdout is empty\n" + r.describe()).isNotNull();
        assertThat(n.isObject()).as("stdout is one JSON object\n" + r.describe()).isTrue();
        return n;
    }

    /** A required integral field. */
    public static long longField(JsonNode o, String name) {
        JsonNode v = o.get(name);
        assertThat(v).as("field %s in %s", name, o).isNotNull();
        assertThat(v.isIntegralNumber()).as("field %s is an integer in %s", name, o).isTrue();
        return v.asLong();
    }

    /** A required string field. */
    public static String textField(JsonNode o, String name) {
        JsonNode v = o.get(name);
        assertThat(v).as("field %s in %s", name, o).isNotNull();
        assertThat(v.isTextual()).as("field %s is a string in %s", name, o).isTrue();
        return v.asText();
    }

    /**
     * Applies the patches of a {@code plan --output=json --with-data} object to
     * {@code file}, in order (write/append: data at offset, zero: zeros over
     * [offset, offset+length)), then sets the file length to {@code new_file_size}.
     * Checks on the way that each append starts exactly at the file end.
     */
    public static void replay(JsonNode plan, Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            for (JsonNode p : plan.get("patches")) {
                String kind = textField(p, "kind");
                long offset = longField(p, "offset");
                long length = longField(p, "length");
                switch (kind) {
                    case "write", "append" -> {
                        byte[] data = Base64.getDecoder().decode(textField(p, "data"));
                        assertThat((long) data.length).as("decoded data length = length in %s", p).isEqualTo(length);
                        if (kind.equals("append")) {
                            assertThat(offset).as("append starts at the file end: %s", p).isEqualTo(ch.size());
                        }
                        writeFully(ch, ByteBuffer.wrap(data), offset);
                    }
                    case "zero" -> {
                        byte[] zeros = new byte[(int) Math.min(length, 1 << 20)];
                        long done = 0;
                        while (done < length) {
                            int n = (int) Math.min(zeros.length, length - done);
                            writeFully(ch, ByteBuffer.wrap(zeros, 0, n), offset + done);
                            done += n;
                        }
                    }
                    default -> throw new AssertionError("unknown patch kind " + kind + " in " + p);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(longField(plan, "new_file_size"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer b, long pos) throws IOException {
        while (b.hasRemaining()) {
            pos += ch.write(b, pos);
        }
    }
}
