package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * qcow2 test images made by qemu-img and qemu-io, and the qemu commands that judge
 * them, with the secret and --image-opts that LUKS-encrypted images need.
 */
final class Qcow2Images {
    static final String SECRET = "secret,id=sec0,data=abc";
    private static final ObjectMapper MAPPER = new ObjectMapper();

    /**
     * How to make one image: {@code qemu-img create -f qcow2 -o OPTS} of {@code base} bytes,
     * then {@code steps}: "w OFF LEN" (qemu-io write -P 0x5a), "c OFF LEN" (compressed write),
     * "p OFF LEN" (write -P 0x33), "snap NAME" (qemu-img snapshot -c), "backing" (a 64M
     * backing file with 0x5a in its first MiB, made first), "backing128" (the same, 128M long,
     * with 0x5a at 70M too: longer than the image, so a grow must hide it with zero clusters).
     */
    record Recipe(String createOptions, String base, List<String> steps, boolean luks) {
        List<String> imageArgs(String file) {
            return Qcow2Images.imageArgs(file, luks);
        }
    }

    private Qcow2Images() {
    }

    static List<String> imageArgs(String file, boolean luks) {
        if (!luks) {
            return List.of(file);
        }
        return List.of("--object", SECRET, "--image-opts", luksImage(file));
    }

    /** The --image-opts spelling of a LUKS-encrypted qcow2 file, with the test secret. */
    static String luksImage(String file) {
        return "driver=qcow2,file.filename=" + file + ",encrypt.key-secret=sec0";
    }

    /** {@code qemu-img compare [flags] a b}, with the secret and --image-opts for LUKS images. */
    static ProcessRunner.Result compare(Path dir, String a, String b, boolean luks, String... flags) {
        List<String> cmd = new ArrayList<>(List.of("qemu-img", "compare"));
        cmd.addAll(List.of(flags));
        cmd.addAll(luks ? List.of("--object", SECRET, "--image-opts", luksImage(a), luksImage(b)) : List.of(a, b));
        return tryRun(dir, cmd);
    }

