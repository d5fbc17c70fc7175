package org.diskplan.app.fx;

import org.diskplan.probe.GuestAllocation;
import org.diskplan.probe.GuestAllocations;
import java.io.File;
import java.nio.file.Path;
import java.util.List;
import javafx.beans.binding.Bindings;
import javafx.collections.ListChangeListener;
import javafx.collections.SetChangeListener;
import javafx.css.PseudoClass;
import javafx.geometry.Insets;
import javafx.geometry.Orientation;
import javafx.geometry.Pos;
import javafx.scene.Parent;
import javafx.scene.control.Alert;
import javafx.scene.control.Button;
import javafx.scene.control.ButtonBar;
import javafx.scene.control.ButtonType;
import javafx.scene.control.CheckBox;
import javafx.scene.control.ChoiceBox;
import javafx.scene.control.Label;
import javafx.scene.control.Menu;
import javafx.scene.control.MenuBar;
import javafx.scene.control.MenuItem;
import javafx.scene.control.ProgressBar;
import javafx.scene.control.ScrollPane;
import javafx.scene.control.SeparatorMenuItem;
import javafx.scene.control.Slider;
import javafx.scene.control.SplitPane;
import javafx.scene.control.Tab;
import javafx.scene.control.TabPane;
import javafx.scene.control.TextField;
import javafx.scene.control.Tooltip;
import javafx.scene.control.TreeItem;
import javafx.scene.control.TreeTableColumn;
import javafx.scene.control.TreeTableRow;
import javafx.scene.control.TreeTableView;
import javafx.scene.input.KeyCode;
import javafx.scene.input.KeyCodeCombination;
import javafx.scene.input.KeyCombination;
import javafx.scene.input.TransferMode;
import javafx.scene.layout.BorderPane;
import javafx.scene.layout.GridPane;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Priority;
import javafx.scene.layout.Region;
import javafx.scene.layout.VBox;
import javafx.stage.FileChooser;
import javafx.stage.Stage;
import javafx.util.StringConverter;
import org.diskplan.abi.Preallocation;
import org.diskplan.app.fx.model.ApplyModel;
import org.diskplan.app.fx.model.ImageModel;
import org.diskplan.app.fx.model.PatchDiffModel;
import org.diskplan.app.fx.model.ResizeModel;
import org.diskplan.app.fx.model.Samples;
import org.diskplan.app.fx.model.SizeText;
import org.diskplan.app.fx.model.TimelineModel;
import org.diskplan.app.fx.model.WindowWords;
import org.diskplan.app.fx.model.Workers;
import org.diskplan.planner.Planners;
import org.diskplan.planner.ResizePlan;
import org.diskplan.probe.HeaderField;
import org.diskplan.probe.ProbedImage;

/**
 * The window's scene graph, bound to the view models: menus, the summary card,
 * the resize panel, the header inspector with its hex view, the plan timeline with
 * its hex diff, the layout map and the message area. Node ids (#sizeField, #plan…)
 * are what the TestFX suite looks up.
 */
public final class MainWindow {
    private static final PseudoClass CHANGED = PseudoClass.getPseudoClass("changed");
    private static final PseudoClass GROUP = PseudoClass.getPseudoClass("group");
    private static final PseudoClass BAD = PseudoClass.getPseudoClass("bad");

    private final Stage stage;
    private final ImageModel image;
    private final Workers workers;
    private final ResizeModel resize;
    private final TimelineModel timeline = new TimelineModel();
    private final ApplyModel apply;
    private final PatchDiffModel diff;
    private final BorderPane root = new BorderPane();
    private final TabPane tabs = new TabPane();
    private final TreeTableView<Row> inspector = new TreeTableView<>();
    private final HexView hex = new HexView(Palette.MARK, true);
    private final HexView before = new HexView(Palette.DIFF, false);
    private final HexView after = new HexView(Palette.DIFF, false);
    private final TimelineView timelineView = new TimelineView(timeline);
    private final TextField sizeField = new TextField();
    private final Menu recentMenu = new Menu("Open _Recent");
    private final LayoutMapView map = new LayoutMapView();

    /** A row of the inspector: a group (field == null) or a field; {@code problem} is set on a damaged field. */
    record Row(String group, HeaderField field, String problem) {
        String name() {
            return field == null ? group : field.name();
        }

        boolean bad() {
            return field != null && !problem.isEmpty();
        }

        /** The field's meaning; on the damaged field, what is wrong with it first. */
        String meaning() {
            return field == null ? "" : bad() ? "\u2717 " + problem + " \u2014 " + field.meaning() : field.meaning();
        }
    }

    public MainWindow(Stage stage, Workers workers, ImageModel image) {
        this.stage = stage;
        this.image = image;
        this.workers = workers;
        this.resize = new ResizeModel(workers);
        this.apply = new ApplyModel(workers, image);
        this.diff = new PatchDiffModel(workers);
        build();
        image.imageProperty().addListener((o, a, b) -> imageChanged(b));
        image.damagedProperty().addListener((o, a, b) -> imageChanged(image.image()));
        resize.planProperty().addListener((o, a, p) -> timeline.planProperty().set(p));
        timeline.selectedProperty().addListener((o, a, b) -> diff.show(image.image() == null ? null
                : image.image().path(), timeline.planProperty().get(), b.intValue()));
        before.windowProperty().bind(Bindings.createObjectBinding(() -> diff.diffProperty().get().before(),
                diff.diffProperty()));
        after.windowProperty().bind(Bindings.createObjectBinding(() -> diff.diffProperty().get().after(),
                diff.diffProperty()));
        diff.errorProperty().addListener((o, a, b) -> {
            if (!b.isEmpty()) {
                image.setMessage(b);
            }
        });
    }

