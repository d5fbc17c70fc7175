package org.diskplan.app.fx;

import javafx.geometry.Orientation;
import javafx.geometry.VPos;
import javafx.scene.AccessibleRole;
import javafx.scene.canvas.GraphicsContext;
import javafx.scene.control.ScrollBar;
import javafx.scene.control.Tooltip;
import javafx.scene.input.KeyEvent;
import javafx.scene.input.MouseEvent;
import javafx.scene.input.ScrollEvent;
import javafx.scene.layout.Priority;
import javafx.scene.layout.VBox;
import javafx.scene.paint.Color;
import javafx.scene.text.TextAlignment;
import org.diskplan.app.fx.model.SizeText;
import org.diskplan.app.fx.model.TimelineModel;

/**
 * The plan timeline on one canvas: the steps in apply order coloured by kind and
 * sized by bytes (log scale), the commit marker, and a second track of where each
 * step lands in the file with the file end after each step. Wheel scrolls, Ctrl+wheel
 * zooms; Left/Right select, +/- zoom, 0 fits. Draws at most one bar per pixel column,
 * so thousands of patches cost no more than the width of the view.
 */
final class TimelineView extends VBox {
    static final double TOP = 18;
    static final double TRACK1 = 96;
    static final double GAP = 22;
    static final double TRACK2 = 72;
    static final double HEIGHT = TOP + TRACK1 + GAP + TRACK2 + 8;

    private final TimelineModel model;
    private final Surface surface = new Surface();
    private final ScrollBar bar = new ScrollBar();
    private double mouseX = -1;
    private double mouseY = -1;
    private boolean syncing;

    TimelineView(TimelineModel model) {
        this.model = model;
        getStyleClass().add("timeline");
        surface.setPrefHeight(HEIGHT);
        surface.setMinHeight(HEIGHT);
        VBox.setVgrow(surface, Priority.ALWAYS);
        surface.setFocusTraversable(true);
        surface.setAccessibleRole(AccessibleRole.LIST_VIEW);
        surface.setAccessibleText("Plan timeline: Left and Right select a step, plus and minus zoom, 0 fits");
        Tooltip.install(surface, new Tooltip("Wheel: scroll · Ctrl+wheel or +/−: zoom · ←/→: select a step · 0: fit"));
        bar.setOrientation(Orientation.HORIZONTAL);
        bar.setFocusTraversable(false);
        getChildren().addAll(surface, bar);
        model.zoomProperty().addListener((o, a, b) -> changed());
        model.scrollProperty().addListener((o, a, b) -> changed());
        model.hoverProperty().addListener((o, a, b) -> surface.drawOverlay());
        model.selectedProperty().addListener((o, a, b) -> surface.drawOverlay());
        model.planProperty().addListener((o, a, b) -> changed());
        bar.valueProperty().addListener((o, a, b) -> {
            if (!syncing) {
                model.scrollProperty().set(b.doubleValue());
            }
        });
        surface.addEventHandler(MouseEvent.MOUSE_MOVED, this::hover);
        surface.addEventHandler(MouseEvent.MOUSE_DRAGGED, this::hover);
        surface.addEventHandler(MouseEvent.MOUSE_EXITED, e -> {
            mouseX = -1;
            model.hoverProperty().set(-1);
        });
        surface.addEventHandler(MouseEvent.MOUSE_PRESSED, e -> {
            surface.requestFocus();
            int s = model.stepAt(e.getX());
            if (s >= 0) {
                model.select(s);
            }
            e.consume(); // the tab pane behind would take the focus back
        });
        surface.addEventHandler(ScrollEvent.SCROLL, this::wheel);
        surface.addEventHandler(KeyEvent.KEY_PRESSED, this::key);
    }

    Surface surface() {
        return surface;
    }

    private void changed() {
        syncing = true;
        double max = Math.max(0, model.contentWidth() - model.width());
        bar.setMax(max);
        bar.setVisibleAmount(max == 0 ? 1 : model.width() * max / model.contentWidth());
        bar.setValue(model.scrollProperty().get());
        bar.setUnitIncrement(model.slot());
        bar.setBlockIncrement(model.width() * 0.8);
        bar.setDisable(max == 0);
        syncing = false;
        surface.redraw();
    }

    private void hover(MouseEvent e) {
        mouseX = e.getX();
        mouseY = e.getY();
        int s = model.stepAt(e.getX());
        if (model.hoverProperty().get() == s) {
            surface.drawOverlay();
        } else {
            model.hoverProperty().set(s);
        }
    }

    private void wheel(ScrollEvent e) {
        if (e.isControlDown()) {
            model.zoomBy(Math.exp(e.getDeltaY() / 200), e.getX());
        } else {
            model.scrollBy(-(Math.abs(e.getDeltaX()) > Math.abs(e.getDeltaY()) ? e.getDeltaX() : e.getDeltaY()));
        }
        e.consume();
    }

