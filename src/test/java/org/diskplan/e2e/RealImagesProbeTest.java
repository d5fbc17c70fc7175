package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * qemu's iotest samples ({@link Samples}) that are not resized but must be read right: the
 * VMware-made streamOptimized disk with a version-3 header, two fuzzed files, and a GRUB
 * MBR that qemu takes for raw. (The Bochs, Parallels, DMG and cloop samples are cases of
 * {@link RecognisedFormatsOracleTest}; the VHDs are resized by {@link RealVhdImagesTest}.)
 */
@RequiresOracle({"qemu-img", "qemu-io", "bunzip2"})
class RealImagesProbeTest {
    @TempDir
    Path dir;

    /**
     * iotest-version3.vmdk: header version 3, flags 0x30001 (newline test, compressed grains,
     * markers), compressAlgorithm 1 (deflate), gdOffset "at end", the footer 1024 bytes before
     * the end, createType "streamOptimized", extent line RDONLY. It is a stream (qemu 7.2 opens
     * a compressed version 3 read-write but will not rewrite a written grain), so the refusal
     * says streamOptimized and names gdOffset; info agrees with qemu-img info key by key.
     */
    @Test
    void theVersion3VmdkIsAStreamAndIsRefusedAsOne() throws Exception {
        String file = "iotest-version3.vmdk";
        Path image = Samples.qemu(file, dir);
        JsonNode d = assertInfoAsQemu(file);
        assertThat(d.get("subformat").asText()).isEqualTo("streamOptimized");
        assertThat(d.get("flags").toString()).contains("compressed grains (deflate)")
                .contains("extent access RDONLY").doesNotContain("lists 0 sectors");
        assertThat(field(d, "version").get("value").asText()).startsWith("3");
        assertThat(field(d, "version").get("meaning").asText()).contains("changed block tracking");
        assertThat(field(d, "compressAlgorithm").get("value").asText()).startsWith("1");
        refusedUnchanged(image, "VMDK4 header field gdOffset at offset 56 (grain directory at end): "
                + "streamOptimized disks are not resized", "+1G");
        ProcessRunner.Result check = Qemu.img(dir, "check", file);
        assertThat(check.exitCode()).as(check.describe()).isZero();
        // what the refusal says of qemu: it will not rewrite a grain the stream holds
        Files.copy(image, dir.resolve("w.vmdk"));
        ProcessRunner.Result w = ProcessRunner.of(List.of("qemu-io", "-f", "vmdk", "-c", "write -P 0x11 0 64k",
                "w.vmdk")).in(dir).run();
        assertThat(w.stdout() + w.stderr()).as(w.describe())
                .contains("Could not write to allocated cluster for streamOptimized");
    }

