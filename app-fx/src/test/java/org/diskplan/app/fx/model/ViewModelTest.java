package org.diskplan.app.fx.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import org.diskplan.abi.Preallocation;
import org.diskplan.planner.Planners;
import org.diskplan.planner.SizeArgument;
import org.diskplan.probe.HeaderField;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The view models on plain JUnit: no toolkit, every job run on the calling thread. */
class ViewModelTest {
    @TempDir
    Path dir;

    private ImageModel image;
    private ResizeModel resize;

    @BeforeEach
    void models() {
        Workers w = Workers.direct();
        image = new ImageModel(w, new RecentFiles(dir.resolve("config/recent-files"), w));
        resize = new ResizeModel(w);
        image.imageProperty().addListener((o, a, b) -> resize.setImage(b));
    }

    private Path raw(long length) throws Exception {
        Path f = dir.resolve("disk.raw");
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(length);
            raf.write("hello".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        }
        return f;
    }

    @Test
    void opensAndTitlesAndRemembers() throws Exception {
        Path f = raw(1L << 20);
        image.open(f);
        assertThat(image.image()).isNotNull();
        assertThat(image.titleProperty().get()).isEqualTo("DiskPlan — disk.raw");
        assertThat(image.summary()).extracting(ImageModel.SummaryRow::label).contains("Format", "Virtual size");
        assertThat(image.recent().items()).containsExactly(f.toAbsolutePath());
        assertThat(RecentFiles.read(dir.resolve("config/recent-files"))).containsExactly(f.toAbsolutePath());
    }

    @Test
    void missingFileSaysSo() {
        image.open(dir.resolve("nope.raw"));
        assertThat(image.image()).isNull();
        assertThat(image.messageProperty().get()).contains("No such file or directory");
    }

    @Test
    void selectingAFieldReadsItsBytes() throws Exception {
        image.open(new Samples("vpc", "dynamic").write());
        HeaderField first = image.image().fields().get(0);
        image.selectedFieldProperty().set(first);
        HexWindow hex = image.hexProperty().get();
        assertThat(hex.size()).isPositive();
        assertThat(hex.marked().cardinality()).isEqualTo(Math.min(first.length(), hex.size()));
    }

    @Test
    void badSizeGivesTheWindowsWordsNotTheCommandLines() throws Exception {
        image.open(raw(1L << 20));
        resize.sizeTextProperty().set("1.5");
        assertThat(resize.errorProperty().get()).isEqualTo("\u201c1.5\u201d needs a unit: a fraction of a byte is "
                + "not a size (try 1.5G).").isNotEqualTo(SizeArgument.INVALID);
        assertThat(resize.hintProperty().get()).isEqualTo(WindowWords.SIZE_HELP).contains("20G", "+5G")
                .doesNotContain("\n");
        assertThat(resize.planProperty().get()).isNull();
        resize.sizeTextProperty().set("99999999E");
        assertThat(resize.errorProperty().get()).contains("too large");
        resize.sizeTextProperty().set("-1M");
        assertThat(resize.errorProperty().get()).isEqualTo("The new size must be larger than zero.");
    }

    @Test
    void thePreallocationChoicesAndTheSizeRuleComeFromThePlanner() throws Exception {
        image.open(raw(1L << 20));
        assertThat(resize.modes()).containsExactly(org.diskplan.abi.Preallocation.OFF,
                org.diskplan.abi.Preallocation.FALLOC, org.diskplan.abi.Preallocation.FULL);
        image.open(new Samples("qcow2", "").write());
        assertThat(resize.modes()).containsExactly(org.diskplan.abi.Preallocation.values());
        resize.preallocationProperty().set(org.diskplan.abi.Preallocation.METADATA);
        resize.sizeTextProperty().set("100000001");
        // refused as the CLI refuses it, before anything is planned
        assertThat(resize.errorProperty().get()).isEqualTo("The new size must be a multiple of 512.");
        assertThat(resize.planProperty().get()).isNull();
        image.open(raw(1L << 20));
        assertThat(resize.preallocationProperty().get()).isEqualTo(org.diskplan.abi.Preallocation.OFF);
    }

