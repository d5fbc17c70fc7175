package org.diskplan.app.fx;

import javafx.application.Application;

/** Starts the window. Kept apart from Main so the command line never loads JavaFX. */
public final class GuiLauncher {
    private GuiLauncher() {
    }

    public static void launch(String[] args) {
        Application.launch(DiskPlanApp.class, args);
    }
}
