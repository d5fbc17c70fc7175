package org.diskplan.app.fx.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import javafx.beans.property.ObjectProperty;
import javafx.beans.property.ReadOnlyBooleanProperty;
import javafx.beans.property.ReadOnlyBooleanWrapper;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.beans.property.SimpleObjectProperty;
import javafx.collections.FXCollections;
import javafx.collections.ObservableList;
import javafx.collections.ObservableSet;
import org.diskplan.abi.ImageFormat;
import org.diskplan.planner.Planners;
import org.diskplan.planner.ResizeError;
import org.diskplan.planner.apply.Recovery;
import org.diskplan.probe.FileImageReader;
import org.diskplan.probe.HeaderField;
import org.diskplan.probe.ImageProber;
import org.diskplan.probe.LayoutRegion;
import org.diskplan.probe.PartialImage;
import org.diskplan.probe.ProbeException;
import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.ReadWatch;
import org.diskplan.probe.RegionKind;

/**
 * The open image: which file, what the probe found, the field selected in the
 * inspector with its bytes, the fields an apply changed, and the offer to recover
 * an interrupted resize. Probing and reading run through {@link Workers}.
 */
public final class ImageModel {
    public static final String APP = "DiskPlan";
    static final int HEX_MAX = 1024;

    private final Workers workers;
    private final Workers.Generation openGeneration = new Workers.Generation();
    private final Workers.Generation hexGeneration = new Workers.Generation();
    private final ReadOnlyObjectWrapper<Path> file = new ReadOnlyObjectWrapper<>(this, "file");
    private final ReadOnlyObjectWrapper<ProbedImage> image = new ReadOnlyObjectWrapper<>(this, "image");
    private final ReadOnlyObjectWrapper<PartialImage> damaged = new ReadOnlyObjectWrapper<>(this, "damaged");
    private final ReadOnlyStringWrapper damage = new ReadOnlyStringWrapper(this, "damage", "");
    private final ReadOnlyStringWrapper refusal = new ReadOnlyStringWrapper(this, "refusal", "");
    private final ReadOnlyObjectWrapper<HeaderField> badField = new ReadOnlyObjectWrapper<>(this, "badField");
    private final ReadOnlyStringWrapper badReason = new ReadOnlyStringWrapper(this, "badReason", "");
    private final ReadOnlyStringWrapper title = new ReadOnlyStringWrapper(this, "title", APP);
    private final ReadOnlyStringWrapper message = new ReadOnlyStringWrapper(this, "message", "");
    private final ReadOnlyStringWrapper openError = new ReadOnlyStringWrapper(this, "openError", "");
    private final ReadOnlyBooleanWrapper journalPresent = new ReadOnlyBooleanWrapper(this, "journalPresent");
    private final ReadOnlyBooleanWrapper busy = new ReadOnlyBooleanWrapper(this, "busy");
    private final ObjectProperty<HeaderField> selectedField = new SimpleObjectProperty<>(this, "selectedField");
    private final ReadOnlyObjectWrapper<HexWindow> hex = new ReadOnlyObjectWrapper<>(this, "hex", HexWindow.EMPTY);
    private final ObservableList<SummaryRow> summary = FXCollections.observableArrayList();
    private final ObservableSet<String> changedFields = FXCollections.observableSet();
    private final RecentFiles recent;

    /** One line of the summary card; {@code detail} is the tooltip (exact bytes). */
    public record SummaryRow(String label, String value, String detail) {
    }

    public ImageModel(Workers workers, RecentFiles recent) {
        this.workers = workers;
        this.recent = recent;
        selectedField.addListener((o, was, now) -> readHex(now));
    }

    public Workers workers() {
        return workers;
    }

    public RecentFiles recent() {
        return recent;
    }

    public ReadOnlyObjectProperty<Path> fileProperty() {
        return file.getReadOnlyProperty();
    }

    public ReadOnlyObjectProperty<ProbedImage> imageProperty() {
        return image.getReadOnlyProperty();
    }

    public ProbedImage image() {
        return image.get();
    }