    @Test
    void shrinkNeedsTheBox() throws Exception {
        image.open(raw(2L << 20));
        resize.sizeTextProperty().set("1M");
        assertThat(resize.errorProperty().get()).isEqualTo("1 MiB is smaller than the image (2 MiB). Tick Shrink to "
                + "make the image smaller.");
        assertThat(resize.planProperty().get()).isNull();
        resize.shrinkProperty().set(true);
        assertThat(resize.errorProperty().get()).isEmpty();
        assertThat(resize.hintProperty().get()).isEqualTo("Shrinking deletes the last 1 MiB of the disk (from byte "
                + "1,048,576 on): make sure nothing you need is stored there.").isNotEqualTo(Planners.SHRINK_WARNING);
        assertThat(resize.planProperty().get().newVirtualSize()).isEqualTo(1L << 20);
        // a new image (as after the apply) unticks the box
        image.open(raw(3L << 20));
        assertThat(resize.shrinkProperty().get()).isFalse();
        assertThat(resize.sizeTextProperty().get()).isEmpty();
    }

    @Test
    void growPlansAndQuickButtonsAdd() throws Exception {
        image.open(raw(1L << 20));
        resize.sizeTextProperty().set("+1M");
        assertThat(resize.planProperty().get().newVirtualSize()).isEqualTo(2L << 20);
        resize.add(1L << 30);
        assertThat(resize.sizeTextProperty().get()).isEqualTo("1026M");
        resize.twice();
        assertThat(resize.sizeTextProperty().get()).isEqualTo("2052M");
        resize.preallocationProperty().set(Preallocation.METADATA);
        assertThat(resize.errorProperty().get()).startsWith("This format cannot preallocate that way");
    }

    @Test
    void applyGrowsAndMarksChangedFields() throws Exception {
        Path f = raw(1L << 20);
        image.open(f);
        ApplyModel apply = new ApplyModel(Workers.direct(), image);
        resize.sizeTextProperty().set("4M");
        apply.apply(resize.planProperty().get());
        assertThat(Files.size(f)).isEqualTo(4L << 20);
        assertThat(image.image().virtualSize()).isEqualTo(4L << 20);
        assertThat(image.messageProperty().get()).isEqualTo("Image resized.");
        assertThat(apply.runningProperty().get()).isFalse();
    }

    @Test
    void cancelBeforeCommitRollsBack() throws Exception {
        Path f = raw(1L << 20);
        byte[] original = Files.readAllBytes(f);
        image.open(f);
        ApplyModel apply = new ApplyModel(Workers.direct(), image);
        resize.preallocationProperty().set(Preallocation.FULL);
        resize.sizeTextProperty().set("8M");
        apply.setBeforeStep(k -> apply.cancel());
        apply.apply(resize.planProperty().get());
        assertThat(Files.readAllBytes(f)).isEqualTo(original);
        assertThat(apply.statusProperty().get()).contains("rolled back");
    }

    @Test
    void timelineGeometry() throws Exception {
        image.open(raw(1L << 20));
        resize.preallocationProperty().set(Preallocation.FULL);
        resize.sizeTextProperty().set("8M");
        TimelineModel t = new TimelineModel();
        t.setWidth(480);
        t.planProperty().set(resize.planProperty().get());
        assertThat(t.steps()).isEqualTo(2);
        assertThat(t.kind(0)).isEqualTo(TimelineModel.Kind.ZERO);
        assertThat(t.kind(1)).isEqualTo(TimelineModel.Kind.LENGTH);
        assertThat(t.commit()).isZero();
        assertThat(t.stepAt(t.x(1) + 1)).isEqualTo(1);
        assertThat(t.fileEndAfter(0)).isEqualTo(8L << 20);
        assertThat(t.describe(0)).contains("zero", "0x100000");
        assertThat(t.zoomProperty().get()).isEqualTo(TimelineModel.FIT_SLOT / TimelineModel.SLOT);
        t.zoomBy(0.5, 0);
        assertThat(t.zoomProperty().get()).isEqualTo(TimelineModel.FIT_SLOT / TimelineModel.SLOT / 2);
        t.select(1);
        assertThat(t.x(1) + t.slot()).isLessThanOrEqualTo(480);
    }

