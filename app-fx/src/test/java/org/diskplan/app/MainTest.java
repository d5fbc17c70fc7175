package org.diskplan.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import org.diskplan.app.Main.Route;
import org.diskplan.app.cli.DiskPlanCli;
import org.diskplan.planner.apply.UndoJournal;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MainTest {
    private static final Set<Path> FILES = Set.of(Path.of("disk.qcow2"), Path.of("disk.raw.diskplan-journal"));

    private static Route route(String... args) {
        return Main.route(args, FILES::contains);
    }

    @Test
    void windowForNoArgumentsGuiOrASingleExistingFile() {
        assertThat(route()).isEqualTo(Route.WINDOW);
        assertThat(route("gui")).isEqualTo(Route.WINDOW);
        assertThat(route("gui", "disk.qcow2")).isEqualTo(Route.WINDOW);
        assertThat(route("disk.qcow2")).isEqualTo(Route.WINDOW);
        assertThat(route("disk.raw.diskplan-journal")).isEqualTo(Route.WINDOW);
    }

    @Test
    void commandLineForSubcommandsAndOptions() {
        assertThat(route("resize", "a.raw", "1G")).isEqualTo(Route.COMMAND_LINE);
        assertThat(route("info")).isEqualTo(Route.COMMAND_LINE);
        assertThat(route("--help")).isEqualTo(Route.COMMAND_LINE);
        assertThat(route("--version")).isEqualTo(Route.COMMAND_LINE);
        // two words are always the command line (picocli then names the unknown subcommand)
        assertThat(route("frobnicate", "disk.qcow2")).isEqualTo(Route.COMMAND_LINE);
    }

    @Test
    void aMistypedSubcommandIsAUsageErrorNotAFileToOpen() {
        assertThat(route("frobnicate")).isEqualTo(Route.UNKNOWN_WORD);
        assertThat(route("missing.qcow2")).isEqualTo(Route.UNKNOWN_WORD);
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Main.unknownWord("frobnicate", new PrintStream(err, true, StandardCharsets.UTF_8));
        assertThat(status).isEqualTo(DiskPlanCli.USAGE).isEqualTo(2);
        String text = err.toString(StandardCharsets.UTF_8);
        assertThat(text).startsWith("diskplan: 'frobnicate' is neither a command nor an existing file")
                .contains("Try 'diskplan --help'").doesNotContain("Exception", "\tat ");
    }

    @Test
    void aJournalOpensTheImageItBelongsTo() {
        assertThat(Main.imageFor("/tmp/disk.raw.diskplan-journal")).isEqualTo("/tmp/disk.raw");
        assertThat(Main.imageFor("/tmp/disk.raw")).isEqualTo("/tmp/disk.raw");
        assertThat(Main.imageFor(".diskplan-journal")).isEqualTo(".diskplan-journal");
        assertThat(Main.imageFor("disk.vhd.diskplan-journal")).isEqualTo("disk.vhd");
    }

    /** A block device's journal lies in the journal folder, named after the device: it opens the device. */
    @Test
    void aDeviceJournalOpensItsDevice(@TempDir Path folder) {
        String before = System.getProperty(UndoJournal.DEVICE_JOURNAL_DIR_PROPERTY);
        System.setProperty(UndoJournal.DEVICE_JOURNAL_DIR_PROPERTY, folder.toString());
        try {
            assertThat(Main.imageFor(folder.resolve("dev!sdb.diskplan-journal").toString())).isEqualTo("/dev/sdb");
            assertThat(Main.imageFor(folder.resolve("dev!mapper!vg-disk.diskplan-journal").toString()))
                    .isEqualTo("/dev/mapper/vg-disk");
            // the same name elsewhere is an ordinary file's journal
            assertThat(Main.imageFor("/tmp/dev!sdb.diskplan-journal")).isEqualTo("/tmp/dev!sdb");
            // and the device's journal path maps back to the device
            assertThat(UndoJournal.imageOf(folder.resolve("dev!sdb" + UndoJournal.SUFFIX)))
                    .contains(Path.of("/dev/sdb"));
        } finally {
            if (before == null) {
                System.clearProperty(UndoJournal.DEVICE_JOURNAL_DIR_PROPERTY);
            } else {
                System.setProperty(UndoJournal.DEVICE_JOURNAL_DIR_PROPERTY, before);
            }
        }
    }

    @Test
    void withoutADisplayTheWindowIsRefusedInOneLine() {
        String line = Main.noDisplay(Map.of(), "Linux", "").orElseThrow();
        assertThat(line).startsWith("diskplan: the window needs a display").contains("diskplan info/plan/resize")
                .doesNotContain("\n");
        assertThat(Main.noDisplay(Map.of("DISPLAY", ":0"), "Linux", "")).isEmpty();
        assertThat(Main.noDisplay(Map.of("WAYLAND_DISPLAY", "wayland-0"), "Linux", "")).isEmpty();
        assertThat(Main.noDisplay(Map.of(), "Mac OS X", "")).isEmpty();
        assertThat(Main.noDisplay(Map.of(), "Linux", "Monocle")).isEmpty();
    }

    @Test
    void oneVersionWithoutSnapshot() {
        assertThat(Version.number()).doesNotContain("SNAPSHOT", "$", "unknown").matches("\\d+\\.\\d+\\.\\d+.*");
        assertThat(Version.line()).isEqualTo("diskplan " + Version.number());
        assertThat(Version.strip("0.2.0-SNAPSHOT")).isEqualTo("0.2.0");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int status = DiskPlanCli.run(new String[] {"--version"}, new PrintStream(out, true, StandardCharsets.UTF_8),
                System.err);
        assertThat(status).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8).strip()).isEqualTo(Version.line());
    }
}