    /**
     * A damaged image the probe could not finish: the fields it parsed before the error (shown
     * in the inspector, never resized); null when an image opened whole or none is open.
     */
    public ReadOnlyObjectProperty<PartialImage> damagedProperty() {
        return damaged.getReadOnlyProperty();
    }

    /** The banner for a damaged image (one the probe gave up on, or one flagged corrupt); empty if none. */
    public ReadOnlyStringProperty damageProperty() {
        return damage.getReadOnlyProperty();
    }

    /** Why the open image cannot be resized (no planner, damaged, refused by its planner); empty if it can. */
    public ReadOnlyStringProperty refusalProperty() {
        return refusal.getReadOnlyProperty();
    }

    /** The field the damage is in, when the probe or the planner names one that was read. */
    public ReadOnlyObjectProperty<HeaderField> badFieldProperty() {
        return badField.getReadOnlyProperty();
    }

    /** What is wrong with {@link #badFieldProperty()}, for its row. */
    public ReadOnlyStringProperty badReasonProperty() {
        return badReason.getReadOnlyProperty();
    }

    /** The fields to show: the probed image's, or those parsed of a damaged one. */
    public List<HeaderField> fields() {
        return shown().map(Shown::fields).orElse(List.of());
    }

    /** The layout to draw: the probed image's regions, or the structures parsed of a damaged one. */
    public List<LayoutRegion> regions() {
        return shown().map(Shown::regions).orElse(List.of());
    }

    /** The length of the file shown (probed or damaged), 0 when none. */
    public long fileSize() {
        return shown().map(Shown::fileSize).orElse(0L);
    }

    /** What the window shows of an image, probed whole or damaged. */
    private record Shown(Path path, List<HeaderField> fields, List<LayoutRegion> regions, long fileSize) {
    }

    /** The probed image, else the damaged one; empty when none is open. */
    private Optional<Shown> shown() {
        ProbedImage p = image.get();
        if (p != null) {
            return Optional.of(new Shown(p.path(), p.fields(), p.regions(), p.fileSize()));
        }
        PartialImage d = damaged.get();
        return d == null ? Optional.empty() : Optional.of(new Shown(d.path(), d.fields(), d.regions(), d.fileSize()));
    }

    public ReadOnlyStringProperty titleProperty() {
        return title.getReadOnlyProperty();
    }

    public ReadOnlyStringProperty messageProperty() {
        return message.getReadOnlyProperty();
    }

    /** The banner after a failed open (empty when the last open worked). */
    public ReadOnlyStringProperty openErrorProperty() {
        return openError.getReadOnlyProperty();
    }

    public void dismissOpenError() {
        openError.set("");
    }

    public ReadOnlyBooleanProperty journalPresentProperty() {
        return journalPresent.getReadOnlyProperty();
    }

    public ReadOnlyBooleanProperty busyProperty() {
        return busy.getReadOnlyProperty();
    }

    public ObjectProperty<HeaderField> selectedFieldProperty() {
        return selectedField;
    }

    public ReadOnlyObjectProperty<HexWindow> hexProperty() {
        return hex.getReadOnlyProperty();
    }

    public ObservableList<SummaryRow> summary() {
        return summary;
    }

    /** Keys ({@link #key}) of the fields whose value the last apply changed. */
    public ObservableSet<String> changedFields() {
        return changedFields;
    }

    public static String key(HeaderField f) {
        return f.group() + "\u0000" + f.name();
    }

    public void setMessage(String text) {
        message.set(text);
    }

    /** Opens {@code path}: probes it in the background; a later open wins. */
    public void open(Path path) {
        load(path, null);
    }

    /** Probes the current file again. */
    public void reload() {
        if (file.get() != null) {
            load(file.get(), null);
        }
    }

    /** Re-probes after an apply and marks the fields whose value changed. */
    public void reloadAfterApply(ProbedImage before) {
        load(file.get(), before);
    }

    /** Writes a sample and opens it. */
    public void openSample(Samples sample) {
        long g = openGeneration.next();
        busy.set(true);
        message.set("Writing a " + sample.label() + " sample…");
        workers.run(sample::write, path -> {
            if (openGeneration.isCurrent(g)) {
                open(path);
            }
        }, e -> {
            if (openGeneration.isCurrent(g)) {
                busy.set(false);
                message.set("Could not write a " + sample.label() + " sample: " + e.getMessage());
            }
        });
    }