    @Test
    void patchDiffShowsBeforeAndAfter() throws Exception {
        Path f = new Samples("qcow2", "v3").write();
        image.open(f);
        resize.sizeTextProperty().set("+1G");
        var plan = resize.planProperty().get();
        int commit = plan.commitIndex();
        PatchDiffModel diff = new PatchDiffModel(Workers.direct());
        diff.show(f, plan, commit);
        byte[] written = ((org.diskplan.planner.ResizePatch.Write) plan.patches().get(commit)).data();
        var after = diff.diffProperty().get().after();
        // the pane opens at the row of the first changed byte
        int from = (int) (after.offset() - plan.patches().get(commit).offset());
        assertThat(from % 16).isZero();
        assertThat(after.bytes()).isEqualTo(java.util.Arrays.copyOfRange(written, from,
                Math.min(written.length, from + PatchDiff.MAX)));
        assertThat(diff.diffProperty().get().before().marked().cardinality()).isPositive();
        diff.show(f, plan, plan.finalStep());
        assertThat(diff.diffProperty().get()).isEqualTo(PatchDiff.EMPTY);
    }

    @Test
    void samplesComeFromTheWriters() throws Exception {
        assertThat(Samples.available()).extracting(Samples::format).contains("raw", "vpc");
        Path p = new Samples("vpc", "fixed").write();
        assertThat(Files.size(p)).isPositive();
        assertThat(Samples.isSample(p)).isTrue();
        assertThat(Samples.isSample(raw(1L << 20))).isFalse();
        image.open(p);
        assertThat(image.image()).isNotNull();
        assertThat(image.recent().items()).as("a sample goes at exit: not a recent file").isEmpty();
        assertThat(SizeText.grammar(20L << 30)).isEqualTo("20G");
        assertThat(SizeText.grammar(1536)).isEqualTo("1536");
    }

    @Test
    void beforeIsTheFileAsTheEarlierStepsLeaveIt() throws Exception {
        byte[] file = new byte[64];
        java.util.Arrays.fill(file, (byte) 0x11);
        java.util.List<org.diskplan.planner.ResizePatch> steps = java.util.List.of(
                new org.diskplan.planner.ResizePatch.Write(16, new byte[] {1, 2, 3, 4}, "a", org.diskplan.probe.RegionKind.HEADER),
                new org.diskplan.planner.ResizePatch.ZeroFill(18, 4, false, "z", org.diskplan.probe.RegionKind.DATA),
                org.diskplan.planner.ResizePatch.Write.append(64, new byte[] {9, 9}, "tail", org.diskplan.probe.RegionKind.DATA),
                new org.diskplan.planner.ResizePatch.Write(14, new byte[12], "b", org.diskplan.probe.RegionKind.HEADER));
        PatchDiff.Bytes bytes = new PatchDiff.Bytes() {
            @Override
            public long length(int upTo) {
                return upTo > 2 ? 66 : 64;
            }

            @Override
            public byte[] read(int upTo, long from, int count) {
                byte[] out = new byte[count];
                for (int i = 0; i < count; i++) {
                    long at = from + i;
                    byte b = at < 64 ? file[(int) at] : 0;
                    for (int j = 0; j < upTo; j++) {
                        var p = steps.get(j);
                        if (at >= p.offset() && at < p.offset() + p.length()) {
                            b = p instanceof org.diskplan.planner.ResizePatch.Write w ? w.data()[(int) (at - p.offset())] : 0;
                        }
                    }
                    out[i] = b;
                }
                return out;
            }
        };
        // step 3 writes zeros over 14..26: before it, 0x11 0x11 1 2 0 0 0 0 0x11...
        PatchDiff d = PatchDiff.of(bytes, steps.get(3), 3);
        assertThat(d.before().offset()).isEqualTo(14);
        assertThat(d.before().bytes()).containsExactly(0x11, 0x11, 1, 2, 0, 0, 0, 0, 0x11, 0x11, 0x11, 0x11);
        assertThat(d.before().marked().stream().toArray()).containsExactly(0, 1, 2, 3, 8, 9, 10, 11);
        // the real overlay on a file: the same answer through FileView
        Path f = dir.resolve("sixty-four");
        Files.write(f, file);
        try (var reader = org.diskplan.probe.FileImageReader.open(f)) {
            var view = new PatchDiff.FileView(reader, steps, 0);
            assertThat(view.read(3, 14, 12)).isEqualTo(bytes.read(3, 14, 12));
            assertThat(view.length(3)).isEqualTo(66);
            assertThat(view.read(3, 62, 4)).containsExactly(0x11, 0x11, 9, 9);
            PatchDiff viaFile = PatchDiff.of(view, steps.get(3), 3);
            assertThat(viaFile.before().bytes()).isEqualTo(d.before().bytes());
        }
        // the append's "before" lies past the end of the file: shown as missing
        PatchDiff append = PatchDiff.of(bytes, steps.get(2), 2);
        assertThat(append.before().bytes()).isEmpty();
        assertThat(append.before().missing()).isEqualTo(2);
    }