    private void key(KeyEvent e) {
        int sel = model.selectedProperty().get();
        switch (e.getCode()) {
            case RIGHT -> model.select(sel + 1);
            case LEFT -> model.select(sel < 0 ? 0 : sel - 1);
            case HOME -> model.select(0);
            case END -> model.select(model.steps() - 1);
            case PLUS, ADD, EQUALS -> model.zoomBy(1.5, model.width() / 2);
            case MINUS, SUBTRACT -> model.zoomBy(1 / 1.5, model.width() / 2);
            case DIGIT0, NUMPAD0 -> model.fit();
            default -> {
                return;
            }
        }
        e.consume();
    }

    /**
     * Two canvases: the bars (redrawn when the plan, zoom, scroll or size change) and an
     * overlay (redrawn on hover and selection), so hovering never repaints 10,000 bars.
     */
    final class Surface extends CanvasPane {
        private final javafx.scene.canvas.Canvas overlay = new javafx.scene.canvas.Canvas();

        Surface() {
            overlay.setMouseTransparent(true);
            getChildren().add(overlay);
        }

        @Override
        protected void resized(double w, double h) {
            model.setWidth(w);
            changed();
        }

        @Override
        protected boolean drawsOnEveryLayout() {
            return false; // the model's listeners redraw (see changed())
        }

        @Override
        protected void layoutChildren() {
            super.layoutChildren();
            if (overlay.getWidth() != canvas.getWidth() || overlay.getHeight() != canvas.getHeight()) {
                overlay.setWidth(canvas.getWidth());
                overlay.setHeight(canvas.getHeight());
                drawOverlay();
            }
        }

        /** Draws both layers now. */
        void redraw() {
            draw();
            drawOverlay();
        }

        /** Track heights for a canvas of height h: the constants at the least, growing 4:3. */
        private double track1;
        private double track2;

        @Override
        protected void paint(GraphicsContext g, double w, double h) {
            double spare = Math.max(0, h - HEIGHT);
            track1 = TRACK1 + spare * 4 / 7;
            track2 = TRACK2 + spare * 3 / 7;
            g.setFill(Color.WHITE);
            g.fillRect(0, 0, w, h);
            text(g);
            int n = model.steps();
            double t1 = TOP;
            double t2 = TOP + track1 + GAP;
            g.setFill(Palette.MUTED);
            g.fillText("patches in apply order (height: bytes, log scale)", 4, 2);
            g.fillText("where each step lands in the file (0 at top) and the file end", 4, t2 - 16);
            g.setStroke(Palette.GRID);
            g.strokeLine(0, t1 + track1 + 0.5, w, t1 + track1 + 0.5);
            g.setFill(Color.web("#f7f7f7"));
            g.fillRect(0, t2, w, track2);
            if (n == 0) {
                g.setFill(Palette.MUTED);
                g.fillText("No plan: type a new size.", 8, t1 + 30);
                return;
            }
            int[] vis = model.visible();
            double slot = model.slot();
            double fileMax = model.fileMax();
            // Track 1: bars, at most one per pixel column.
            int lastCol = Integer.MIN_VALUE;
            double colH = 0;
            TimelineModel.Kind colKind = null;
            double gap = slot >= 6 ? 2 : 0;
            for (int s = vis[0]; s < vis[1]; s++) {
                double x = model.x(s);
                double bh = model.height(s) * (track1 - 4);
                if (slot < 2) {
                    int col = (int) x;
                    if (col != lastCol) {
                        if (colKind != null) {
                            g.setFill(Palette.of(colKind));
                            g.fillRect(lastCol, t1 + track1 - colH, 1, colH);
                        }
                        lastCol = col;
                        colH = 0;
                        colKind = null;
                    }
                    if (bh >= colH) {
                        colH = bh;
                        colKind = model.kind(s);
                    }
                } else {
                    g.setFill(Palette.of(model.kind(s)));
                    g.fillRect(x + gap / 2, t1 + track1 - bh, slot - gap, bh);
                }
            }
            if (colKind != null) {
                g.setFill(Palette.of(colKind));
                g.fillRect(lastCol, t1 + track1 - colH, 1, colH);
            }
            // Track 2: where each step lands, and the file end after each step.
            double oldY = fileY(model.oldFileSize());
            g.setStroke(Color.web("#9e9e9e"));
            g.setLineDashes(3, 3);
            g.strokeLine(0, oldY, w, oldY);
            g.setLineDashes();
            int lastMark = Integer.MIN_VALUE;
            for (int s = vis[0]; s < vis[1]; s++) {
                double x = model.x(s);
                if (slot < 2 && (int) x == lastMark) {
                    continue;
                }
                lastMark = (int) x;
                double y = fileY(model.offset(s));
                double hh = Math.max(2, (track2 - 6) * model.length(s) / fileMax);
                g.setFill(Palette.of(model.kind(s)));
                g.fillRect(x + gap / 2, Math.min(y, t2 + track2 - 2), Math.max(1, slot - gap), hh);
            }
            // The file end after each step as a staircase of axis-aligned rectangles (cheap to
            // rasterise, unlike an antialiased path): level over each step, a riser where it moves.
            g.setFill(Palette.TEXT);
            int first = Math.max(0, vis[0] - 1);
            double prevY = fileY(first == 0 ? model.oldFileSize() : model.fileEndAfter(first - 1));
            int lastPx = Integer.MIN_VALUE;
            for (int s = first; s < vis[1]; s++) {
                double x = model.x(s);
                double y = fileY(model.fileEndAfter(s));
                if (slot < 2 && (int) x == lastPx && y == prevY) {
                    continue;
                }
                lastPx = (int) x;
                if (y != prevY) {
                    g.fillRect(x, Math.min(y, prevY), 1.5, Math.abs(y - prevY) + 1.5);
                }
                g.fillRect(x, y, Math.max(1.5, slot), 1.5);
                prevY = y;
            }
        }

