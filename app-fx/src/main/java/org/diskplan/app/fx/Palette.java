package org.diskplan.app.fx;

import javafx.scene.paint.Color;
import javafx.scene.text.Font;
import org.diskplan.app.fx.model.TimelineModel;
import org.diskplan.probe.RegionKind;

/** The window's colours and fonts, shared by the layout map, the timeline and the hex views. */
final class Palette {
    static final Font MONO = Font.font("Monospaced", 12);
    static final Font SMALL = Font.font("System", 11);
    static final Color TEXT = Color.web("#222222");
    static final Color MUTED = Color.web("#6b6b6b");
    static final Color GRID = Color.web("#e4e4e4");
    static final Color COMMIT = Color.web("#d62728");
    static final Color MARK = Color.web("#ffe08a");
    static final Color DIFF = Color.web("#ffd2d2");
    /** Allocated data a shrink would cut off (on the layout map). */
    static final Color CUT = Color.web("#9b1c31");

    private Palette() {
    }

    static Color of(RegionKind kind) {
        return switch (kind) {
            case HEADER -> Color.web("#4e79a7");
            case TABLE -> Color.web("#f28e2b");
            case REFCOUNT -> Color.web("#e15759");
            case METADATA -> Color.web("#76b7b2");
            case LOG -> Color.web("#edc948");
            case DATA -> Color.web("#59a14f");
            case FREE -> Color.web("#dcdcdc");
            case FOOTER -> Color.web("#b07aa1");
        };
    }

    static Color of(TimelineModel.Kind kind) {
        return switch (kind) {
            case WRITE -> Color.web("#4e79a7");
            case APPEND -> Color.web("#59a14f");
            case ZERO -> Color.web("#f28e2b");
            case LENGTH -> Color.web("#7f7f7f");
        };
    }
}
