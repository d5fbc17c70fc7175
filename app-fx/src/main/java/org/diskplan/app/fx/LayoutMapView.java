package org.diskplan.app.fx;

import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import javafx.beans.property.ObjectProperty;
import javafx.beans.property.SimpleObjectProperty;
import javafx.geometry.Insets;
import javafx.geometry.Pos;
import javafx.geometry.VPos;
import javafx.scene.canvas.GraphicsContext;
import javafx.scene.control.Label;
import javafx.scene.control.Tooltip;
import javafx.scene.layout.FlowPane;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Priority;
import javafx.scene.layout.VBox;
import javafx.scene.paint.Color;
import javafx.scene.shape.Rectangle;
import javafx.util.Duration;
import org.diskplan.app.fx.model.LayoutScale;
import org.diskplan.app.fx.model.SizeText;
import org.diskplan.planner.ResizePlan;
import org.diskplan.probe.GuestAllocation;
import org.diskplan.probe.HostRanges;
import org.diskplan.probe.LayoutRegion;
import org.diskplan.probe.RegionKind;

/**
 * The file from offset 0 to its end as a bar of regions coloured by kind, on a
 * segmented scale (every region at least a few pixels wide, see {@link LayoutScale}),
 * with a legend; while a plan is shown, a second bar below it shows the file after the
 * plan. The selected field or step is framed on the bars.
 */
final class LayoutMapView extends VBox {
    /** The regions of a file and its length: a probed image's, or what was parsed of a damaged one. */
    record Layout(List<LayoutRegion> regions, long fileSize) {
        Layout {
            regions = List.copyOf(regions);
        }
    }

    private final ObjectProperty<Layout> image = new SimpleObjectProperty<>(this, "layout");
    private final ObjectProperty<ResizePlan> plan = new SimpleObjectProperty<>(this, "plan");
    /** {offset, length} to frame on the bar of the file now, or null. */
    private final ObjectProperty<long[]> markNow = new SimpleObjectProperty<>(this, "markNow");
    /** {offset, length} to frame on the bar of the file after the plan, or null. */
    private final ObjectProperty<long[]> markAfter = new SimpleObjectProperty<>(this, "markAfter");
    /** The file bytes holding allocated data a planned shrink cuts off, or null. */
    private final ObjectProperty<HostRanges> cut = new SimpleObjectProperty<>(this, "cut");
    private final FlowPane legend = new FlowPane(14, 4);
    private final Bar now = new Bar(false);
    private final Bar after = new Bar(true);
    private final HBox afterRow;

    LayoutMapView() {
        super(4);
        getStyleClass().add("layout-map");
        Label title = new Label("Layout of the file (every region at least " + (int) LayoutScale.MIN
                + " px wide; hover for offsets)");
        title.getStyleClass().add("section-title");
        HBox nowRow = row("Now", now);
        afterRow = row("After", after);
        afterRow.visibleProperty().bind(plan.isNotNull());
        afterRow.managedProperty().bind(afterRow.visibleProperty());
        getChildren().addAll(title, nowRow, afterRow, legend);
        setPadding(new Insets(6, 10, 6, 10));
        image.addListener((o, a, b) -> {
            rebuildLegend(b);
            now.draw();
            after.draw();
        });
        plan.addListener((o, a, b) -> after.draw());
        cut.addListener((o, a, b) -> {
            rebuildLegend(image.get());
            now.draw();
        });
        markNow.addListener((o, a, b) -> now.draw());
        markAfter.addListener((o, a, b) -> after.draw());
    }

    private static HBox row(String name, Bar bar) {
        Label l = new Label(name);
        l.setMinWidth(44);
        l.setPrefWidth(44);
        bar.setPrefHeight(30);
        bar.setMinHeight(30);
        bar.setMaxWidth(Double.MAX_VALUE);
        HBox.setHgrow(bar, Priority.ALWAYS);
        HBox row = new HBox(6, l, bar);
        row.setAlignment(Pos.CENTER_LEFT);
        return row;
    }

    ObjectProperty<Layout> layoutProperty() {
        return image;
    }

    ObjectProperty<ResizePlan> planProperty() {
        return plan;
    }

    ObjectProperty<HostRanges> cutProperty() {
        return cut;
    }

    /** The x spans {x0, x1} of the cut data drawn on the bar of the file now (tests read them). */
    List<double[]> cutSpans() {
        return now.cutSpans;
    }

    /** The bar of the file now (tests read its pixels). */
    CanvasPane nowBar() {
        return now;
    }

    ObjectProperty<long[]> markNowProperty() {
        return markNow;
    }

    ObjectProperty<long[]> markAfterProperty() {
        return markAfter;
    }

    /** The scale the "now" bar is drawn with (tests read it). */
    LayoutScale nowScale() {
        return now.scale();
    }

    LayoutScale afterScale() {
        return after.scale();
    }