        /** The layer over the bars: selection and hover outlines, the commit marker, the hover bubble. */
        void drawOverlay() {
            GraphicsContext g = overlay.getGraphicsContext2D();
            double w = overlay.getWidth();
            g.clearRect(0, 0, w, overlay.getHeight());
            if (model.steps() == 0) {
                return;
            }
            text(g);
            double slot = model.slot();
            double t1 = TOP;
            double t2 = TOP + track1 + GAP;
            outline(g, model.selectedProperty().get(), Palette.TEXT, 2);
            int hover = model.hoverProperty().get();
            outline(g, hover, Color.web("#1f77b4"), 1);
            // Commit marker after the commit step, over the outlines.
            int commit = model.commit();
            double cx = model.x(commit) + slot;
            if (cx >= -2 && cx <= w + 2) {
                g.setStroke(Palette.COMMIT);
                g.setLineWidth(2);
                g.strokeLine(cx, t1 - 4, cx, t2 + track2);
                g.setLineWidth(1);
                double lx = Math.min(cx + 4, w - 110);
                g.setFill(Color.web("#ffffffd9"));
                g.fillRect(lx - 2, t1 + 1, 104, 15);
                g.setFill(Palette.COMMIT);
                g.fillText("commit (step " + commit + ")", lx, t1 + 2);
            }
            if (hover >= 0 && mouseX >= 0) {
                bubble(g, model.describe(hover), mouseX, mouseY, w);
            }
        }

        private void text(GraphicsContext g) {
            g.setFont(Palette.SMALL);
            g.setTextBaseline(VPos.TOP);
            g.setTextAlign(TextAlignment.LEFT);
        }

        /** The y of a file offset on the second track (0 at its top, the largest file end 3 px above its bottom). */
        private double fileY(long offset) {
            return TOP + track1 + GAP + 3 + (track2 - 6) * offset / (double) model.fileMax();
        }

        private void outline(GraphicsContext g, int s, Color c, double lw) {
            if (s < 0 || s >= model.steps()) {
                return;
            }
            double x = model.x(s);
            g.setStroke(c);
            g.setLineWidth(lw);
            g.strokeRect(x + 0.5, TOP - 2, Math.max(2, model.slot() - 1), track1 + GAP + track2 + 2);
            g.setLineWidth(1);
        }

        private void bubble(GraphicsContext g, String text, double x, double y, double w) {
            double tw = Math.min(w - 8, 6.2 * text.length() + 12);
            double bx = Math.max(4, Math.min(x + 12, w - tw - 4));
            double by = Math.max(2, Math.min(y + 14, getHeight() - 24));
            g.setFill(Color.web("#333333e6"));
            g.fillRoundRect(bx, by, tw, 20, 6, 6);
            g.setFill(Color.WHITE);
            g.fillText(text, bx + 6, by + 3, tw - 12);
        }
    }

    /** "12 steps · 3 writes …" for the label above. */
    static String summary(TimelineModel m) {
        if (m.steps() == 0) {
            return "";
        }
        return (m.steps() - 1) + " patch" + (m.steps() == 2 ? "" : "es") + " then the final length · commit at step "
                + m.commit() + " · file " + SizeText.human(m.oldFileSize()) + " → "
                + SizeText.human(m.fileEndAfter(m.steps() - 1));
    }
}
