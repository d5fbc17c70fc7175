package org.diskplan.app.fx;

import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import javafx.beans.property.ObjectProperty;
import javafx.beans.property.SimpleObjectProperty;
import javafx.geometry.Insets;
import javafx.geometry.VPos;
import javafx.scene.canvas.GraphicsContext;
import javafx.scene.control.Label;
import javafx.scene.control.Tooltip;
import javafx.scene.layout.FlowPane;
import javafx.scene.layout.VBox;
import javafx.scene.paint.Color;
import javafx.scene.shape.Rectangle;
import javafx.util.Duration;
import org.diskplan.app.fx.model.SizeText;
import org.diskplan.probe.LayoutRegion;
import org.diskplan.probe.ProbedImage;
import org.diskplan.probe.RegionKind;

/** The file from offset 0 to its end as a bar of regions coloured by kind, with a legend. */
final class LayoutMapView extends VBox {
    private final ObjectProperty<ProbedImage> image = new SimpleObjectProperty<>(this, "image");
    private final FlowPane legend = new FlowPane(14, 4);
    private final Bar bar = new Bar();
    private final Tooltip tip = new Tooltip();

    LayoutMapView() {
        super(6);
        getStyleClass().add("layout-map");
        Label title = new Label("Layout of the file");
        title.getStyleClass().add("section-title");
        bar.setPrefHeight(34);
        bar.setMinHeight(34);
        tip.setShowDelay(Duration.millis(150));
        Tooltip.install(bar, tip);
        bar.setOnMouseMoved(e -> tip.setText(describeAt(e.getX())));
        getChildren().addAll(title, bar, legend);
        setPadding(new Insets(8, 10, 8, 10));
        image.addListener((o, a, b) -> {
            rebuildLegend(b);
            bar.draw();
        });
    }

    ObjectProperty<ProbedImage> imageProperty() {
        return image;
    }

    private void rebuildLegend(ProbedImage p) {
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
    }

    /** Region list as seen on the bar: the region under x. */
    private String describeAt(double x) {
        ProbedImage p = image.get();
        if (p == null || p.fileSize() == 0) {
            return "";
        }
        long offset = (long) (x / Math.max(1, bar.getWidth()) * p.fileSize());
        for (LayoutRegion r : p.regions()) {
            if (offset >= r.offset() && offset < r.end()) {
                return r.kind().jsonName() + ": " + r.label() + "\n" + SizeText.hex(r.offset()) + " – "
                        + SizeText.hex(r.end()) + " (" + SizeText.exact(r.length()) + ")";
            }
        }
        return SizeText.hex(offset);
    }

    private final class Bar extends CanvasPane {
        @Override
        protected void paint(GraphicsContext g, double w, double h) {
            ProbedImage p = image.get();
            double barH = h - 14;
            g.setFill(Palette.GRID);
            g.fillRect(0, 0, w, barH);
            if (p == null || p.fileSize() == 0) {
                return;
            }
            double scale = w / p.fileSize();
            List<LayoutRegion> regions = p.regions();
            double lastX = -1;
            for (LayoutRegion r : regions) {
                double x = r.offset() * scale;
                double rw = Math.max(1, r.length() * scale);
                if (x + rw <= lastX && rw <= 1) {
                    continue; // many tiny regions in one pixel: one is enough
                }
                g.setFill(Palette.of(r.kind()));
                g.fillRect(x, 0, rw, barH);
                lastX = x + rw;
            }
            g.setStroke(Color.web("#00000055"));
            g.strokeRect(0.5, 0.5, w - 1, barH - 1);
            g.setFill(Palette.MUTED);
            g.setFont(Palette.SMALL);
            g.setTextBaseline(VPos.TOP);
            g.fillText("0", 0, barH + 1);
            String end = SizeText.hex(p.fileSize()) + " (" + SizeText.human(p.fileSize()) + ")";
            g.fillText(end, Math.max(0, w - 7 * end.length()), barH + 1);
        }
    }
}
