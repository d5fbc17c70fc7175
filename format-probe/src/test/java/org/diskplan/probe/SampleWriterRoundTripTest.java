package org.diskplan.probe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.TreeMap;
import org.diskplan.abi.ImageFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Every sample writer's image probes back as the format, subformat and size it claims. */
class SampleWriterRoundTripTest {
    @TempDir
    Path dir;

    static Map<String, SampleWriter> writers() {
        Map<String, SampleWriter> map = new TreeMap<>();
        ServiceLoader.load(SampleWriter.class).forEach(w -> map.put(w.format(), w));
        return map;
    }

    static Map<String, String> options(String text) {
        Map<String, String> map = new LinkedHashMap<>();
        if (!text.isEmpty()) {
            for (String pair : text.split(";")) {
                String[] kv = pair.split("=", 2);
                map.put(kv[0], kv[1]);
            }
        }
        return map;
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @CsvSource({
        // format, size, options (;-separated), expected format, subformat, virtual size, allocation unit
        "qcow2, 1G, '', QCOW2, v3, 1073741824, 65536",
        "qcow2, 1000, '', QCOW2, v3, 1024, 65536",
        "qcow2, 10G, subformat=v2, QCOW2, v2, 10737418240, 65536",
        "qcow2, 1G, compat=0.10, QCOW2, v2, 1073741824, 65536",
        "qcow2, 1G, cluster_size=512;refcount_bits=1, QCOW2, v3, 1073741824, 512",
        "qcow2, 128G, cluster_size=512, QCOW2, v3, 137438953472, 512",
        "qcow2, 3G, cluster_size=2M;refcount_bits=64, QCOW2, v3, 3221225472, 2097152",
        "qcow2, 5G, cluster_size=4096;refcount_bits=4, QCOW2, v3, 5368709120, 4096",
        "qcow2, 64T, refcount_bits=8;lazy_refcounts=on, QCOW2, v3, 70368744177664, 65536",
        "qcow2, 1G, extended_l2=on;compression_type=zstd, QCOW2, v3, 1073741824, 65536",
        "vdi, 100M, '', VDI, dynamic, 104857600, 1048576",
        "vdi, 1000001, '', VDI, dynamic, 1000448, 1048576",
        "vdi, 10M, subformat=static, VDI, static, 10485760, 1048576",
        "vdi, 10M, static=on, VDI, static, 10485760, 1048576",
        "vdi, 4T, '', VDI, dynamic, 4398046511104, 1048576",
    })
    void probesBackAsWritten(String format, String size, String options, ImageFormat expected, String subformat,
            long virtual, long unit) throws Exception {
        Path file = dir.resolve("s.img");
        long written = writers().get(format).write(file, parse(size), options(options));
        assertThat(written).isEqualTo(virtual);
        ProbedImage image = ImageProber.probe(file, Optional.empty());
        assertThat(image.format()).isEqualTo(expected);
        assertThat(image.virtualSize()).isEqualTo(virtual);
        assertThat(image.fileSize()).isEqualTo(Files.size(file));
        assertThat(image.allocationUnit()).isEqualTo(unit);
        assertThat(image.subformat()).isEqualToIgnoringCase(subformat);
        assertThat(image.flags()).noneMatch(f -> f.contains("dirty") || f.contains("corrupt"));
        long covered = image.regions().stream().mapToLong(LayoutRegion::length).sum();
        assertThat(covered).isEqualTo(image.fileSize());
    }

    @Test
    void qcow2RefcountsCountEveryMetadataClusterOnce() throws Exception {
        for (String bits : new String[] {"1", "2", "4", "8", "16", "32", "64"}) {
            Path file = dir.resolve("r" + bits + ".qcow2");
            writers().get("qcow2").write(file, 1L << 30, Map.of("cluster_size", "512", "refcount_bits", bits));
            byte[] all = Files.readAllBytes(file);
            java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(all);
            long refTable = b.getLong(48);
            long block = b.getLong((int) refTable);
            int width = Integer.parseInt(bits);
            long clusters = (all.length + 511) / 512;
            for (long i = 0; i < clusters + 8; i++) {
                long bit = i * width;
                long value;
                if (width < 8) {
                    value = (all[(int) (block + bit / 8)] >> (bit % 8)) & ((1 << width) - 1);
                } else {
                    value = 0;
                    for (int k = 0; k < width / 8; k++) {
                        value = value << 8 | (all[(int) (block + bit / 8 + k)] & 0xff);
                    }
                }
                assertThat(value).as("refcount of cluster %d at %d bits", i, width).isEqualTo(i < clusters ? 1 : 0);
            }
        }
    }

    @Test
    void refusesWhatQemuImgCreateRefuses() {
        SampleWriter qcow2 = writers().get("qcow2");
        assertThatThrownBy(() -> qcow2.write(dir.resolve("a"), 1L << 40, Map.of("cluster_size", "512")))
                .hasMessage("The image size is too large for file format 'qcow2' (try using a larger cluster size)");
        assertThatThrownBy(() -> qcow2.write(dir.resolve("b"), 1L << 30, Map.of("compat", "0.10",
                "refcount_bits", "8"))).hasMessageContaining("require compatibility level 1.1");
        assertThatThrownBy(() -> qcow2.write(dir.resolve("c"), 1L << 30, Map.of("extended_l2", "on",
                "cluster_size", "4096"))).hasMessageContaining("at least 16384 bytes");
        assertThatThrownBy(() -> qcow2.write(dir.resolve("d"), 1L << 30, Map.of("cluster_size", "1000")))
                .hasMessageContaining("power of two");
        assertThatThrownBy(() -> qcow2.write(dir.resolve("e"), 1L << 30, Map.of("colour", "red")))
                .hasMessageContaining("colour");
        assertThatThrownBy(() -> writers().get("vdi").write(dir.resolve("f"), 1L << 30, Map.of("subformat", "x")))
                .hasMessageContaining("subformat=dynamic|static");
        assertThat(dir.resolve("a")).doesNotExist();
    }

    static long parse(String size) {
        char last = size.charAt(size.length() - 1);
        int shift = switch (last) {
            case 'K' -> 10;
            case 'M' -> 20;
            case 'G' -> 30;
            case 'T' -> 40;
            default -> 0;
        };
        return Long.parseLong(shift == 0 ? size : size.substring(0, size.length() - 1)) << shift;
    }

}