    /** Fuzzed files: info, plan and resize name the bad field and its offset, in one line, no stack trace. */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "afl9.vmdk|VMDK4 header field capacity at offset 12|L1 size too big",
        "afl5.img|VHD footer field data_offset at offset 16|lies outside the file"})
    void fuzzedFilesGetTheFieldAndOffset(String file, String field, String why) throws Exception {
        Path image = Samples.qemu(file, dir);
        ProcessRunner.Result qemu = Qemu.img(dir, "info", "--output=json", file);
        assertThat(qemu.exitCode()).as("qemu-img refuses it too\n" + qemu.describe()).isNotZero();

        ProcessRunner.Result human = Diskplan.run(dir, "info", file);
        assertThat(human.exitCode()).as("damaged: exit 1\n" + human.describe()).isEqualTo(1);
        assertThat(human.stdout()).as(human.describe()).contains("damaged: DiskPlan cannot resize it")
                .contains("<-- bad");
        noStackTrace(human);
        ProcessRunner.Result json = Diskplan.run(dir, "info", "--output=json", file);
        assertThat(json.exitCode()).as(json.describe()).isEqualTo(1);
        assertThat(json.stderr()).as(json.describe()).contains(field).contains(why);
        noStackTrace(json);
        refusedUnchanged(image, field, "+1M");
    }

    /**
     * grub_mbr.raw (qemu's test 109: a real MBR must stay raw): DiskPlan takes it for raw as
     * qemu does, info agrees key by key, and a grow keeps the 512 bytes.
     */
    @Test
    void aGrubMbrIsRawAndGrows() throws Exception {
        String file = "grub_mbr.raw";
        Path image = Samples.qemu(file, dir);
        Files.copy(image, dir.resolve("original.raw"));
        assertInfoAsQemu(file);
        ProcessRunner.Result r = Diskplan.run(dir, "resize", "-f", "raw", file, "+1M");
        assertThat(r.exitCode()).as(r.describe()).isZero();
        JsonNode q = Json.object(Qemu.img(dir, "info", "--output=json", "-f", "raw", file));
        assertThat(q.get("virtual-size").asLong()).isEqualTo(512 + (1 << 20));
        ProcessRunner.Result cmp = Qemu.img(dir, "compare", "-f", "raw", "-F", "raw", "original.raw", file);
        assertThat(cmp.stdout()).as(cmp.describe()).contains("Images are identical");
        ProcessRunner.Result io = ProcessRunner.of(List.of("qemu-io", "-f", "raw", "-c", "read -P 0 512 1M", file))
                .in(dir).run();
        assertThat(io.stdout()).as(io.describe()).doesNotContain("failed");
    }

    /** DiskPlan's info --output=json, after checking it holds every key of qemu-img's with the same value. */
    private JsonNode assertInfoAsQemu(String file) {
        ProcessRunner.Result ours = Diskplan.run(dir, "info", "--output=json", file);
        ProcessRunner.Result qemu = Qemu.img(dir, "info", "--output=json", file);
        assertThat(ours.exitCode()).as(ours.describe()).isZero();
        assertThat(qemu.exitCode()).as(qemu.describe()).isZero();
        JsonNode d = Json.object(ours);
        JsonNode q = Json.object(qemu);
        SoftAssertions soft = new SoftAssertions();
        q.fieldNames().forEachRemaining(key -> soft.assertThat(d.get(key))
                .as(key + "\n" + ours.describe() + "\n" + qemu.describe()).isEqualTo(q.get(key)));
        soft.assertAll();
        return d;
    }

    private static JsonNode field(JsonNode info, String name) {
        for (JsonNode f : info.get("fields")) {
            if (f.get("name").asText().equals(name)) {
                return f;
            }
        }
        throw new AssertionError("no field " + name + " in " + info.get("fields"));
    }

    /** plan and resize (with and without -f) refuse in one line naming {@code words}; the file is unchanged. */
    private void refusedUnchanged(Path image, String words, String size) throws Exception {
        String file = image.getFileName().toString();
        Images.Snapshot before = Images.Snapshot.of(image);
        for (List<String> args : List.of(List.of("plan", file, size), List.of("resize", file, size),
                List.of("resize", "--shrink", file, "512K"))) {
            ProcessRunner.Result r = Diskplan.run(dir, args);
            String ctx = String.join(" ", args) + "\n" + r.describe();
            assertThat(r.exitCode()).as(ctx).isEqualTo(1);
            assertThat(r.stderr().lines().toList()).as("one line\n" + ctx).hasSize(1);
            assertThat(r.stderr()).as(ctx).startsWith("diskplan: ");
            if (!args.contains("--shrink")) {
                assertThat(r.stderr()).as(ctx).contains(words);
            }
            noStackTrace(r);
            assertThat(before.difference()).as("unchanged\n" + ctx).isNull();
            assertThat(Diskplan.journalOf(image)).as(ctx).doesNotExist();
        }
    }

    private static void noStackTrace(ProcessRunner.Result r) {
        assertThat(r.stdout() + r.stderr()).as(r.describe()).doesNotContain("Exception").doesNotContain("\tat ")
                .doesNotContain("OutOfMemory");
    }
}