    @Test
    void theSameSizeIsANoOpWithNothingToApply() throws Exception {
        image.open(raw(1L << 20));
        resize.sizeTextProperty().set("1M");
        assertThat(resize.planProperty().get()).isNotNull();
        assertThat(resize.noOpProperty().get()).isTrue();
        assertThat(resize.noteProperty().get()).isEqualTo(WindowWords.NO_OP);
        resize.sizeTextProperty().set("2M");
        assertThat(resize.noOpProperty().get()).isFalse();
    }

    @Test
    void aReloadToPlanAgainKeepsTheTypedSizeAndShrink() throws Exception {
        Path f = raw(2L << 20);
        image.open(f);
        resize.shrinkProperty().set(true);
        resize.sizeTextProperty().set("-1M");
        assertThat(resize.planProperty().get().newVirtualSize()).isEqualTo(1L << 20);
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(4L << 20);
        }
        resize.keepRequestOnNextImage();
        image.reload();
        assertThat(resize.sizeTextProperty().get()).isEqualTo("-1M");
        assertThat(resize.shrinkProperty().get()).isTrue();
        assertThat(resize.planProperty().get().newVirtualSize()).isEqualTo(3L << 20);
        // only once: the next image clears it
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(5L << 20);
        }
        image.reload();
        assertThat(resize.sizeTextProperty().get()).isEmpty();
    }

    @Test
    void aFailedOpenKeepsTheImageThatWasOpen() throws Exception {
        Path f = raw(1L << 20);
        image.open(f);
        image.open(dir.resolve("nope.raw"));
        assertThat(image.image().path()).isEqualTo(f);
        assertThat(image.fileProperty().get()).isEqualTo(f);
        assertThat(image.titleProperty().get()).isEqualTo("DiskPlan \u2014 disk.raw");
        assertThat(image.openErrorProperty().get()).startsWith("Could not open nope.raw: ")
                .endsWith("The image you had open stays open.");
        image.open(f);
        assertThat(image.openErrorProperty().get()).isEmpty();
    }

    @Test
    void aProbeFailureNamesTheFieldAndItsOffset() {
        var e = new org.diskplan.probe.ProbeException(org.diskplan.abi.ErrorCode.PARSE_FAILED, "l1_table_offset",
                0x28, "the L1 table lies past the end of the file");
        assertThat(ImageModel.reason(e)).isEqualTo("the L1 table lies past the end of the file (field "
                + "l1_table_offset at offset 0x28)");
        assertThat(WindowWords.openFailed(Path.of("/x/d.qcow2"), ImageModel.reason(e), true)).isEqualTo(
                "Could not open d.qcow2: The L1 table lies past the end of the file (field l1_table_offset at "
                        + "offset 0x28). The image you had open stays open.");
        assertThat(ImageModel.reason(org.diskplan.probe.ProbeException.io("No such file or directory")))
                .isEqualTo("No such file or directory");
    }

    @Test
    void zoomingFromTheKeyboardKeepsTheSelectedStepInView() throws Exception {
        image.open(new Samples("qcow2", "v3").write());
        resize.sizeTextProperty().set("+10G");
        TimelineModel t = new TimelineModel();
        t.setWidth(200);
        t.planProperty().set(resize.planProperty().get());
        t.fit();
        int last = t.steps() - 1;
        t.select(last);
        for (int i = 0; i < 12; i++) {
            t.zoomKeepingSelection(1.5);
            assertThat(t.x(last)).as("zoom %d", i).isBetween(-1e-6, 200 - t.slot() + 1e-6);
        }
        assertThat(t.slot()).isGreaterThan(200.0 / t.steps());
        for (int i = 0; i < 12; i++) {
            t.zoomKeepingSelection(1 / 1.5);
            assertThat(t.x(last) + t.slot()).isLessThanOrEqualTo(200 + 1e-6);
        }
    }
}
