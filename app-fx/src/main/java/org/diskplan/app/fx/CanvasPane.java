package org.diskplan.app.fx;

import javafx.scene.canvas.Canvas;
import javafx.scene.canvas.GraphicsContext;
import javafx.scene.layout.Region;

/** A region holding one canvas that follows its size and is redrawn on demand. */
abstract class CanvasPane extends Region {
    protected final Canvas canvas = new Canvas();
    private boolean redrawPending;

    CanvasPane() {
        getChildren().add(canvas);
    }

    @Override
    protected void layoutChildren() {
        double w = snapSizeX(getWidth());
        double h = snapSizeY(getHeight());
        boolean resized = canvas.getWidth() != w || canvas.getHeight() != h;
        if (resized) {
            canvas.setWidth(w);
            canvas.setHeight(h);
            resized(w, h);
        }
        if (resized || redrawPending || drawsOnEveryLayout()) {
            draw();
        }
    }

    /**
     * Redraws in the next layout pass, once however many changes come before it: a zoom
     * changes the zoom and then the scroll, and drawing for each would hand the render
     * thread two full canvases of commands to rasterise in one frame.
     */
    protected final void redrawLater() {
        if (!redrawPending) {
            redrawPending = true;
            requestLayout();
        }
    }

    /**
     * Whether every layout pass redraws (the default: a subclass may ask for a redraw with
     * {@code requestLayout()}); false for a pane that redraws itself whenever its content
     * changes, so that a layout pass elsewhere in the window (a label's new text, a scroll
     * bar's thumb) costs it nothing.
     */
    protected boolean drawsOnEveryLayout() {
        return true;
    }

    /** Whether {@link #paint} covers the whole canvas with opaque colour, so no clear is needed first. */
    protected boolean paintsEveryPixel() {
        return false;
    }

    /** The canvas took a new size (before the redraw). */
    protected void resized(double w, double h) {
    }

    /** Draws the whole canvas. */
    final void draw() {
        redrawPending = false;
        GraphicsContext g = canvas.getGraphicsContext2D();
        if (!paintsEveryPixel()) {
            g.clearRect(0, 0, canvas.getWidth(), canvas.getHeight());
        }
        paint(g, canvas.getWidth(), canvas.getHeight());
    }

    protected abstract void paint(GraphicsContext g, double w, double h);

    Canvas canvas() {
        return canvas;
    }
}
