package org.diskplan.app.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.diskplan.planner.ResizeError;
import org.diskplan.planner.apply.Recovery;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code diskplan recover}: roll back an interrupted resize from its undo journal. */
@Command(name = "recover", description = "Roll back an interrupted resize from the undo journal beside FILE.")
final class RecoverCommand implements Callable<Integer> {
    private final Console console;

    @Parameters(index = "0", paramLabel = "FILE", description = "the image file")
    Path file;

    RecoverCommand(Console console) {
        this.console = console;
    }

    @Override
    public Integer call() {
        try {
            Recovery.Result r = Recovery.recover(file);
            if (r.outcome() == Recovery.Outcome.ROLLED_BACK) {
                console.out().printf("Rolled back '%s' to its original %d bytes.%n", file, r.originalLength());
            } else {
                console.out().printf("The resize of '%s' had already completed (the file was cut to %d bytes); "
                        + "kept the new state and removed the journal.%n", file, r.finalLength());
            }
            return 0;
        } catch (ResizeError e) {
            console.error(e.getMessage());
            return 1;
        }
    }
}