    public Parent root() {
        return root;
    }

    public ImageModel image() {
        return image;
    }

    public ResizeModel resize() {
        return resize;
    }

    public ApplyModel apply() {
        return apply;
    }

    public TimelineModel timeline() {
        return timeline;
    }

    TimelineView timelineView() {
        return timelineView;
    }

    HexView hexView() {
        return hex;
    }

    /** What the Apply button does (asks first); the screenshot tool calls it. */
    void requestApply() {
        confirmAndApply();
    }

    LayoutMapView layoutMap() {
        return map;
    }

    HexView diffBefore() {
        return before;
    }

    HexView diffAfter() {
        return after;
    }

    public void open(Path path) {
        image.open(path);
    }

    private void build() {
        root.getStyleClass().add("diskplan");
        root.setTop(new VBox(menus(), journalBanner(), openErrorBanner(), damagedBanner(), staleBanner(),
                cannotResizeBanner()));
        VBox left = new VBox(12, summaryCard(), resizePanel());
        left.setPadding(new Insets(10));
        left.setPrefWidth(360);
        left.setMinWidth(320);
        ScrollPane leftScroll = new ScrollPane(left);
        leftScroll.setFitToWidth(true);
        leftScroll.setHbarPolicy(ScrollPane.ScrollBarPolicy.NEVER);
        leftScroll.setMinWidth(340);
        Tab inspectorTab = new Tab("Header inspector", inspectorPane());
        Tab planTab = new Tab("Plan", planPane());
        inspectorTab.setId("inspectorTab");
        planTab.setId("planTab");
        tabs.getTabs().addAll(inspectorTab, planTab);
        tabs.setTabClosingPolicy(TabPane.TabClosingPolicy.UNAVAILABLE);
        map.setId("layoutMap");
        map.layoutProperty().bind(Bindings.createObjectBinding(() -> image.image() == null
                && image.damagedProperty().get() == null ? null
                : new LayoutMapView.Layout(image.regions(), image.fileSize()), image.imageProperty(),
                image.damagedProperty()));
        map.planProperty().bind(Bindings.createObjectBinding(() -> resize.noOpProperty().get() ? null
                : resize.planProperty().get(), resize.planProperty(), resize.noOpProperty()));
        map.cutProperty().bind(Bindings.createObjectBinding(() -> resize.planProperty().get() == null ? null
                : resize.cutProperty().get(), resize.cutProperty(), resize.planProperty()));
        map.markNowProperty().bind(Bindings.createObjectBinding(() -> {
            HeaderField f = image.selectedFieldProperty().get();
            return f == null ? null : new long[] {f.offset(), f.length()};
        }, image.selectedFieldProperty()));
        map.markAfterProperty().bind(Bindings.createObjectBinding(() -> {
            ResizePlan p = timeline.planProperty().get();
            int s = timeline.selectedProperty().get();
            return p == null || s < 0 || s >= p.patches().size() ? null
                    : new long[] {p.patches().get(s).offset(), p.patches().get(s).length()};
        }, timeline.planProperty(), timeline.selectedProperty()));
        VBox center = new VBox(tabs, map);
        VBox.setVgrow(tabs, Priority.ALWAYS);
        SplitPane split = new SplitPane(leftScroll, center);
        split.setDividerPositions(0.27);
        SplitPane.setResizableWithParent(leftScroll, false);
        root.setCenter(split);
        root.setBottom(statusBar());
        root.setOnDragOver(e -> {
            if (e.getDragboard().hasFiles()) {
                e.acceptTransferModes(TransferMode.COPY, TransferMode.LINK);
            }
            e.consume();
        });
        root.setOnDragDropped(e -> {
            List<File> files = e.getDragboard().getFiles();
            boolean ok = files != null && !files.isEmpty();
            if (ok) {
                open(files.get(0).toPath());
            }
            e.setDropCompleted(ok);
            e.consume();
        });
        image.recent().items().addListener((ListChangeListener<Path>) c -> rebuildRecent());
        rebuildRecent();
    }

    private MenuBar menus() {
        MenuItem open = new MenuItem("_Open…");
        open.setId("openItem");
        open.setAccelerator(new KeyCodeCombination(KeyCode.O, KeyCombination.SHORTCUT_DOWN));
        open.setOnAction(e -> chooseFile());
        MenuItem reload = new MenuItem("Re_load");
        reload.setId("reloadItem");
        reload.setAccelerator(new KeyCodeCombination(KeyCode.R, KeyCombination.SHORTCUT_DOWN));
        reload.setOnAction(e -> image.reload());
        reload.disableProperty().bind(image.fileProperty().isNull());
        MenuItem quit = new MenuItem("_Quit");
        quit.setAccelerator(new KeyCodeCombination(KeyCode.Q, KeyCombination.SHORTCUT_DOWN));
        quit.setOnAction(e -> stage.close());
        Menu file = new Menu("_File", null, open, recentMenu, reload, new SeparatorMenuItem(), quit);
        Menu samples = new Menu("_Samples");
        samples.setId("samplesMenu");
        for (Samples s : Samples.available()) {
            MenuItem item = new MenuItem(s.label());
            item.setId("sample-" + s.fileName());
            item.setMnemonicParsing(false);
            item.setOnAction(e -> image.openSample(s));
            samples.getItems().add(item);
        }
        MenuItem about = new MenuItem("_About DiskPlan");
        about.setAccelerator(new KeyCodeCombination(KeyCode.F1));
        about.setOnAction(e -> about());
        Menu help = new Menu("_Help", null, about);
        MenuBar bar = new MenuBar(file, samples, help);
        bar.setUseSystemMenuBar(true);
        return bar;
    }

