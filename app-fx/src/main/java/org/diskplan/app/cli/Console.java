package org.diskplan.app.cli;

import java.io.PrintStream;

/** Where a command prints: stdout for results, stderr for errors and warnings, qemu-img style. */
record Console(PrintStream out, PrintStream err) {
    static final String PREFIX = "diskplan: ";

    void error(String message) {
        err.println(PREFIX + message);
    }

    void warning(String message) {
        err.println(PREFIX + "warning: " + message);
    }

    void fail(CliFailure f) {
        error(f.getMessage());
        if (!f.detail.isEmpty()) {
            err.println(f.detail);
        }
    }
}
