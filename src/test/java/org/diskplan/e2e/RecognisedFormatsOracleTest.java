package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Formats DiskPlan recognises but does not resize, and compressed files and archives: a resize
 * without -f is refused with one line on stderr, exit status 1, the file byte for byte (and
 * mtime) unchanged; an archive is refused even with -f raw. Where qemu knows the format,
 * {@code info --output=json} reports every key {@code qemu-img info --output=json} reports, with
 * the same value; for an archive (raw to qemu) the virtual size agrees. Besides DiskPlan's own
 * samples, qemu's iotest images made by the formats' tools ({@link Samples}).
 */
@RequiresOracle({"qemu-img", "qemu-io"})
class RecognisedFormatsOracleTest {
    /** Fixtures shared with format-probe's unit tests: archives made by the real tools, a seSparse extent. */
    static final String FIXTURES = "format-probe/src/test/resources/org/diskplan/probe/recognised";

    @TempDir
    Path dir;

    /**
     * @param name      shown in the report
     * @param file      the image to resize; {@code info} compares {@code infoFile}
     * @param infoFile  what qemu-img opens for the comparison (a seSparse extent: its descriptor)
     * @param qemuKnows whether qemu-img names the format (else it takes the file for raw)
     * @param refusal   the start of the one line of the refusal, after "diskplan: "
     */
    record Case(String name, String file, String infoFile, boolean qemuKnows, String refusal, List<List<String>> make) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Case sample(String format, String size, String options, String refusal) {
        String file = "s." + format;
        List<String> make = new ArrayList<>(List.of("diskplan", "sample", format, file, size));
        if (!options.isEmpty()) {
            make.addAll(List.of("-o", options));
        }
        return new Case(format + " " + size + (options.isEmpty() ? "" : " " + options), file, file, true, refusal,
                List.of(make));
    }

    static Case fixture(String name, String refusal) {
        return new Case(name, name, name, false, "'" + name + "' " + refusal, List.of(List.of("fixture", name)));
    }

    static Stream<Case> cases() {
        String readOnly = "is a %s image, which qemu reads but never writes";
        return Stream.of(
                sample("parallels", "100M", "", "DiskPlan cannot resize Parallels images"),
                sample("parallels", "1000000000", "cluster_size=64K", "DiskPlan cannot resize Parallels images"),
                new Case("parallels by qemu-img with data", "q.parallels", "q.parallels", true,
                        "DiskPlan cannot resize Parallels images", List.of(
                        List.of("qemu-img", "create", "-q", "-f", "parallels", "q.parallels", "64M"),
                        List.of("qemu-io", "-f", "parallels", "-c", "write -P 0x5a 1M 3M", "q.parallels"))),
                sample("bochs", "100M", "", "'s.bochs' " + readOnly.formatted("Bochs")),
                sample("bochs", "3000000000", "", "'s.bochs' " + readOnly.formatted("Bochs")),
                sample("cloop", "10M", "", "'s.cloop' " + readOnly.formatted("cloop")),
                sample("cloop", "1000000", "block_size=4K", "'s.cloop' " + readOnly.formatted("cloop")),
                sample("dmg", "100M", "", "'s.dmg' " + readOnly.formatted("DMG")),
                sample("dmg", "1000000000", "", "'s.dmg' " + readOnly.formatted("DMG")),
                new Case("vmdk seSparse extent", "se-sesparse.vmdk", "se.vmdk", true,
                        "'se-sesparse.vmdk' " + readOnly.formatted("VMDK seSparse extent"),
                        List.of(List.of("fixture", "se-sesparse.vmdk.gz"), List.of("fixture", "se.vmdk"))),
                fixture("t.img.gz", "is a gzip-compressed file; decompress it first"),
                fixture("t.img.xz", "is an xz-compressed file; decompress it first"),
                fixture("t.img.bz2", "is a bzip2-compressed file; decompress it first"),
                fixture("t.img.zst", "is a zstd-compressed file; decompress it first"),
                fixture("t.zip", "is a zip archive; extract the image from it first"),
                fixture("t.tar", "is a tar archive; extract the image from it first"),
                fixture("t.7z", "is a 7z archive; extract the image from it first"),
                // qemu's iotest samples (Samples): images the format's own tools made
                real("empty.bochs", "'empty.bochs' " + readOnly.formatted("Bochs")),
                real("parallels-v1", "DiskPlan cannot resize Parallels images"),
                real("parallels-v2", "DiskPlan cannot resize Parallels images"),
                real("parallels-with-bitmap", "DiskPlan cannot resize Parallels images"),
                real("simple-dmg.dmg", "'simple-dmg.dmg' " + readOnly.formatted("DMG")),
                real("simple-pattern.cloop", "'simple-pattern.cloop' " + readOnly.formatted("cloop")));
    }