    private void rebuildRecent() {
        recentMenu.getItems().clear();
        int i = 1;
        for (Path p : image.recent().items()) {
            MenuItem item = new MenuItem((i <= 9 ? "_" + i + " " : "") + p.getFileName() + "  —  " + p.getParent());
            item.setOnAction(e -> open(p));
            recentMenu.getItems().add(item);
            i++;
        }
        recentMenu.setDisable(recentMenu.getItems().isEmpty());
    }

    private void chooseFile() {
        FileChooser chooser = new FileChooser();
        chooser.setTitle("Open a disk image");
        Path current = image.fileProperty().get();
        if (current != null && current.getParent() != null) {
            chooser.setInitialDirectory(current.getParent().toFile());
        }
        File f = chooser.showOpenDialog(stage);
        if (f != null) {
            open(f.toPath());
        }
    }

    private void about() {
        Alert a = new Alert(Alert.AlertType.INFORMATION);
        a.initOwner(stage);
        a.setTitle("About DiskPlan");
        a.setHeaderText("DiskPlan " + org.diskplan.app.Version.number());
        a.setContentText("Look inside a virtual disk image and resize it with a visible, crash-safe plan.\n\n"
                + "Opens files read-only until you apply; every resize is journalled and can be rolled back "
                + "(diskplan recover).\nJava " + System.getProperty("java.version") + ", JavaFX "
                + System.getProperty("javafx.runtime.version", "?"));
        a.showAndWait();
    }

    private HBox journalBanner() {
        Label text = new Label();
        text.textProperty().bind(Bindings.createStringBinding(() -> image.fileProperty().get() == null ? ""
                : "An interrupted resize left an undo journal beside "
                + image.fileProperty().get().getFileName() + ". Roll it back to the original image?",
                image.fileProperty()));
        Button recover = new Button("_Recover");
        recover.setId("recoverButton");
        recover.setTooltip(new Tooltip("Write back the saved bytes and the original length (diskplan recover)"));
        recover.setOnAction(e -> confirmRecover());
        HBox banner = new HBox(10, text, recover);
        banner.setId("journalBanner");
        banner.getStyleClass().add("banner");
        banner.setAlignment(Pos.CENTER_LEFT);
        banner.setPadding(new Insets(6, 10, 6, 10));
        banner.visibleProperty().bind(image.journalPresentProperty());
        banner.managedProperty().bind(banner.visibleProperty());
        return banner;
    }

    private void confirmRecover() {
        Path file = image.fileProperty().get();
        if (file == null) {
            return;
        }
        Alert a = new Alert(Alert.AlertType.CONFIRMATION);
        a.initOwner(stage);
        a.setTitle("Roll back the interrupted resize?");
        a.setHeaderText("Recover " + file.getFileName());
        a.setContentText(WindowWords.recoverQuestion(file));
        ButtonType go = new ButtonType("Roll back", ButtonBar.ButtonData.OK_DONE);
        a.getButtonTypes().setAll(go, ButtonType.CANCEL);
        a.getDialogPane().setId("recoverDialog");
        a.getDialogPane().lookupButton(go).setId("confirmRecover");
        if (a.showAndWait().filter(go::equals).isPresent()) {
            image.recover();
        }
    }

    private static HBox banner(String id, String style, javafx.beans.value.ObservableValue<String> text,
                               javafx.beans.value.ObservableValue<Boolean> shown, Button... buttons) {
        Label label = new Label();
        label.setId(id + "Text");
        label.setWrapText(true);
        label.textProperty().bind(text);
        label.setMaxWidth(Double.MAX_VALUE);
        HBox.setHgrow(label, Priority.ALWAYS);
        HBox banner = new HBox(10, label);
        banner.getChildren().addAll(buttons);
        banner.setId(id);
        banner.getStyleClass().addAll("banner", style);
        banner.setAlignment(Pos.CENTER_LEFT);
        banner.setPadding(new Insets(6, 10, 6, 10));
        banner.visibleProperty().bind(javafx.beans.binding.BooleanExpression.booleanExpression(shown));
        banner.managedProperty().bind(banner.visibleProperty());
        return banner;
    }

    private HBox openErrorBanner() {
        Button dismiss = new Button("Dismiss");
        dismiss.setId("dismissOpenError");
        dismiss.setOnAction(e -> image.dismissOpenError());
        return banner("openErrorBanner", "error-banner", image.openErrorProperty(),
                image.openErrorProperty().isNotEmpty(), dismiss);
    }

    private HBox staleBanner() {
        Button reload = new Button(WindowWords.RELOAD_AND_PLAN);
        reload.setId("reloadAndPlan");
        reload.setOnAction(e -> {
            resize.keepRequestOnNextImage();
            image.reload();
        });
        return banner("staleBanner", "error-banner", new javafx.beans.property.SimpleStringProperty(WindowWords.STALE),
                apply.staleProperty(), reload);
    }

