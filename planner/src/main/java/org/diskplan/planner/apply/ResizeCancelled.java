package org.diskplan.planner.apply;

/** The user cancelled before the commit point; the image was rolled back and is unchanged. */
public final class ResizeCancelled extends Exception {
    private static final long serialVersionUID = 1L;

    public ResizeCancelled(String message) {
        super(message);
    }
}