    /**
     * @param resizable whether DiskPlan has a planner for the image's format
     * @param refusal   the planner's refusal in the window's words, empty when it plans a resize
     * @param location  the kind of that refusal and the field it names, when the planner said
     */
    private record Opened(ProbedImage image, ProbeException error, boolean journal, boolean resizable,
                          String refusal, Optional<ResizeError.Location> location) {
        /** What the probe parsed of a damaged image before it failed, when that is at least one field. */
        Optional<PartialImage> partial() {
            return error == null ? Optional.empty() : error.partial().filter(p -> !p.fields().isEmpty());
        }
    }

    private static Opened opened(Path path) throws IOException {
        boolean journal = Recovery.hasJournal(path);
        try {
            ProbedImage p = probe(path);
            try {
                boolean resizable = Planners.checkOpen(p);
                return new Opened(p, null, journal, resizable, "", Optional.empty());
            } catch (ResizeError e) { // only a format's planner refuses
                return new Opened(p, null, journal, true, WindowWords.sentence(e.getMessage()), e.location());
            }
        } catch (ProbeException e) {
            return new Opened(null, e, journal, false, "", Optional.empty());
        }
    }

    private void load(Path path, ProbedImage before) {
        long g = openGeneration.next();
        file.set(path);
        title.set(APP + " — " + path.getFileName());
        busy.set(true);
        message.set("Opening " + path + "…");
        workers.run(() -> opened(path), opened -> {
            if (!openGeneration.isCurrent(g)) {
                return;
            }
            busy.set(false);
            Path previous = shown().map(Shown::path).orElse(null);
            boolean samePath = previous != null && previous.equals(path);
            Optional<PartialImage> partial = opened.partial();
            if (opened.error != null && partial.isEmpty() && previous != null && !samePath && !opened.journal) {
                // A failed open keeps the image that was open, with its name in the title.
                file.set(previous);
                title.set(APP + " — " + previous.getFileName());
                failed(path, reason(opened.error), true);
                return;
            }
            selectedField.set(null);
            hex.set(HexWindow.EMPTY);
            changedFields.clear();
            journalPresent.set(opened.journal);
            if (partial.isPresent()) {
                showDamaged(path, partial.get(), opened.error);
                return;
            }
            damaged.set(null);
            if (opened.error != null) {
                image.set(null);
                summary.clear();
                damage.set("");
                refusal.set("");
                badField.set(null);
                badReason.set("");
                if (opened.journal) {
                    message.set("Could not open '" + path + "': " + opened.error.getMessage()
                            + " An undo journal lies beside it: recover it.");
                } else {
                    file.set(null);
                    title.set(APP);
                    failed(path, reason(opened.error), false);
                }
                return;
            }
            openError.set("");
            if (before != null) {
                changedFields.addAll(changed(before, opened.image));
            }
            String why = opened.resizable ? opened.refusal : WindowWords.cannotResize(opened.image.format());
            boolean corrupt = opened.location.filter(l -> l.kind() == ResizeError.Kind.CORRUPT).isPresent();
            damage.set(corrupt ? WindowWords.damagedWhole(opened.refusal) : "");
            refusal.set(why);
            HeaderField bad = opened.location.flatMap(l -> named(opened.image.fields(), l)).orElse(null);
            badField.set(bad);
            badReason.set(bad == null ? "" : WindowWords.refusalDetail(opened.refusal));
            image.set(opened.image);
            summary.setAll(summaryOf(opened.image, why));
            message.set(opened.journal ? "An interrupted resize left an undo journal beside this image: "
                    + "recover it before resizing." : before != null ? "Image resized." : "");
            if (before == null && !Samples.isSample(path)) {
                recent.add(path);
            }
        }, e -> {
            if (!openGeneration.isCurrent(g)) {
                return;
            }
            busy.set(false);
            if (!(e instanceof ReadWatch.Timeout t)) {
                message.set("Could not open '" + path + "': " + e);
                return;
            }
            // a file that never answered: the image that was open stays, nothing else touches the file
            ProbedImage previous = image.get();
            file.set(previous == null ? null : previous.path());
            title.set(previous == null ? APP : APP + " \u2014 " + previous.path().getFileName());
            message.set("Could not open '" + path + "': " + WindowWords.noAnswer(t));
            openError.set(WindowWords.openFailed(path, WindowWords.noAnswer(t), previous != null));
        });
    }