    /** Why the image cannot be resized (no planner for its format, or its planner refuses it). */
    private HBox cannotResizeBanner() {
        return banner("cannotResizeBanner", "info-banner", image.refusalProperty(),
                Bindings.createBooleanBinding(() -> image.image() != null && !image.refusalProperty().get().isEmpty()
                        && image.damageProperty().get().isEmpty(), image.imageProperty(), image.refusalProperty(),
                        image.damageProperty()));
    }

    /** A damaged image: what is wrong, that it cannot be resized, and that its readable fields are shown. */
    private HBox damagedBanner() {
        return banner("damagedBanner", "error-banner", image.damageProperty(), image.damageProperty().isNotEmpty());
    }

    private VBox summaryCard() {
        Label title = new Label();
        title.getStyleClass().add("card-title");
        title.setId("summaryTitle");
        title.textProperty().bind(Bindings.createStringBinding(() -> image.fileProperty().get() == null
                ? "No image" : image.fileProperty().get().getFileName().toString(), image.fileProperty()));
        GridPane grid = new GridPane();
        grid.setHgap(12);
        grid.setVgap(4);
        grid.setId("summary");
        image.summary().addListener((ListChangeListener<ImageModel.SummaryRow>) c -> {
            grid.getChildren().clear();
            int r = 0;
            for (ImageModel.SummaryRow row : image.summary()) {
                Label k = new Label(row.label());
                k.getStyleClass().add("key");
                k.setMinWidth(Region.USE_PREF_SIZE);
                Label v = new Label(row.value());
                v.setId("summary-" + row.label().replace(' ', '-').toLowerCase(java.util.Locale.ROOT));
                v.setWrapText(true);
                if (!row.detail().isEmpty()) {
                    v.setTooltip(new Tooltip(row.detail()));
                }
                grid.addRow(r++, k, v);
            }
        });
        VBox card = new VBox(8, title, grid);
        card.getStyleClass().add("card");
        return card;
    }