    private void rebuildLegend(Layout p) {
        legend.getChildren().clear();
        if (p == null) {
            return;
        }
        Set<RegionKind> kinds = EnumSet.noneOf(RegionKind.class);
        p.regions().forEach(r -> kinds.add(r.kind()));
        for (RegionKind k : kinds) {
            long bytes = p.regions().stream().filter(r -> r.kind() == k).mapToLong(LayoutRegion::length).sum();
            Rectangle swatch = new Rectangle(12, 12, Palette.of(k));
            swatch.setStroke(Color.web("#00000033"));
            Label l = new Label(k.jsonName() + " · " + SizeText.human(bytes), swatch);
            l.setTooltip(new Tooltip(SizeText.exact(bytes) + " of " + k.jsonName()));
            legend.getChildren().add(l);
        }
        HostRanges c = cut.get();
        if (c != null && c.bytes() > 0) {
            Rectangle swatch = new Rectangle(12, 12, Palette.CUT);
            Label l = new Label("data the shrink cuts · " + SizeText.human(c.bytes()), swatch);
            l.setId("cutLegend");
            l.setTooltip(new Tooltip(SizeText.exact(c.bytes()) + " of the file hold allocated data past the new "
                    + "end of the disk (guest bytes " + SizeText.hex(c.from()) + " on): the shrink deletes it"
                    + (c.merged() ? ". Close pieces are drawn joined." : ".")));
            legend.getChildren().add(l);
        }
    }

    private final class Bar extends CanvasPane {
        private final boolean afterPlan;
        private final Tooltip tip = new Tooltip();
        private LayoutScale scale = LayoutScale.of(List.of(), 0, 0);
        private List<double[]> cutSpans = List.of();

        Bar(boolean afterPlan) {
            this.afterPlan = afterPlan;
            tip.setShowDelay(Duration.millis(150));
            Tooltip.install(this, tip);
            setOnMouseMoved(e -> tip.setText(describeAt(e.getX())));
        }

        LayoutScale scale() {
            return scale;
        }

        private String describeAt(double x) {
            boolean inCut = cutSpans.stream().anyMatch(c -> x >= c[0] && x < c[1]);
            return scale.at(x).map(s -> (s.kind() == null ? "not in any region" : s.kind().jsonName() + ": "
                    + s.label()) + "\n" + SizeText.hex(s.offset()) + " – " + SizeText.hex(s.end()) + " ("
                    + SizeText.exact(s.length()) + ")" + (inCut ? "\nholds allocated data past the new end: "
                    + "the shrink deletes it" : "")).orElse("");
        }

        @Override
        protected void paint(GraphicsContext g, double w, double h) {
            Layout p = image.get();
            ResizePlan pl = plan.get();
            double barH = h - 13;
            g.setFill(Palette.GRID);
            g.fillRect(0, 0, w, barH);
            cutSpans = List.of();
            if (p == null || (afterPlan && pl == null)) {
                scale = LayoutScale.of(List.of(), 0, w);
                return;
            }
            long size = afterPlan ? pl.newFileSize() : p.fileSize();
            List<LayoutRegion> regions = afterPlan ? LayoutScale.after(p.regions(), pl) : p.regions();
            scale = LayoutScale.of(regions, size, w);
            for (LayoutScale.Segment s : scale.segments()) {
                if (s.kind() != null) {
                    g.setFill(Palette.of(s.kind()));
                    g.fillRect(s.x(), 0, Math.max(1, s.width()), barH);
                }
            }
            HostRanges c = cut.get();
            if (!afterPlan && c != null) {
                // the lower half of the bar under data the shrink cuts, framed; the upper half
                // keeps the region's colour
                List<double[]> spans = new java.util.ArrayList<>();
                g.setFill(Palette.CUT);
                for (GuestAllocation.Range r : c.ranges()) {
                    if (r.start() >= size) {
                        continue;
                    }
                    double x0 = scale.x(r.start());
                    double x1 = Math.max(x0 + 2, scale.x(Math.min(size, r.end())));
                    g.fillRect(x0, barH / 2, x1 - x0, barH - barH / 2);
                    spans.add(new double[] {x0, x1});
                }
                g.setStroke(Palette.CUT);
                for (double[] sp : spans) {
                    g.strokeRect(sp[0] + 0.5, 0.5, Math.max(1, sp[1] - sp[0] - 1), barH - 1);
                }
                cutSpans = List.copyOf(spans);
            }
            g.setStroke(Color.web("#00000055"));
            g.strokeRect(0.5, 0.5, w - 1, barH - 1);
            long[] mark = afterPlan ? markAfter.get() : markNow.get();
            if (mark != null && mark[0] < size) {
                double x0 = scale.x(mark[0]);
                double x1 = Math.max(x0 + 3, scale.x(Math.min(size, mark[0] + Math.max(1, mark[1]))));
                g.setStroke(Palette.COMMIT);
                g.setLineWidth(2);
                g.strokeRect(x0 + 1, 1, x1 - x0 - 2, barH - 2);
                g.setLineWidth(1);
            }
            g.setFill(Palette.MUTED);
            g.setFont(Palette.SMALL);
            g.setTextBaseline(VPos.TOP);
            g.fillText("0", 0, barH + 1);
            String end = SizeText.hex(size) + " (" + SizeText.human(size) + ")";
            g.fillText(end, Math.max(0, w - 7 * end.length()), barH + 1);
        }
    }
}