    /** One of qemu's iotest sample images, which qemu-img names. */
    static Case real(String name, String refusal) {
        return new Case("qemu sample " + name, name, name, true, refusal, List.of(List.of("qemu-sample", name)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void refusedInOneLineUnchangedAndShownAsQemuShowsIt(Case c) throws IOException {
        for (List<String> step : c.make()) {
            make(step);
        }
        Path image = dir.resolve(c.file());
        Images.setOldMtime(image);
        Images.Snapshot before = Images.Snapshot.of(image);

        List<List<String>> resizes = new ArrayList<>(List.of(List.of("resize", c.file(), "+1M"),
                List.of("resize", "--shrink", c.file(), "512K")));
        if (!c.qemuKnows()) {
            resizes.add(List.of("resize", "-f", "raw", c.file(), "+1M"));
            resizes.add(List.of("plan", c.file(), "+1M"));
        }
        SoftAssertions soft = new SoftAssertions();
        for (List<String> args : resizes) {
            ProcessRunner.Result r = Diskplan.run(dir, args);
            String ctx = "\n" + String.join(" ", args) + "\n" + r.describe();
            soft.assertThat(r.exitCode()).as("refused" + ctx).isEqualTo(1);
            soft.assertThat(r.stdout()).as("nothing on stdout" + ctx).isEmpty();
            soft.assertThat(r.stderr().lines().toList()).as("one line on stderr" + ctx).hasSize(1);
            soft.assertThat(r.stderr()).as("the refusal" + ctx).startsWith("diskplan: ");
            if (args.size() == 3) {
                soft.assertThat(r.stderr()).as("the refusal" + ctx).startsWith("diskplan: " + c.refusal());
            }
            soft.assertThat(before.difference()).as("bytes, length and mtime unchanged" + ctx).isNull();
            soft.assertThat(Diskplan.journalOf(image)).as("no journal left" + ctx).doesNotExist();
        }

        ProcessRunner.Result ours = Diskplan.run(dir, "info", "--output=json", c.infoFile());
        ProcessRunner.Result qemu = Qemu.img(dir, "info", "--output=json", "-U", c.infoFile());
        soft.assertThat(ours.exitCode()).as(ours.describe()).isZero();
        soft.assertThat(qemu.exitCode()).as(qemu.describe()).isZero();
        if (ours.exitCode() == 0 && qemu.exitCode() == 0) {
            JsonNode d = Json.object(ours);
            JsonNode q = Json.object(qemu);
            if (c.qemuKnows()) {
                q.fieldNames().forEachRemaining(key -> soft.assertThat(d.get(key))
                        .as(key + "\n" + ours.describe() + "\n" + qemu.describe()).isEqualTo(q.get(key)));
            } else {
                soft.assertThat(q.get("format").asText()).as("qemu-img takes it for raw").isEqualTo("raw");
                soft.assertThat(d.get("format").asText()).as("DiskPlan names it").isNotEqualTo("raw");
                soft.assertThat(d.get("virtual-size")).as("virtual-size").isEqualTo(q.get("virtual-size"));
            }
            long pos = 0;
            for (JsonNode r : d.get("regions")) {
                soft.assertThat(r.get("offset").asLong()).as("regions are contiguous at " + pos).isEqualTo(pos);
                pos = r.get("offset").asLong() + r.get("length").asLong();
            }
            soft.assertThat(pos).as("regions cover the file").isEqualTo(Files.size(dir.resolve(c.infoFile())));
            soft.assertThat(d.get("fields").size()).as("header fields").isPositive();
        }
        soft.assertAll();
    }

    private void make(List<String> step) throws IOException {
        switch (step.get(0)) {
            case "diskplan" -> {
                ProcessRunner.Result r = Diskplan.run(dir, step.subList(1, step.size()));
                assertThat(r.exitCode()).as(r.describe()).isZero();
            }
            case "fixture" -> {
                String name = step.get(1);
                Path from = Diskplan.jar().getParent().getParent().getParent().resolve(FIXTURES).resolve(name);
                try (InputStream in = Files.newInputStream(from)) {
                    boolean gunzip = name.endsWith(".vmdk.gz");
                    Files.write(dir.resolve(gunzip ? name.substring(0, name.length() - 3) : name),
                            gunzip ? new GZIPInputStream(in).readAllBytes() : in.readAllBytes());
                }
            }
            case "qemu-sample" -> {
                try {
                    Samples.qemu(step.get(1), dir);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException(e);
                }
            }
            default -> {
                ProcessRunner.Result r = ProcessRunner.of(step).in(dir).run();
                assertThat(r.exitCode()).as(r.describe()).isZero();
            }
        }
    }
}