    private VBox resizePanel() {
        Label title = new Label("Resize");
        title.getStyleClass().add("card-title");
        Label sizeLabel = new Label("_New size");
        sizeLabel.setMnemonicParsing(true);
        sizeLabel.setLabelFor(sizeField);
        sizeField.setId("sizeField");
        sizeField.setPromptText("20G, +5G, 10737418240");
        sizeField.setTooltip(new Tooltip(WindowWords.SIZE_HELP + " Enter shows the plan."));
        sizeField.textProperty().bindBidirectional(resize.sizeTextProperty());
        sizeField.setOnAction(e -> tabs.getSelectionModel().select(1));
        Slider slider = new Slider();
        slider.setId("sizeSlider");
        slider.maxProperty().bind(resize.sliderMaxProperty());
        slider.blockIncrementProperty().bind(resize.sliderStepProperty());
        slider.valueProperty().bindBidirectional(resize.sliderValueProperty());
        slider.setTooltip(new Tooltip("Drag or use the arrow keys: whole GiB (whole MiB below 1 GiB)"));
        Button plus1 = quick("+1 GiB", "Add 1 GiB to the size", () -> resize.add(1L << 30));
        plus1.setId("plus1G");
        Button plus10 = quick("+10 GiB", "Add 10 GiB to the size", () -> resize.add(10L << 30));
        plus10.setId("plus10G");
        Button twice = quick("×2", "Double the size", resize::twice);
        twice.setId("twice");
        HBox quick = new HBox(6, plus1, plus10, twice);
        ChoiceBox<Preallocation> prealloc = new ChoiceBox<>();
        prealloc.setId("preallocation");
        // one wrapper for the items and the listener below: each call of modes() makes a new
        // unmodifiable view that listens weakly, so a listener on a throwaway view was lost
        javafx.collections.ObservableList<Preallocation> offered = resize.modes();
        prealloc.setItems(offered);
        prealloc.setConverter(new StringConverter<>() {
            @Override
            public String toString(Preallocation p) {
                return p == null ? "" : p.qemuName();
            }

            @Override
            public Preallocation fromString(String s) {
                return Preallocation.fromQemuName(s).orElse(Preallocation.OFF);
            }
        });
        // Not a bidirectional binding: when the offered modes change, the choice box drops its
        // value for a moment (null), which must not reach the model; the model's value is
        // shown again once the new modes are in.
        prealloc.setValue(resize.preallocationProperty().get());
        prealloc.valueProperty().addListener((o, a, b) -> {
            if (b != null) {
                resize.preallocationProperty().set(b);
            }
        });
        resize.preallocationProperty().addListener((o, a, b) -> prealloc.setValue(b));
        // after the choice box has dropped its value for the new items (with only "off" offered
        // the box showed nothing)
        offered.addListener((javafx.collections.ListChangeListener<Preallocation>) c ->
                javafx.application.Platform.runLater(() -> prealloc.setValue(resize.preallocationProperty().get())));
        prealloc.setTooltip(new Tooltip("off: sparse · metadata: tables only (qcow2) · falloc: reserve blocks · "
                + "full: write zeros"));
        Label preallocLabel = new Label("Pr_eallocation");
        preallocLabel.setMnemonicParsing(true);
        preallocLabel.setLabelFor(prealloc);
        HBox preallocRow = new HBox(8, preallocLabel, prealloc);
        preallocRow.setAlignment(Pos.CENTER_LEFT);
        CheckBox shrink = new CheckBox("Shrink: _delete data past the new end");
        shrink.setId("shrinkBox");
        shrink.selectedProperty().bindBidirectional(resize.shrinkProperty());
        shrink.setTooltip(new Tooltip("Tick to make the image smaller: everything past the new end is deleted"));
        Label error = messageLabel("error", resize.errorProperty());
        error.setId("sizeError");
        Label hint = messageLabel("hint", resize.hintProperty());
        hint.setId("sizeHint");
        Label note = messageLabel("note", resize.noteProperty());
        note.setId("roundingNote");
        Label planSummary = new Label();
        planSummary.setId("planSummary");
        planSummary.setWrapText(true);
        planSummary.textProperty().bind(Bindings.createStringBinding(() -> {
            ResizePlan p = resize.planProperty().get();
            if (p == null) {
                return resize.planningProperty().get() ? "Planning…" : "";
            }
            if (resize.noOpProperty().get()) {
                return "";
            }
            return p.patches().size() + " patch" + (p.patches().size() == 1 ? "" : "es") + ", commit at step "
                    + p.commitIndex() + "; virtual size " + SizeText.human(p.oldVirtualSize()) + " → "
                    + SizeText.human(p.newVirtualSize()) + ", file " + SizeText.human(p.oldFileSize()) + " → "
                    + SizeText.human(p.newFileSize());
        }, resize.planProperty(), resize.planningProperty(), resize.noOpProperty()));
        Button applyButton = new Button("_Apply…");
        applyButton.setId("applyButton");
        applyButton.setDefaultButton(false);
        applyButton.setTooltip(new Tooltip("Write the plan to the image (asks first)"));
        applyButton.disableProperty().bind(resize.planProperty().isNull().or(apply.runningProperty())
                .or(image.journalPresentProperty()).or(resize.noOpProperty()).or(apply.staleProperty()));
        applyButton.setOnAction(e -> confirmAndApply());
        Button cancel = new Button("_Cancel");
        cancel.setId("cancelButton");
        cancel.setTooltip(new Tooltip("Stop and roll back (possible until the commit point)"));
        cancel.disableProperty().bind(apply.cancellableProperty().not());
        cancel.setOnAction(e -> apply.cancel());
        ProgressBar progress = new ProgressBar();
        progress.setId("applyProgress");
        progress.progressProperty().bind(apply.progressProperty());
        progress.visibleProperty().bind(apply.runningProperty());
        progress.setMaxWidth(Double.MAX_VALUE);
        HBox.setHgrow(progress, Priority.ALWAYS);
        HBox actions = new HBox(8, applyButton, cancel, progress);
        actions.setAlignment(Pos.CENTER_LEFT);
        VBox controls = new VBox(8, sizeLabel, sizeField, slider, quick, preallocRow, shrink, error, hint, note,
                planSummary, actions);
        controls.disableProperty().bind(image.imageProperty().isNull().or(image.refusalProperty().isNotEmpty()));
        // why the controls are off, above them and not greyed out with them
        Label refused = messageLabel("hint", image.refusalProperty());
        refused.setId("resizeRefusal");
        VBox panel = new VBox(8, title, refused, controls);
        panel.getStyleClass().add("card");
        return panel;
    }

    private static Button quick(String text, String tip, Runnable action) {
        Button b = new Button(text);
        b.setMnemonicParsing(false);
        b.setTooltip(new Tooltip(tip));
        b.setOnAction(e -> action.run());
        return b;
    }

    private static Label messageLabel(String style, javafx.beans.value.ObservableValue<String> text) {
        Label l = new Label();
        l.getStyleClass().add(style);
        l.setWrapText(true);
        l.textProperty().bind(text);
        l.visibleProperty().bind(l.textProperty().isNotEmpty());
        l.managedProperty().bind(l.visibleProperty());
        return l;
    }

