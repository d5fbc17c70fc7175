package org.diskplan.app.fx;

import javafx.beans.property.ObjectProperty;
import javafx.beans.property.SimpleObjectProperty;
import javafx.scene.AccessibleRole;
import javafx.scene.canvas.GraphicsContext;
import javafx.scene.paint.Color;
import javafx.scene.text.FontSmoothingType;
import javafx.scene.text.Text;
import javafx.geometry.VPos;
import org.diskplan.app.fx.model.HexWindow;

/** Rows of 16 bytes (offset, hex, ASCII) with the marked bytes highlighted, drawn on a canvas. */
final class HexView extends CanvasPane {
    static final double PAD = 6;
    private static final double CHAR_W;
    private static final double LINE_H;

    static {
        Text t = new Text("0");
        t.setFont(Palette.MONO);
        CHAR_W = t.getLayoutBounds().getWidth();
        LINE_H = Math.ceil(t.getLayoutBounds().getHeight()) + 2;
    }

    private final ObjectProperty<HexWindow> window = new SimpleObjectProperty<>(this, "window", HexWindow.EMPTY);
    private final Color markColor;
    private final boolean ascii;

    /** A hex view with the ASCII column ({@code ascii}) or without it (narrower, for the diff). */
    HexView(Color markColor, boolean ascii) {
        this.markColor = markColor;
        this.ascii = ascii;
        getStyleClass().add("hex-view");
        setAccessibleRole(AccessibleRole.TEXT);
        window.addListener((o, a, b) -> {
            setAccessibleText(b.markedHex());
            requestLayout();
            draw();
        });
        double chars = ascii ? 78 : 59;
        setMinWidth(PAD * 2 + CHAR_W * chars);
        setPrefWidth(PAD * 2 + CHAR_W * chars);
    }

    /** The height {@code rows} rows take, padding included. */
    static double rowsHeight(int rows) {
        return PAD * 2 + LINE_H * rows;
    }

    ObjectProperty<HexWindow> windowProperty() {
        return window;
    }

    HexWindow window() {
        return window.get();
    }

    @Override
    protected double computePrefHeight(double width) {
        return PAD * 2 + LINE_H * Math.max(4, window.get().rows());
    }

    @Override
    protected void paint(GraphicsContext g, double w, double h) {
        HexWindow hw = window.get();
        g.setFill(Color.WHITE);
        g.fillRect(0, 0, w, h);
        g.setFontSmoothingType(FontSmoothingType.GRAY);
        g.setFont(Palette.MONO);
        g.setTextBaseline(VPos.TOP);
        if (hw.size() == 0) {
            g.setFill(Palette.MUTED);
            g.fillText("(nothing selected)", PAD, PAD);
            return;
        }
        for (int row = 0; row < hw.rows(); row++) {
            double y = PAD + row * LINE_H;
            if (y > h) {
                break;
            }
            for (int c = 0; c < HexWindow.ROW; c++) {
                int i = row * HexWindow.ROW + c;
                if (i < hw.size() && hw.isMarked(i)) {
                    g.setFill(markColor);
                    g.fillRect(PAD + CHAR_W * (10 + c * 3 + (c >= 8 ? 1 : 0)) - 1, y - 1, CHAR_W * 2 + 2, LINE_H);
                    if (ascii) {
                        g.fillRect(PAD + CHAR_W * (61 + c), y - 1, CHAR_W, LINE_H);
                    }
                }
            }
            String text = hw.rowText(row);
            g.setFill(Palette.MUTED);
            g.fillText(text.substring(0, 8), PAD, y);
            g.setFill(Palette.TEXT);
            g.fillText(ascii ? text.substring(8) : text.substring(8, 58), PAD + CHAR_W * 8, y);
        }
    }
}