    /** Shows what the probe parsed of a damaged image, its bad field marked; it cannot be resized. */
    private void showDamaged(Path path, PartialImage p, ProbeException error) {
        String why = reason(error);
        image.set(null);
        openError.set("");
        damage.set(WindowWords.damaged(why));
        refusal.set(WindowWords.damagedRefusal(why));
        badField.set(p.bad().orElse(null));
        badReason.set(p.bad().isPresent() ? why : "");
        damaged.set(p);
        summary.setAll(summaryOf(p, why));
        message.set("Opened a damaged image: the fields read before the error are shown, the bad one marked.");
        if (!Samples.isSample(path)) {
            recent.add(path);
        }
        p.bad().ifPresent(selectedField::set);
    }

    /** The field a planner's refusal names (by name and offset), if it is among {@code fields}. */
    static Optional<HeaderField> named(List<HeaderField> fields, ResizeError.Location location) {
        if (!location.namesField()) {
            return Optional.empty();
        }
        return fields.stream().filter(f -> f.name().equals(location.field()) && f.offset() == location.offset()
                && f.length() > 0).findFirst();
    }

    /** The probe's message, naming the field and its offset when the message does not already. */
    static String reason(ProbeException e) {
        String m = String.valueOf(e.getMessage());
        if (e.field().isEmpty() || e.offset() < 0 || m.contains(e.field())) {
            return m;
        }
        return m + " (field " + e.field() + " at offset " + SizeText.hex(e.offset()) + ")";
    }

    private void failed(Path path, String reason, boolean keptPrevious) {
        message.set("Could not open '" + path + "': " + reason);
        if (!Files.exists(path) && recent.remove(path)) {
            openError.set(WindowWords.recentMissing(path));
        } else {
            openError.set(WindowWords.openFailed(path, reason, keptPrevious));
        }
    }

    private static ProbedImage probe(Path path) throws ProbeException {
        if (!Files.exists(path)) {
            throw ProbeException.io("No such file or directory");
        }
        return ImageProber.probe(path, Optional.empty());
    }

    /** Rolls back the interrupted resize, then reloads. */
    public void recover() {
        Path path = file.get();
        if (path == null) {
            return;
        }
        busy.set(true);
        workers.run(() -> Recovery.recover(path), r -> {
            load(path, null);
            message.set(r.outcome() == Recovery.Outcome.ROLLED_BACK
                    ? "Rolled back '" + path.getFileName() + "' to its original " + r.originalLength() + " bytes."
                    : "The resize had already completed; kept the new state and removed the journal.");
        }, e -> {
            busy.set(false);
            message.set(e instanceof ResizeError || e instanceof ReadWatch.Timeout ? WindowWords.failure(e)
                    : "Recovery failed: " + e);
        });
    }

    /** The fields whose value differs (by group and name) between two probes. */
    static Set<String> changed(ProbedImage before, ProbedImage after) {
        Set<String> old = new HashSet<>();
        before.fields().forEach(f -> old.add(key(f) + "\u0000" + f.value()));
        Set<String> out = new HashSet<>();
        for (HeaderField f : after.fields()) {
            if (!old.contains(key(f) + "\u0000" + f.value())) {
                out.add(key(f));
            }
        }
        return out;
    }

    private void readHex(HeaderField field) {
        long g = hexGeneration.next();
        Path path = shown().map(Shown::path).orElse(null);
        if (field == null || path == null) {
            hex.set(HexWindow.EMPTY);
            return;
        }
        workers.run(() -> readWindow(path, field.offset(), field.length()), w -> {
            if (hexGeneration.isCurrent(g)) {
                hex.set(w);
            }
        }, e -> {
            if (hexGeneration.isCurrent(g)) {
                hex.set(HexWindow.EMPTY);
                message.set("Could not read the bytes of " + field.name() + ": " + WindowWords.failure(e));
            }
        });
    }

