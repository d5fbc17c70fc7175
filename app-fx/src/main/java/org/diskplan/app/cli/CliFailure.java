package org.diskplan.app.cli;

/** Ends a command: the lines to print on stderr (the first one prefixed) and the exit status. */
final class CliFailure extends Exception {
    private static final long serialVersionUID = 1L;
    final int exitCode;
    final String detail;

    CliFailure(int exitCode, String message, String detail) {
        super(message);
        this.exitCode = exitCode;
        this.detail = detail;
    }

    CliFailure(String message) {
        this(1, message, "");
    }
}