    static void make(Path dir, String file, Recipe r) {
        boolean backed = r.steps().contains("backing") || r.steps().contains("backing128");
        if (backed) {
            String base = "backing-of-" + file;
            run(dir, List.of("qemu-img", "create", "-q", "-f", "qcow2", base,
                    r.steps().contains("backing128") ? "128M" : "64M"));
            run(dir, r.steps().contains("backing128")
                    ? List.of("qemu-io", "-c", "write -P 0x5a 0 1M", "-c", "write -P 0x5a 70M 1M", base)
                    : List.of("qemu-io", "-c", "write -P 0x5a 0 1M", base));
        }
        List<String> create = new ArrayList<>(List.of("qemu-img", "create", "-q", "-f", "qcow2"));
        if (r.luks()) {
            create.addAll(List.of("--object", SECRET));
        }
        if (backed) {
            create.addAll(List.of("-b", "backing-of-" + file, "-F", "qcow2"));
        }
        String opts = r.createOptions() + (r.luks() ? (r.createOptions().isEmpty() ? "" : ",")
                + "encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10" : "");
        if (!opts.isEmpty()) {
            create.addAll(List.of("-o", opts));
        }
        create.add(file);
        create.add(r.base());
        ProcessRunner.Result made = Qemu.runRetryingPbkdfFlake(ProcessRunner.of(withTool(create)).in(dir));
        assertThat(made.exitCode()).as(made.describe()).isZero();
        List<String> io = new ArrayList<>();
        for (String step : r.steps()) {
            String[] w = step.split(" ");
            switch (w[0]) {
                case "w" -> io.addAll(List.of("-c", "write -P 0x5a " + w[1] + " " + w[2]));
                case "p" -> io.addAll(List.of("-c", "write -P 0x33 " + w[1] + " " + w[2]));
                case "c" -> io.addAll(List.of("-c", "write -c -P 0x5a " + w[1] + " " + w[2]));
                case "snap" -> {
                    flushIo(dir, file, r, io);
                    run(dir, List.of("qemu-img", "snapshot", "-c", w[1], file));
                }
                case "dirty" -> { // incompatible bit 0, as a crash with lazy_refcounts leaves it
                    flushIo(dir, file, r, io);
                    try (java.io.RandomAccessFile raf = new java.io.RandomAccessFile(dir.resolve(file).toFile(), "rw")) {
                        raf.seek(72);
                        long v = raf.readLong();
                        raf.seek(72);
                        raf.writeLong(v | 1);
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }
                case "backing", "backing128" -> { }
                default -> throw new IllegalArgumentException(step);
            }
        }
        flushIo(dir, file, r, io);
    }

    private static void flushIo(Path dir, String file, Recipe r, List<String> io) {
        if (io.isEmpty()) {
            return;
        }
        List<String> cmd = new ArrayList<>(List.of("qemu-io"));
        if (r.luks()) {
            cmd.addAll(List.of("--object", SECRET, "--image-opts"));
            cmd.addAll(io);
            cmd.add(luksImage(file));
        } else {
            cmd.addAll(io);
            cmd.add(file);
        }
        run(dir, cmd);
        io.clear();
    }

    static ProcessRunner.Result run(Path dir, List<String> cmd) {
        ProcessRunner.Result res = ProcessRunner.of(withTool(cmd)).in(dir).timeout(Duration.ofMinutes(5)).run();
        assertThat(res.exitCode()).as(res.describe()).isZero();
        return res;
    }

    static ProcessRunner.Result tryRun(Path dir, List<String> cmd) {
        return ProcessRunner.of(withTool(cmd)).in(dir).timeout(Duration.ofMinutes(5)).run();
    }

    private static List<String> withTool(List<String> cmd) {
        List<String> out = new ArrayList<>(cmd);
        out.set(0, Oracles.require(cmd.get(0)).toString());
        return out;
    }

    /** qemu-img check --output=json of an image. */
    static JsonNode check(Path dir, String file, boolean luks) {
        List<String> cmd = new ArrayList<>(List.of("qemu-img", "check", "--output=json"));
        cmd.addAll(imageArgs(file, luks));
        ProcessRunner.Result r = tryRun(dir, cmd);
        try {
            return MAPPER.readTree(r.stdout().isBlank() ? "{\"exit\": " + r.exitCode() + "}" : r.stdout());
        } catch (java.io.IOException e) {
            throw new AssertionError(r.describe(), e);
        }
    }

    /**
     * What a resize must keep, from qemu-img info: the format-specific block (compat,
     * compression type, refcount bits, lazy refcounts, extended L2, encryption, ...), the
     * backing file, the cluster size and the snapshots' ids, names and VM state sizes.
     */
    static String kept(Path dir, String file) {
        ProcessRunner.Result r = run(dir, List.of("qemu-img", "info", "--output=json", "-U", file));
        try {
            JsonNode info = MAPPER.readTree(r.stdout());
            StringBuilder b = new StringBuilder();
            b.append("format-specific=").append(info.get("format-specific"));
            b.append(" cluster-size=").append(info.get("cluster-size"));
            b.append(" backing=").append(info.path("backing-filename").asText(""));
            b.append(" encrypted=").append(info.path("encrypted").asBoolean(false));
            for (JsonNode sn : info.path("snapshots")) {
                b.append(" snapshot=").append(sn.get("id")).append('/').append(sn.get("name")).append('/')
                        .append(sn.get("vm-state-size"));
            }
            return b.toString();
        } catch (java.io.IOException e) {
            throw new AssertionError(r.describe(), e);
        }
    }

    static long virtualSize(Path dir, String file) {
        ProcessRunner.Result r = run(dir, List.of("qemu-img", "info", "--output=json", "-U", file));
        try {
            return MAPPER.readTree(r.stdout()).get("virtual-size").asLong();
        } catch (java.io.IOException e) {
            throw new AssertionError(r.describe(), e);
        }
    }

    /**
     * qemu-img map --output=json without the host offsets, neighbouring ranges with the same
     * flags merged: what the guest sees of allocation, independent of where the clusters are.
     * With {@code withZero} false the zero flag (which depends on which host blocks the file
     * system allocated) is left out too.
     */
    static List<String> map(Path dir, String file, boolean luks, boolean withZero) {
        List<String> cmd = new ArrayList<>(List.of("qemu-img", "map", "--output=json"));
        cmd.addAll(imageArgs(file, luks));
        ProcessRunner.Result r = run(dir, cmd);
        List<String> out = new ArrayList<>();
        try {
            long start = -1;
            long end = -1;
            String flags = null;
            for (JsonNode n : MAPPER.readTree(r.stdout())) {
                String f = "depth=" + n.get("depth") + " present=" + n.get("present") + " data=" + n.get("data")
                        + (withZero ? " zero=" + n.get("zero") : "");
                long s = n.get("start").asLong();
                long l = n.get("length").asLong();
                if (f.equals(flags) && s == end) {
                    end = s + l;
                    continue;
                }
                if (flags != null) {
                    out.add(start + "+" + (end - start) + " " + flags);
                }
                start = s;
                end = s + l;
                flags = f;
            }
            if (flags != null) {
                out.add(start + "+" + (end - start) + " " + flags);
            }
        } catch (java.io.IOException e) {
            throw new AssertionError(r.describe(), e);
        }
        return out;
    }
}