    /** Reads the bytes around {@code [start, start + length)} (blocking). */
    static HexWindow readWindow(Path path, long start, long length) throws IOException {
        try (FileImageReader reader = FileImageReader.open(path)) {
            long[] range = HexWindow.around(start, length, reader.size(), HEX_MAX);
            return read(reader, range[0], (int) range[1], start, length);
        }
    }

    /** Reads {@code count} bytes at {@code from} (those past the end are "missing"), marking a range. */
    static HexWindow read(FileImageReader reader, long from, int count, long markStart, long markLength)
            throws IOException {
        int present = (int) Math.max(0, Math.min(count, reader.size() - from));
        byte[] bytes = new byte[present];
        reader.readFullyUnchecked(from, bytes, present);
        return HexWindow.of(from, bytes, markStart, markLength, count - present);
    }

    static List<SummaryRow> summaryOf(ProbedImage p) {
        return summaryOf(p, Planners.canResize(p.format()) ? "" : WindowWords.cannotResize(p.format()));
    }

    /** The summary card; {@code refusal} says why it cannot be resized (empty when it can). */
    static List<SummaryRow> summaryOf(ProbedImage p, String refusal) {
        List<SummaryRow> rows = new ArrayList<>();
        String fmt = p.format().displayName() + (p.subformat().isEmpty() ? "" : " · " + p.subformat());
        rows.add(new SummaryRow("Format", fmt, "qemu driver: " + p.format().qemuName()));
        rows.add(new SummaryRow("Virtual size", SizeText.human(p.virtualSize()), SizeText.exact(p.virtualSize())));
        rows.add(new SummaryRow("File size", SizeText.human(p.fileSize()), SizeText.exact(p.fileSize())));
        long data = 0;
        for (LayoutRegion r : p.regions()) {
            if (r.kind() == RegionKind.DATA) {
                data += r.length();
            }
        }
        double share = p.virtualSize() == 0 ? 0 : 100.0 * data / p.virtualSize();
        rows.add(new SummaryRow("Allocated", String.format(Locale.ROOT, "%s (%.1f %%)", SizeText.human(data), share),
                SizeText.exact(data) + " in data regions of the file"));
        if (p.allocationUnit() > 0) {
            rows.add(new SummaryRow(unitName(p.format()), SizeText.human(p.allocationUnit()),
                    SizeText.exact(p.allocationUnit())));
        }
        rows.add(new SummaryRow("Flags", p.flags().isEmpty() ? "none" : String.join(", ", p.flags()),
                String.join("\n", p.flags())));
        rows.add(new SummaryRow("Resize", !Planners.canResize(p.format()) ? "not yet supported"
                : refusal.isEmpty() ? "supported" : "refused", !Planners.canResize(p.format())
                ? "DiskPlan cannot resize " + p.format().displayName() + " images yet"
                : refusal.isEmpty() ? "DiskPlan can plan a resize of this format" : refusal));
        return rows;
    }

    /** The summary of a damaged image: what is known without the whole header. */
    static List<SummaryRow> summaryOf(PartialImage p, String why) {
        List<SummaryRow> rows = new ArrayList<>();
        rows.add(new SummaryRow("Format", p.format().displayName(), "qemu driver: " + p.format().qemuName()));
        rows.add(new SummaryRow("File size", SizeText.human(p.fileSize()), SizeText.exact(p.fileSize())));
        rows.add(new SummaryRow("Damaged", p.bad().map(f -> f.name() + " at " + SizeText.hex(f.offset()))
                .orElse("yes"), why));
        rows.add(new SummaryRow("Fields read", Integer.toString(p.fields().size()),
                "the fields parsed before the error"));
        rows.add(new SummaryRow("Resize", "not possible", "DiskPlan does not resize a damaged image"));
        return rows;
    }

    private static String unitName(ImageFormat f) {
        return switch (f) {
            case QCOW2, QCOW1, QED -> "Cluster size";
            case VMDK4, VMDK3, VMDK_DESCRIPTOR -> "Grain size";
            default -> "Block size";
        };
    }
}