    private Parent inspectorPane() {
        inspector.setId("inspector");
        inspector.setShowRoot(false);
        Label empty = new Label();
        empty.setWrapText(true);
        empty.textProperty().bind(Bindings.createStringBinding(() -> image.image() == null ? "No image open."
                : image.image().format().displayName() + " images have no header: every byte of the file is "
                + "guest data (see the layout below).", image.imageProperty()));
        inspector.setPlaceholder(empty);
        inspector.setColumnResizePolicy(TreeTableView.CONSTRAINED_RESIZE_POLICY_FLEX_LAST_COLUMN);
        inspector.getColumns().add(column("Name", 210, Row::name));
        // a computed row (no bytes of its own) shows no offset or size: it is not an on-disk field
        inspector.getColumns().add(column("Offset", 80, r -> r.field() == null || r.field().length() == 0 ? ""
                : SizeText.hex(r.field().offset())));
        inspector.getColumns().add(column("Size", 50, r -> r.field() == null ? ""
                : r.field().length() == 0 ? "computed" : Integer.toString(r.field().length())));
        inspector.getColumns().add(column("Value", 200, r -> r.field() == null ? "" : r.field().value()));
        inspector.getColumns().add(column("Meaning", 420, Row::meaning));
        // in a narrow window the meaning gives way first: names and values stay readable
        inspector.getColumns().get(0).setMinWidth(160);
        inspector.getColumns().get(3).setMinWidth(120);
        inspector.setRowFactory(t -> new TreeTableRow<>() {
            @Override
            protected void updateItem(Row item, boolean empty) {
                super.updateItem(item, empty);
                pseudoClassStateChanged(GROUP, !empty && item != null && item.field() == null);
                pseudoClassStateChanged(BAD, !empty && item != null && item.bad());
                pseudoClassStateChanged(CHANGED, !empty && item != null && item.field() != null
                        && image.changedFields().contains(ImageModel.key(item.field())));
            }
        });
        image.changedFields().addListener((SetChangeListener<String>) c -> inspector.refresh());
        inspector.getSelectionModel().selectedItemProperty().addListener((o, a, b) ->
                image.selectedFieldProperty().set(b == null || b.getValue().field() == null ? null
                        : b.getValue().field()));
        hex.windowProperty().bind(image.hexProperty());
        hex.setId("hexView");
        Label hexTitle = new Label();
        hexTitle.getStyleClass().add("section-title");
        hexTitle.textProperty().bind(Bindings.createStringBinding(() -> {
            HeaderField f = image.selectedFieldProperty().get();
            return f == null ? "Bytes: select a field" : "Bytes of " + f.name() + " at " + SizeText.hex(f.offset())
                    + " (" + f.length() + " bytes)";
        }, image.selectedFieldProperty()));
        ScrollPane hexScroll = new ScrollPane(hex);
        hexScroll.setFitToWidth(true);
        VBox hexBox = new VBox(6, hexTitle, hexScroll);
        VBox.setVgrow(hexScroll, Priority.ALWAYS);
        hexBox.setPadding(new Insets(6));
        SplitPane split = new SplitPane(inspector, hexBox);
        split.setOrientation(Orientation.VERTICAL);
        split.setDividerPositions(0.64);
        return split;
    }

    private static TreeTableColumn<Row, String> column(String name, double width,
                                                       java.util.function.Function<Row, String> text) {
        TreeTableColumn<Row, String> c = new TreeTableColumn<>(name);
        c.setPrefWidth(width);
        c.setMinWidth(Math.min(width, 60));
        c.setCellValueFactory(f -> new javafx.beans.property.ReadOnlyStringWrapper(
                f.getValue() == null || f.getValue().getValue() == null ? "" : text.apply(f.getValue().getValue())));
        // a truncated name, value or meaning is shown whole in a tooltip
        c.setCellFactory(col -> new javafx.scene.control.TreeTableCell<>() {
            @Override
            protected void updateItem(String item, boolean empty) {
                super.updateItem(item, empty);
                setText(empty ? null : item);
                setTooltip(empty || item == null || item.isEmpty() ? null : new Tooltip(item));
            }
        });
        return c;
    }

    private Parent planPane() {
        Label summary = new Label();
        summary.setId("timelineSummary");
        summary.getStyleClass().add("section-title");
        summary.textProperty().bind(Bindings.createStringBinding(() -> TimelineView.summary(timeline),
                timeline.planProperty()));
        Label detail = new Label();
        detail.setId("stepDetail");
        detail.setWrapText(true);
        // Two lines, always: a hover that changed the label's height would resize the
        // timeline below it, and a resized canvas repaints the whole plan pane.
        double twoLines = Math.ceil(javafx.scene.text.Font.getDefault().getSize() * 1.4 * 2) + 2;
        detail.setMinHeight(twoLines);
        detail.setPrefHeight(twoLines);
        detail.setMaxHeight(twoLines);
        detail.setAlignment(javafx.geometry.Pos.TOP_LEFT);
        // The selected step only: the caption, the hex panes and the outline on the
        // timeline always show the same step (hover has its own bubble).
        detail.textProperty().bind(Bindings.createStringBinding(() -> {
            int s = timeline.selectedProperty().get();
            return s < 0 ? (timeline.steps() == 0 ? "" : "Click a step or use ←/→ to see its bytes.")
                    : timeline.describe(s);
        }, timeline.selectedProperty(), timeline.planProperty()));
        javafx.scene.layout.FlowPane legend = new javafx.scene.layout.FlowPane(14, 4); // wraps in a narrow window
        for (TimelineModel.Kind k : TimelineModel.Kind.values()) {
            javafx.scene.shape.Rectangle sw = new javafx.scene.shape.Rectangle(12, 12, Palette.of(k));
            legend.getChildren().add(new Label(k == TimelineModel.Kind.LENGTH ? "set length"
                    : k.name().toLowerCase(java.util.Locale.ROOT), sw));
        }
        javafx.scene.shape.Rectangle commitSw = new javafx.scene.shape.Rectangle(3, 12, Palette.COMMIT);
        legend.getChildren().add(new Label("commit point", commitSw));
        Label keys = new Label("wheel: scroll · Ctrl+wheel, +/−: zoom · ←/→: step · 0: fit");
        keys.getStyleClass().add("hint");
        legend.getChildren().add(keys);
        before.setId("diffBefore");
        after.setId("diffAfter");
        Label beforeTitle = sectionLabel("");
        beforeTitle.setId("diffBeforeTitle");
        Label afterTitle = sectionLabel("");
        afterTitle.setId("diffAfterTitle");
        beforeTitle.textProperty().bind(Bindings.createStringBinding(() -> diffTitle(true),
                timeline.selectedProperty(), diff.diffProperty()));
        afterTitle.textProperty().bind(Bindings.createStringBinding(() -> diffTitle(false),
                timeline.selectedProperty(), diff.diffProperty()));
        ScrollPane beforeScroll = hexScroll(before);
        ScrollPane afterScroll = hexScroll(after);
        // the two panes show the same rows of the file: they scroll together
        beforeScroll.vvalueProperty().bindBidirectional(afterScroll.vvalueProperty());
        VBox beforeBox = new VBox(4, beforeTitle, beforeScroll);
        VBox afterBox = new VBox(4, afterTitle, afterScroll);
        VBox.setVgrow(beforeScroll, Priority.ALWAYS);
        VBox.setVgrow(afterScroll, Priority.ALWAYS);
        DiffPanes diffPanes = new DiffPanes(beforeBox, afterBox, before.getMinWidth());
        diffPanes.setId("diffPanes");
        // every file of the plan, also those no step writes (a removed extent, a created one)
        Label planFiles = new Label();
        planFiles.setId("planFiles");
        planFiles.setWrapText(true);
        planFiles.textProperty().bind(Bindings.createStringBinding(() -> timeline.planProperty().get() == null ? ""
                : "Files: " + (timeline.planProperty().get().files().size() == 1 ? "" : "\n")
                + WindowWords.planFiles(timeline.planProperty().get()), timeline.planProperty()));
        VBox box = new VBox(8, summary, legend, timelineView, planFiles, detail, diffPanes);
        VBox.setVgrow(diffPanes, Priority.ALWAYS);
        box.setPadding(new Insets(8));
        // The hex panes take the height the window has; in a window too short for both
        // (stacked) the tab scrolls instead of cutting the After pane off.
        box.setMinHeight(Region.USE_PREF_SIZE);
        ScrollPane scroll = new ScrollPane(box);
        scroll.setId("planScroll");
        scroll.setFitToWidth(true);
        scroll.setFitToHeight(true);
        scroll.setHbarPolicy(ScrollPane.ScrollBarPolicy.NEVER);
        return scroll;
    }

