package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A plan of any size prints as JSON in bounded memory (issue 18): {@code plan
 * --output=json --with-data} of a 512-byte-cluster qcow2 grown from 1 GiB to 128 GiB (a
 * resize qemu-img does) carries a 32 MiB L1 table; run with {@code -Xmx256m} it died with
 * OutOfMemoryError and a stack trace when the document was built as a tree and a string.
 */
@RequiresOracle("qemu-img")
class LargePlanJsonTest {
    @TempDir
    Path dir;

    @Test
    void a128GiBGrowOfA512ByteClusterQcow2PrintsWithin256MiB() throws Exception {
        assertThat(Qemu.img(dir, "create", "-f", "qcow2", "-o", "cluster_size=512", "big.qcow2", "1G").exitCode())
                .isZero();
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-jar", Diskplan.jar().toString(),
                "plan", "--output=json", "--with-data", "big.qcow2", "128G"));
        Path out = dir.resolve("plan.json");
        Path err = dir.resolve("plan.err");
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectOutput(out.toFile())
                .redirectError(err.toFile()).start();
        assertThat(p.waitFor(Duration.ofMinutes(3).toSeconds(), java.util.concurrent.TimeUnit.SECONDS))
                .as("plan answers").isTrue();
        assertThat(p.exitValue()).as(Files.readString(err)).isZero();
        assertThat(Files.readString(err)).isEmpty();

        // Stream the document back: every write's base64 decodes to its stated length.
        long patches = 0;
        long dataBytes = 0;
        long newVirtualSize = -1;
        try (InputStream in = Files.newInputStream(out);
             JsonParser parser = new JsonFactory().createParser(in)) {
            long length = -1;
            for (JsonToken t = parser.nextToken(); t != null; t = parser.nextToken()) {
                if (t != JsonToken.FIELD_NAME) {
                    continue;
                }
                String name = parser.getCurrentName();
                parser.nextToken();
                switch (name) {
                    case "new_virtual_size" -> newVirtualSize = parser.getLongValue();
                    case "index" -> patches++;
                    case "length" -> length = parser.getLongValue();
                    case "data" -> {
                        ByteArrayOutputStream sink = new ByteArrayOutputStream();
                        int n = parser.readBinaryValue(sink);
                        assertThat((long) n).as("patch " + (patches - 1) + " data").isEqualTo(length);
                        dataBytes += n;
                    }
                    case "patches", "files" -> { } // walk into the array
                    default -> parser.skipChildren();
                }
            }
        }
        assertThat(newVirtualSize).isEqualTo(128L << 30);
        assertThat(patches).isGreaterThan(1);
        assertThat(dataBytes).as("the new L1 table alone: 128 GiB / 32 KiB per L2 table x 8 bytes")
                .isGreaterThanOrEqualTo(32L << 20);
    }
}
