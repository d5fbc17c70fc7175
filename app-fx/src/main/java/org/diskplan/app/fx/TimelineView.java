package org.diskplan.app.fx;

import javafx.geometry.Orientation;
import javafx.geometry.VPos;
import javafx.scene.AccessibleRole;
import javafx.scene.canvas.GraphicsContext;
import javafx.scene.control.ScrollBar;
import javafx.scene.input.KeyEvent;
import javafx.scene.input.MouseEvent;
import javafx.scene.input.ScrollEvent;
import javafx.scene.layout.VBox;
import javafx.scene.paint.Color;
import javafx.scene.shape.Line;
import javafx.scene.shape.Rectangle;
import javafx.scene.text.Text;
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
    /** The per-file track of a multi-file plan, under the others: a caption, then one lane per file. */
    static final double LANE_CAPTION = 16;
    static final double LANE_H = 14;

    private final TimelineModel model;
    private final Surface surface = new Surface();
    private final ScrollBar bar = new ScrollBar();
    private double mouseX = -1;
    private String emptyText = "No plan: type a new size.";
    private double mouseY = -1;
    private boolean syncing;

    TimelineView(TimelineModel model) {
        this.model = model;
        getStyleClass().add("timeline");
        surface.setPrefHeight(HEIGHT);
        surface.setMinHeight(HEIGHT);
        // A fixed height (the window gives spare room to the hex diff below): under a
        // software renderer a frame costs in proportion to the canvas area, and at twice
        // this height a zoom frame took about 11 ms of painting instead of 6.
        surface.setMaxHeight(HEIGHT);
        surface.setFocusTraversable(true);
        surface.setAccessibleRole(AccessibleRole.LIST_VIEW);
        surface.setAccessibleText("Plan timeline: Left and Right select a step, plus and minus zoom, 0 fits");
        // No Tooltip here: the hover bubble is the one tooltip (the keys are listed beside the legend).
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

    /** What the empty timeline says (for example why no plan can be made). */
    public void setEmptyText(String text) {
        emptyText = text;
        changed();
    }

    /** The surface's height: the two tracks, and the per-file lanes when the plan writes several files. */
    static double height(int lanes) {
        return HEIGHT + (lanes == 0 ? 0 : LANE_CAPTION + lanes * LANE_H + 4);
    }

    /** Top of lane {@code lane} on the surface. */
    static double laneY(int lane) {
        return HEIGHT + LANE_CAPTION + lane * LANE_H;
    }

    private void changed() {
        double h = height(model.lanes());
        if (surface.getPrefHeight() != h) {
            surface.setMinHeight(h);
            surface.setPrefHeight(h);
            surface.setMaxHeight(h);
        }
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
            case PLUS, ADD, EQUALS -> model.zoomKeepingSelection(1.5);
            case MINUS, SUBTRACT -> model.zoomKeepingSelection(1 / 1.5);
            case DIGIT0, NUMPAD0 -> model.fit();
            default -> {
                return;
            }
        }
        e.consume();
    }

    /**
     * The bars on a canvas (redrawn when the plan, zoom, scroll or size change) and, over
     * it, a few small nodes for the selection and hover outlines, the commit marker and
     * the hover bubble: moving one of those repaints only the pixels it covers, where an
     * overlay canvas as large as the view made every hover repaint (and blend) all of it.
     */
    final class Surface extends CanvasPane {
        private final Rectangle selectedBox = outlineBox(Palette.TEXT, 2);
        private final Rectangle hoverBox = outlineBox(Color.web("#1f77b4"), 1);
        private final Line commitLine = new Line();
        private final Rectangle commitBack = new Rectangle(104, 15, Color.web("#ffffffd9"));
        private final Text commitText = new Text();
        /** The second track's caption, over the step outlines that cross its band. */
        private final Text trackCaption = new Text("where each step lands in the file (0 at top) and the file end");
        private final Rectangle trackCaptionBack = new Rectangle(0, 14, Color.WHITE);
        private final Rectangle bubbleBack = new Rectangle();
        private final Text bubbleText = new Text();
        private final Rectangle clip = new Rectangle();

        Surface() {
            commitLine.setStroke(Palette.COMMIT);
            commitLine.setStrokeWidth(2);
            commitText.setFill(Palette.COMMIT);
            bubbleBack.setFill(Color.web("#333333e6"));
            bubbleBack.setArcWidth(6);
            bubbleBack.setArcHeight(6);
            bubbleBack.setHeight(20);
            bubbleText.setFill(Color.WHITE);
            trackCaption.setFill(Palette.MUTED);
            for (Text t : new Text[] {commitText, bubbleText, trackCaption}) {
                t.setFont(Palette.SMALL);
                t.setTextOrigin(VPos.TOP);
            }
            // the caption over the outlines that cross its band; the commit line stays on top
            for (javafx.scene.Node n : new javafx.scene.Node[] {selectedBox, hoverBox, trackCaptionBack, trackCaption,
                    commitLine, commitBack, commitText, bubbleBack, bubbleText}) {
                n.setManaged(false);
                n.setMouseTransparent(true);
                n.setVisible(false);
                getChildren().add(n);
            }
            double captionY = TOP + TRACK1 + GAP - 16;
            trackCaption.setX(4);
            trackCaption.setY(captionY);
            trackCaptionBack.setX(2);
            trackCaptionBack.setY(captionY);
            trackCaptionBack.setWidth(trackCaption.getLayoutBounds().getWidth() + 4);
            trackCaption.setVisible(true);
            trackCaptionBack.setVisible(true);
            setClip(clip); // outlines at the edges stay inside the view
        }

        private static Rectangle outlineBox(Color stroke, double width) {
            Rectangle r = new Rectangle();
            r.setFill(null);
            r.setStroke(stroke);
            r.setStrokeWidth(width);
            r.setStrokeType(javafx.scene.shape.StrokeType.CENTERED);
            return r;
        }

        @Override
        protected void resized(double w, double h) {
            clip.setWidth(w);
            clip.setHeight(h);
            model.setWidth(w);
            changed();
        }

        @Override
        protected boolean paintsEveryPixel() {
            return true; // bars() starts with a white rectangle over all of it
        }

        @Override
        protected boolean drawsOnEveryLayout() {
            return false; // the model's listeners redraw (see changed())
        }

        /** Draws the bars and places the overlay in the next layout pass (once per frame). */
        void redraw() {
            redrawLater();
        }

        @Override
        protected void paint(GraphicsContext g, double w, double h) {
            bars(g, w, h);
            lanes(g, w);
            drawOverlay();
        }

        /**
         * The per-file track: one lane per file, a mark in the column of each step that writes
         * that file (in its kind's colour); at the final step, a mark in each lane whose file's
         * length changes.
         */
        private void lanes(GraphicsContext g, double w) {
            int lanes = model.lanes();
            if (lanes == 0 || model.steps() == 0) {
                return;
            }
            g.setFill(Palette.MUTED);
            g.setFont(Palette.SMALL);
            g.setTextBaseline(VPos.TOP);
            g.fillText("which file each step writes", 4, HEIGHT + 1);
            for (int f = 0; f < lanes; f++) {
                g.setFill(f % 2 == 0 ? Color.web("#f7f7f7") : Color.web("#efefef"));
                g.fillRect(0, laneY(f), w, LANE_H);
            }
            int[] vis = model.visible();
            double slot = model.slot();
            double gap = slot >= 6 ? 2 : 0;
            for (int s = vis[0]; s < vis[1]; s++) {
                double x = model.x(s);
                int file = model.file(s);
                g.setFill(Palette.of(model.kind(s)));
                if (file >= 0 && file < lanes) {
                    g.fillRect(x + gap / 2, laneY(file) + 2, Math.max(1, slot - gap), LANE_H - 4);
                } else if (file < 0) {
                    for (int f = 0; f < lanes; f++) {
                        if (model.lengthChanges(f)) {
                            g.fillRect(x + gap / 2, laneY(f) + 2, Math.max(1, slot - gap), LANE_H - 4);
                        }
                    }
                }
            }
            // the file names over the lanes, on a light backing so marks under them stay readable
            g.setFont(Palette.SMALL);
            for (int f = 0; f < lanes; f++) {
                String name = model.laneName(f);
                double tw = name.length() * 6.2 + 6;
                g.setFill(Color.web("#ffffffcc"));
                g.fillRect(w - tw - 4, laneY(f) + 1, tw, LANE_H - 2);
                g.setFill(Palette.TEXT);
                g.setTextAlign(javafx.scene.text.TextAlignment.RIGHT);
                g.fillText(name, w - 7, laneY(f) + 1);
                g.setTextAlign(javafx.scene.text.TextAlignment.LEFT);
            }
        }

        private void axisLabel(GraphicsContext g, String text, double right, double y) {
            double tw = text.length() * 6.2 + 4;
            double top = g.getTextBaseline() == VPos.TOP ? y : g.getTextBaseline() == VPos.BOTTOM ? y - 12 : y - 6;
            g.setFill(Color.web("#f7f7f7dd"));
            g.fillRect(right - tw, top, tw + 2, 12);
            g.setFill(Palette.MUTED);
            g.fillText(text, right, y);
        }

        private void bars(GraphicsContext g, double w, double h) {
            g.setFill(Color.WHITE);
            g.fillRect(0, 0, w, h);
            text(g);
            int n = model.steps();
            double t1 = TOP;
            double t2 = TOP + TRACK1 + GAP;
            g.setFill(Palette.MUTED);
            g.fillText("patches in apply order (height: bytes, log scale)", 4, 2);
            g.setStroke(Palette.GRID);
            g.strokeLine(0, t1 + TRACK1 + 0.5, w, t1 + TRACK1 + 0.5);
            g.setFill(Color.web("#f7f7f7"));
            g.fillRect(0, t2, w, TRACK2);
            if (n == 0) {
                g.setFill(Palette.MUTED);
                g.fillText(emptyText, 8, t1 + 30);
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
                double bh = model.height(s) * (TRACK1 - 4);
                if (slot < 2) {
                    int col = (int) x;
                    if (col != lastCol) {
                        if (colKind != null) {
                            g.setFill(Palette.of(colKind));
                            g.fillRect(lastCol, t1 + TRACK1 - colH, 1, colH);
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
                    g.fillRect(x + gap / 2, t1 + TRACK1 - bh, slot - gap, bh);
                }
            }
            if (colKind != null) {
                g.setFill(Palette.of(colKind));
                g.fillRect(lastCol, t1 + TRACK1 - colH, 1, colH);
            }
            // Track 2: where each step lands, and the file end after each step.
            double oldY = fileY(model.oldFileSize());
            g.setStroke(Color.web("#9e9e9e"));
            g.setLineDashes(3, 3);
            g.strokeLine(0, oldY, w, oldY);
            g.setLineDashes();
            // Axis labels of the file track, at its right edge: offset 0 at the top, the
            // largest offset at the bottom, the old end on its dashed line.
            g.save();
            g.setFont(Palette.SMALL);
            g.setTextAlign(javafx.scene.text.TextAlignment.RIGHT);
            g.setTextBaseline(VPos.TOP);
            axisLabel(g, "offset 0", w - 4, t2 + 1);
            g.setTextBaseline(VPos.BOTTOM);
            axisLabel(g, SizeText.human((long) fileMax), w - 4, t2 + TRACK2 - 1);
            g.setTextBaseline(VPos.BOTTOM); // just above its dashed line, clear of the other two
            if (oldY > t2 + 26 && oldY < t2 + TRACK2 - 12) {
                axisLabel(g, "old end " + SizeText.human(model.oldFileSize()), w - 4, oldY - 1);
            }
            g.restore();
            int lastMark = Integer.MIN_VALUE;
            for (int s = vis[0]; s < vis[1]; s++) {
                double x = model.x(s);
                if (slot < 2 && (int) x == lastMark) {
                    continue;
                }
                lastMark = (int) x;
                double y = fileY(model.offset(s));
                double hh = Math.max(2, (TRACK2 - 6) * model.length(s) / fileMax);
                g.setFill(Palette.of(model.kind(s)));
                g.fillRect(x + gap / 2, Math.min(y, t2 + TRACK2 - 2), Math.max(1, slot - gap), hh);
            }
            // The file end after each step as a staircase of axis-aligned rectangles (cheap to
            // rasterise, unlike an antialiased path), on half pixels: one level for each run of
            // steps at the same height, a riser where it moves (a fitted plan of thousands of
            // steps is a few dozen rectangles, not two per pixel column).
            g.setFill(Palette.TEXT);
            int first = Math.max(0, vis[0] - 1);
            double runY = halfPixel(fileY(first == 0 ? model.oldFileSize() : model.fileEndAfter(first - 1)));
            double runX = model.x(first);
            for (int s = first; s < vis[1]; s++) {
                double x = model.x(s);
                double y = halfPixel(fileY(model.fileEndAfter(s)));
                if (y != runY) {
                    if (x > runX) {
                        g.fillRect(runX, runY, Math.max(1.5, x - runX), 1.5);
                    }
                    g.fillRect(x, Math.min(y, runY), 1.5, Math.abs(y - runY) + 1.5);
                    runX = x;
                    runY = y;
                }
            }
            double endX = vis[1] > first ? model.x(vis[1] - 1) + slot : runX;
            g.fillRect(runX, runY, Math.max(1.5, endX - runX), 1.5);
        }

        private static double halfPixel(double y) {
            return Math.round(y * 2) / 2.0;
        }

        /** Places the nodes over the bars: selection and hover outlines, the commit marker, the hover bubble. */
        void drawOverlay() {
            double w = canvas.getWidth();
            boolean any = model.steps() > 0 && w > 0;
            outline(selectedBox, any ? model.selectedProperty().get() : -1, w);
            int hover = any ? model.hoverProperty().get() : -1;
            outline(hoverBox, hover, w);
            // Commit marker after the commit step, over the outlines.
            double slot = model.slot();
            double t1 = TOP;
            double t2 = TOP + TRACK1 + GAP;
            int commit = model.commit();
            double cx = model.x(commit) + slot;
            boolean showCommit = any && cx >= -2 && cx <= w + 2;
            commitLine.setVisible(showCommit);
            commitBack.setVisible(showCommit);
            commitText.setVisible(showCommit);
            if (showCommit) {
                commitLine.setStartX(cx);
                commitLine.setEndX(cx);
                commitLine.setStartY(t1 - 4);
                commitLine.setEndY(model.lanes() == 0 ? t2 + TRACK2 : laneY(model.lanes()));
                double lx = Math.min(cx + 4, w - 110);
                commitBack.setX(lx - 2);
                commitBack.setY(t1 + 1);
                commitText.setText("commit (step " + commit + ")");
                commitText.setX(lx);
                commitText.setY(t1 + 2);
                commitBack.setWidth(commitText.getLayoutBounds().getWidth() + 4);
            }
            boolean showBubble = hover >= 0 && mouseX >= 0;
            bubbleBack.setVisible(showBubble);
            bubbleText.setVisible(showBubble);
            if (showBubble) {
                bubble(model.describe(hover), mouseX, mouseY, w);
            }
        }

        private void outline(Rectangle box, int s, double w) {
            double x = s < 0 || s >= model.steps() ? Double.NaN : model.x(s);
            double bw = Math.max(2, model.slot() - 1);
            if (Double.isNaN(x) || x + bw < -2 || x > w + 2) {
                box.setVisible(false);
                return;
            }
            box.setX(x + 0.5);
            box.setY(TOP - 2);
            box.setWidth(bw);
            box.setHeight((model.lanes() == 0 ? TRACK1 + GAP + TRACK2 : laneY(model.lanes()) - TOP) + 2);
            box.setVisible(true);
        }

        private void bubble(String text, double x, double y, double w) {
            double tw = Math.min(w - 8, 6.2 * text.length() + 12);
            int fits = (int) Math.max(1, (tw - 12) / 6.2);
            bubbleText.setText(text.length() > fits ? text.substring(0, Math.max(0, fits - 1)) + "…" : text);
            double bx = Math.max(4, Math.min(x + 12, w - tw - 4));
            double by = Math.max(2, Math.min(y + 14, getHeight() - 24));
            bubbleBack.setX(bx);
            bubbleBack.setY(by);
            bubbleBack.setWidth(tw);
            bubbleText.setX(bx + 6);
            bubbleText.setY(by + 3);
        }

        private void text(GraphicsContext g) {
            g.setFont(Palette.SMALL);
            g.setTextBaseline(VPos.TOP);
            g.setTextAlign(TextAlignment.LEFT);
        }

        /** The y of a file offset on the second track (0 at its top, the largest file end 3 px above its bottom). */
        private double fileY(long offset) {
            return TOP + TRACK1 + GAP + 3 + (TRACK2 - 6) * offset / (double) model.fileMax();
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