    /** A hex view in a scroll pane that fills the width and height it is given. */
    private static ScrollPane hexScroll(HexView view) {
        ScrollPane sp = new ScrollPane(view);
        sp.setFitToWidth(true);
        sp.setHbarPolicy(ScrollPane.ScrollBarPolicy.AS_NEEDED);
        sp.setMinViewportHeight(HexView.rowsHeight(3));
        sp.setPrefViewportHeight(HexView.rowsHeight(6));
        sp.setMaxHeight(Double.MAX_VALUE);
        sp.setMaxWidth(Double.MAX_VALUE);
        sp.getStyleClass().add("hex-scroll");
        return sp;
    }

    /**
     * Before and After side by side, each half the width and the full height, when both fit
     * across; otherwise After below Before, each half the height.
     */
    static final class DiffPanes extends Region {
        private static final double GAP = 12;
        private final Region first;
        private final Region second;
        private final double paneWidth;

        DiffPanes(Region first, Region second, double paneWidth) {
            this.first = first;
            this.second = second;
            this.paneWidth = paneWidth;
            getChildren().addAll(first, second);
        }

        @Override
        public Orientation getContentBias() {
            return Orientation.HORIZONTAL; // the height depends on whether the width fits both across
        }

        /** True when the panes stand side by side at the current width. */
        boolean sideBySide() {
            return getWidth() >= 2 * paneWidth + GAP;
        }

        @Override
        protected double computeMinHeight(double width) {
            double a = first.minHeight(-1);
            double b = second.minHeight(-1);
            return (width < 0 || width >= 2 * paneWidth + GAP) ? Math.max(a, b) : a + GAP + b;
        }

        @Override
        protected double computePrefHeight(double width) {
            double a = first.prefHeight(-1);
            double b = second.prefHeight(-1);
            return (width < 0 || width >= 2 * paneWidth + GAP) ? Math.max(a, b) : a + GAP + b;
        }

        @Override
        protected double computePrefWidth(double height) {
            return paneWidth;
        }

        @Override
        protected double computeMinWidth(double height) {
            return 0;
        }

        @Override
        protected void layoutChildren() {
            double w = getWidth();
            double h = getHeight();
            if (sideBySide()) {
                double half = Math.floor((w - GAP) / 2);
                first.resizeRelocate(0, 0, half, h);
                second.resizeRelocate(half + GAP, 0, w - half - GAP, h);
            } else {
                double half = Math.floor((h - GAP) / 2);
                first.resizeRelocate(0, 0, w, half);
                second.resizeRelocate(0, half + GAP, w, h - half - GAP);
            }
        }
    }

    /** "step N — before (as steps 0–N−1 leave the file)" / "step N — after (what it writes)". */
    private String diffTitle(boolean beforeSide) {
        int s = timeline.selectedProperty().get();
        ResizePlan p = timeline.planProperty().get();
        if (p == null || s < 0) {
            return beforeSide ? "Before" : "After";
        }
        if (s >= p.patches().size()) {
            return beforeSide ? "step " + s + " — sets the file length: no bytes to show" : "";
        }
        long at = diff.diffProperty().get().before().offset();
        String where = diff.diffProperty().get().before().size() == 0 ? "" : " at " + SizeText.hex(at);
        return beforeSide ? "step " + s + " — before" + where + (s == 0 ? " (the file now)"
                : " (as steps 0–" + (s - 1) + " leave it)") : "step " + s + " — after (what it writes)";
    }

