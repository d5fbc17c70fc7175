package org.diskplan.app.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line in process; the qemu-img comparison lives in the e2e module. */
class DiskPlanCliTest {
    @TempDir
    Path dir;

    private record Run(int status, String out, String err) {
    }

    private static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = DiskPlanCli.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private Path raw(long length) throws Exception {
        Path f = dir.resolve("a.raw");
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(length);
        }
        return f;
    }

    @Test
    void resizeGrowsAndSaysSo() throws Exception {
        Path f = raw(1 << 20);
        Run r = run("resize", "-f", "raw", f.toString(), "+1M");
        assertThat(r.status()).isZero();
        assertThat(r.out()).isEqualTo("Image resized.\n");
        assertThat(r.err()).isEmpty();
        assertThat(Files.size(f)).isEqualTo(2 << 20);
    }

    @Test
    void negativeSizeNeedsNoDoubleDash() throws Exception {
        Path f = raw(2 << 20);
        Run r = run("resize", "-q", "--shrink", "-f", "raw", f.toString(), "-1M");
        assertThat(r.status()).isZero();
        assertThat(r.out()).isEmpty();
        assertThat(Files.size(f)).isEqualTo(1 << 20);
    }

    @Test
    void usageErrorsExitTwo() throws Exception {
        assertThat(run("resize", "a.raw").status()).isEqualTo(2);
        assertThat(run("resize", "a.raw").err()).startsWith("diskplan: Expecting image file name and size");
        Path f = raw(1 << 20);
        assertThat(run("resize", "--bogus", f.toString(), "1G").status()).isEqualTo(2);
        assertThat(run("resize", f.toString(), "extra", "1G").status()).isEqualTo(2);
    }

    @Test
    void badPreallocationComesBeforeABadSize() throws Exception {
        Path f = raw(1 << 20);
        Run r = run("resize", "-f", "raw", "--preallocation=bogus", f.toString(), "1.1");
        assertThat(r.status()).isEqualTo(1);
        assertThat(r.err()).isEqualTo("diskplan: Invalid preallocation mode 'bogus'\n");
    }

    @Test
    void unknownDriver() throws Exception {
        Path f = raw(1 << 20);
        Run r = run("resize", "-f", "foo", f.toString(), "2M");
        assertThat(r.err()).isEqualTo("diskplan: Could not open '" + f + "': Unknown driver 'foo'\n");
        assertThat(r.status()).isEqualTo(1);
    }

    @Test
    void planWritesNothingAndMarksTheCommit() throws Exception {
        Path f = raw(1 << 20);
        byte[] before = Files.readAllBytes(f);
        Run r = run("plan", "-f", "raw", "--preallocation=full", f.toString(), "2M");
        assertThat(r.status()).isZero();
        assertThat(r.out()).contains("zero", "<- commit", "Nothing was written.");
        assertThat(Files.readAllBytes(f)).isEqualTo(before);
    }

    @Test
    void planShrinkNamesTheDataPastTheNewEndAsTheWindowDoes() throws Exception {
        Path q = dir.resolve("d.qcow2");
        for (String[] cmd : new String[][] {{"qemu-img", "create", "-q", "-f", "qcow2", q.toString(), "64M"},
                {"qemu-io", "-f", "qcow2", "-c", "write -P 0x5a 52M 3M", q.toString()}}) {
            assertThat(new ProcessBuilder(cmd).inheritIO().start().waitFor()).isZero();
        }
        Run cut = run("plan", "--shrink", q.toString(), "48M");
        assertThat(cut.status()).as(cut.err()).isZero();
        assertThat(cut.out()).contains("  3 MiB of data lies past the new end (at 52 MiB \u2026 55 MiB, bytes "
                + "54,525,952 to 57,671,679) and will be lost.\nNothing was written.");
        assertThat(run("plan", "--shrink", q.toString(), "56M").out())
                .contains("No allocated data lies past the new end: the image maps no data there.");
        assertThat(run("plan", "--shrink", raw(4 << 20).toString(), "1M").out())
                .contains("DiskPlan cannot tell which of these bytes hold data, so all 3 MiB count as lost.");
        assertThat(run("plan", q.toString(), "+1M").out()).doesNotContain("past the new end");
    }

    @Test
    void infoJsonCarriesQemusKeys() throws Exception {
        Path f = raw(1000);
        Run r = run("info", "--output=json", "-f", "raw", f.toString());
        assertThat(r.status()).isZero();
        assertThat(r.out()).contains("\"virtual-size\" : 1024", "\"format\" : \"raw\"", "\"file-size\" : 1000");
    }

    @Test
    void infoJsonSaysDirtyForAVhdxWhoseLogNeedsReplay() throws Exception {
        Path vhdx = dir.resolve("live-log.vhdx");
        new org.diskplan.probe.vhdx.VhdxSampleWriter().write(vhdx, 64L << 20, java.util.Map.of("block_size", "1M"));
        Run clean = run("info", "--output=json", vhdx.toString());
        assertThat(clean.status()).as(clean.err()).isZero();
        assertThat(clean.out()).contains("\"dirty-flag\" : false");
        // a resize stopped right after its header commit: the header's log GUID names a live entry
        org.diskplan.planner.ResizePlan plan = org.diskplan.planner.ResizeSession.planFile(vhdx,
                java.util.Optional.empty(), p -> new org.diskplan.planner.ResizeRequest(512L << 20, false,
                        org.diskplan.abi.Preallocation.OFF));
        try {
            org.diskplan.planner.apply.PlanApplier.apply(vhdx, plan,
                    org.diskplan.planner.apply.ApplyOptions.DEFAULT.withAfterStep(step -> {
                        if (step == plan.commitIndex()) {
                            throw new IllegalStateException("stop");
                        }
                    }));
            throw new AssertionError("the applier did not reach the commit");
        } catch (IllegalStateException expected) {
            // stopped with the log live
        }
        Files.deleteIfExists(org.diskplan.planner.apply.UndoJournal.pathFor(vhdx));
        Run live = run("info", "--output=json", vhdx.toString());
        assertThat(live.status()).as(live.err()).isZero();
        assertThat(live.out()).contains("\"dirty-flag\" : true", "log needs replay");
    }

    @Test
    void aFixedVhdIsNeverResizedAsRaw() throws Exception {
        Path f = raw(1 << 20);
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.seek((1 << 20) - 512);
            raf.write("conectix".getBytes(StandardCharsets.US_ASCII));
        }
        byte[] before = Files.readAllBytes(f);
        Run asRaw = run("resize", "-f", "raw", f.toString(), "+1M");
        assertThat(asRaw.status()).isEqualTo(1);
        assertThat(asRaw.err()).contains("VHD", "not raw", "conectix");
        Run detected = run("resize", f.toString(), "+1M");
        assertThat(detected.status()).isEqualTo(1);
        assertThat(detected.err()).contains("VHD");
        assertThat(Files.readAllBytes(f)).isEqualTo(before);
    }

    @Test
    void whatTheQuickPathDoesNotReadStillGetsPicoclisWords() throws Exception {
        Path f = raw(1 << 20);
        byte[] before = Files.readAllBytes(f);
        Run twice = run("resize", "-f", "raw", "-f", "raw", f.toString(), "2M");
        assertThat(twice.status()).isEqualTo(2);
        assertThat(twice.err()).startsWith("diskplan: option '-f' (FMT) should be specified only once");
        Run badEnum = run("info", "--output=JSON", f.toString());
        assertThat(badEnum.status()).isEqualTo(2);
        assertThat(badEnum.err()).contains("--output", "JSON");
        Run help = run("resize", "--help");
        assertThat(help.status()).isZero();
        assertThat(help.out()).contains("[-q] --each SIZE", "--each=SIZE");
        assertThat(Files.readAllBytes(f)).isEqualTo(before);
    }

    @Test
    void theHelpOfPlanAndResizeListsEachFormatOnce() {
        java.util.List<String> names = org.diskplan.planner.Planners.resizable().stream()
                .map(org.diskplan.abi.ImageFormat::qemuName).distinct().toList();
        assertThat(names).contains("raw", "qcow2", "vmdk", "vpc", "vhdx", "vdi");
        for (String command : new String[] {"resize", "plan"}) {
            Run help = run(command, "--help");
            assertThat(help.status()).isZero();
            String list = help.out().substring(help.out().indexOf("Formats DiskPlan resizes:"));
            java.util.List<String> listed = list.lines().skip(1).filter(l -> l.startsWith("  "))
                    .map(l -> l.strip().substring(0, l.strip().indexOf(':'))).toList();
            assertThat(listed).as(command + " --help").containsExactlyInAnyOrderElementsOf(names);
        }
    }

    @Test
    void eachResizesEveryFileAndSumsUp() throws Exception {
        Path a = raw(1 << 20);
        Path b = dir.resolve("b.raw");
        Files.write(b, new byte[1 << 20]);
        Run r = run("resize", "-f", "raw", "--each", "+1M", a.toString(), b.toString());
        assertThat(r.status()).isZero();
        assertThat(r.out()).isEqualTo("2 images resized.\n");
        assertThat(Files.size(a)).isEqualTo(2 << 20);
        assertThat(Files.size(b)).isEqualTo(2 << 20);
        Run shrink = run("resize", "-q", "--shrink", "-f", "raw", "--each", "-1M", a.toString(), b.toString());
        assertThat(shrink.status()).isZero();
        assertThat(shrink.out()).isEmpty();
        assertThat(Files.size(a)).isEqualTo(1 << 20);
    }

    @Test
    void eachRefusesWhatItCannotDo() throws Exception {
        Path a = raw(1 << 20);
        byte[] before = Files.readAllBytes(a);
        assertThat(run("resize", "--each", "+1M").status()).isEqualTo(2);
        Run json = run("resize", "--output=json", "--each", "+1M", a.toString());
        assertThat(json.status()).isEqualTo(2);
        assertThat(json.err()).startsWith("diskplan: --each prints human output only");
        Run missing = run("resize", "-f", "raw", "--each", "+1M", a.toString(), dir.resolve("nope.raw").toString());
        assertThat(missing.status()).isEqualTo(1);
        assertThat(missing.err()).contains("1 of 2 images resized; 1 failed", "nope.raw");
        assertThat(Files.size(a)).isEqualTo(2 << 20);
        Files.write(a, before);
        Run twice = run("plan", "--each", "+1M", a.toString(), a.toString());
        assertThat(twice.status()).isEqualTo(2);
        assertThat(Files.readAllBytes(a)).isEqualTo(before);
    }

    @Test
    void theReadTimeoutIsWholeSecondsSixtyByDefaultZeroForNone() {
        assertThat(DiskPlanCli.readTimeout(null)).isEqualTo(java.time.Duration.ofSeconds(60));
        assertThat(DiskPlanCli.readTimeout(" 5 ")).isEqualTo(java.time.Duration.ofSeconds(5));
        assertThat(DiskPlanCli.readTimeout("0")).isEqualTo(java.time.Duration.ZERO);
        for (String bad : new String[] {"-1", "2.5", "ten", "99999999999999999999"}) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> DiskPlanCli.readTimeout(bad))
                    .hasMessage("Invalid DISKPLAN_READ_TIMEOUT '" + bad + "': expected whole seconds (0 waits for ever)");
        }
    }
}
