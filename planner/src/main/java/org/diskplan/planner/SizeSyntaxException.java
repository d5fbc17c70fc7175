package org.diskplan.planner;

/** A size argument that does not parse; the message and hint are qemu-img's words. */
public final class SizeSyntaxException extends Exception {
    private static final long serialVersionUID = 1L;
    private final String hint;

    public SizeSyntaxException(String message, String hint) {
        super(message);
        this.hint = hint;
    }

    /** Extra lines printed after the message (may be empty). */
    public String hint() {
        return hint;
    }
}