    private static Label sectionLabel(String text) {
        Label l = new Label(text);
        l.getStyleClass().add("section-title");
        return l;
    }

    private HBox statusBar() {
        Label message = new Label();
        message.setId("message");
        message.setWrapText(true);
        message.textProperty().bind(Bindings.createStringBinding(() -> apply.runningProperty().get()
                        ? apply.statusProperty().get() : image.messageProperty().get(),
                apply.runningProperty(), apply.statusProperty(), image.messageProperty()));
        HBox bar = new HBox(message);
        bar.getStyleClass().add("status-bar");
        bar.setPadding(new Insets(4, 10, 4, 10));
        HBox.setHgrow(message, Priority.ALWAYS);
        message.setMaxWidth(Double.MAX_VALUE);
        bar.setMinHeight(Region.USE_PREF_SIZE);
        return bar;
    }

    /** A new image, or a damaged one (p == null): the inspector's rows, the bad one marked and selected. */
    private void imageChanged(ProbedImage p) {
        TreeItem<Row> rootItem = new TreeItem<>(new Row("", null, ""));
        HeaderField bad = image.badFieldProperty().get();
        TreeItem<Row> badItem = null;
        TreeItem<Row> group = null;
        for (HeaderField f : image.fields()) {
            if (group == null || !group.getValue().group().equals(f.group())) {
                group = new TreeItem<>(new Row(f.group(), null, ""));
                group.setExpanded(true);
                rootItem.getChildren().add(group);
            }
            TreeItem<Row> item = new TreeItem<>(new Row(f.group(), f, f == bad
                    ? image.badReasonProperty().get() : ""));
            if (f == bad) {
                badItem = item;
            }
            group.getChildren().add(item);
        }
        inspector.setRoot(rootItem);
        if (badItem != null) {
            inspector.getSelectionModel().select(badItem);
            int row = inspector.getRow(badItem);
            inspector.scrollTo(Math.max(0, row - 3));
        }
        if (p != null || image.damagedProperty().get() == null) {
            resize.setImage(p);
        }
        String refusal = image.refusalProperty().get();
        timelineView.setEmptyText(refusal.isEmpty() ? "No plan: type a new size." : "No plan: " + refusal);
    }

    private void confirmAndApply() {
        ResizePlan plan = resize.planProperty().get();
        if (plan == null || resize.noOpProperty().get()) {
            return;
        }
        if (plan.newVirtualSize() < plan.oldVirtualSize()) {
            org.diskplan.probe.ProbedImage img = image.image();
            // reading the block map past the new end is file I/O: off the FX thread
            workers.run(() -> GuestAllocations.of(img, plan.newVirtualSize(), plan.oldVirtualSize()),
                    data -> confirmShrink(plan, data), e -> confirmShrink(plan, new GuestAllocation.Unknown(
                            plan.newVirtualSize(), plan.oldVirtualSize(), String.valueOf(e))));
            return;
        }
        Alert a = new Alert(Alert.AlertType.CONFIRMATION);
        a.initOwner(stage);
        a.setTitle("Apply the plan?");
        a.setHeaderText("Resize " + image.fileProperty().get().getFileName());
        a.setContentText(ApplyModel.confirmation(image.fileProperty().get(), plan));
        ButtonType go = new ButtonType("Apply", ButtonBar.ButtonData.OK_DONE);
        a.getButtonTypes().setAll(go, ButtonType.CANCEL);
        a.getDialogPane().setId("confirmDialog");
        a.getDialogPane().lookupButton(go).setId("confirmApply");
        if (a.showAndWait().filter(go::equals).isPresent()) {
            apply.apply(plan);
        }
    }

    /** A shrink deletes data: a warning, with Cancel the default button and the lost bytes named. */
    private void confirmShrink(ResizePlan plan, GuestAllocation data) {
        Path file = image.fileProperty().get();
        Alert a = new Alert(Alert.AlertType.WARNING);
        a.initOwner(stage);
        a.setTitle("Shrink and delete data?");
        a.setHeaderText("Shrinking deletes the last " + SizeText.human(plan.oldVirtualSize() - plan.newVirtualSize())
                + " of " + file.getFileName());
        a.setContentText(WindowWords.dataPastEnd(data) + "\n\n" + WindowWords.shrinkWarning(file, plan) + "\n\n"
                + ApplyModel.confirmation(file, plan).lines().skip(2).collect(java.util.stream.Collectors.joining("\n")));
        ButtonType go = new ButtonType(WindowWords.SHRINK_BUTTON, ButtonBar.ButtonData.OTHER);
        ButtonType cancel = new ButtonType("Cancel", ButtonBar.ButtonData.CANCEL_CLOSE);
        a.getButtonTypes().setAll(go, cancel);
        a.getDialogPane().setId("shrinkDialog");
        Button goButton = (Button) a.getDialogPane().lookupButton(go);
        Button cancelButton = (Button) a.getDialogPane().lookupButton(cancel);
        goButton.setId("confirmShrink");
        goButton.setDefaultButton(false);
        goButton.getStyleClass().add("danger");
        cancelButton.setId("cancelShrink");
        cancelButton.setDefaultButton(true);
        a.getDialogPane().setPrefWidth(560);
        a.setOnShown(e -> cancelButton.requestFocus());
        if (a.showAndWait().filter(go::equals).isPresent()) {
            apply.apply(plan);
        }
    }
}
