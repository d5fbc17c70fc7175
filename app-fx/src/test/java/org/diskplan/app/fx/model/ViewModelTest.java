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
    void badSizeGivesTheCliWords() throws Exception {
        image.open(raw(1L << 20));
        resize.sizeTextProperty().set("1.1");
        assertThat(resize.errorProperty().get()).isEqualTo(SizeArgument.INVALID);
        assertThat(resize.hintProperty().get()).isEqualTo(SizeArgument.SUFFIX_HINT);
        assertThat(resize.planProperty().get()).isNull();
        resize.sizeTextProperty().set("-1M");
        assertThat(resize.errorProperty().get()).isEqualTo("New image size must be positive");
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
        assertThat(resize.errorProperty().get()).isEqualTo("The new size must be a multiple of 512");
        assertThat(resize.planProperty().get()).isNull();
        image.open(raw(1L << 20));
        assertThat(resize.preallocationProperty().get()).isEqualTo(org.diskplan.abi.Preallocation.OFF);
    }

    @Test
    void shrinkNeedsTheBox() throws Exception {
        image.open(raw(2L << 20));
        resize.sizeTextProperty().set("1M");
        assertThat(resize.errorProperty().get()).isEqualTo("Use the --shrink option to perform a shrink operation.");
        assertThat(resize.planProperty().get()).isNull();
        resize.shrinkProperty().set(true);
        assertThat(resize.errorProperty().get()).isEmpty();
        assertThat(resize.hintProperty().get()).isEqualTo(Planners.SHRINK_WARNING);
        assertThat(resize.planProperty().get().newVirtualSize()).isEqualTo(1L << 20);
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
        assertThat(resize.errorProperty().get()).isEqualTo("Unsupported preallocation mode: metadata");
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
        assertThat(diff.diffProperty().get().after().bytes()).isEqualTo(
                ((org.diskplan.planner.ResizePatch.Write) plan.patches().get(commit)).data());
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
}
