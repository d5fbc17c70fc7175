package org.diskplan.app.fx.model;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import javafx.collections.FXCollections;
import javafx.collections.ObservableList;

/**
 * The files opened lately, newest first, kept in a small text file (one path a
 * line) under the user's configuration folder. Reads and writes go through
 * {@link Workers}, never on the UI thread.
 */
public final class RecentFiles {
    /** System property naming the configuration folder (tests point it at a temporary one). */
    public static final String CONFIG_DIR_PROPERTY = "diskplan.config.dir";
    static final int MAX = 10;

    private final Path store;
    private final Workers workers;
    private final ObservableList<Path> items = FXCollections.observableArrayList();

    public RecentFiles(Path store, Workers workers) {
        this.store = store;
        this.workers = workers;
    }

    /** {@code $diskplan.config.dir}, else {@code $XDG_CONFIG_HOME/diskplan}, else {@code ~/.config/diskplan}. */
    public static Path defaultStore() {
        String dir = System.getProperty(CONFIG_DIR_PROPERTY);
        if (dir == null || dir.isBlank()) {
            String xdg = System.getenv("XDG_CONFIG_HOME");
            dir = xdg != null && !xdg.isBlank() ? Path.of(xdg, "diskplan").toString()
                    : Path.of(System.getProperty("user.home"), ".config", "diskplan").toString();
        }
        return Path.of(dir, "recent-files");
    }

    public ObservableList<Path> items() {
        return items;
    }

    public Path store() {
        return store;
    }

    /** Loads the list in the background. */
    public void load() {
        workers.run(() -> read(store), items::setAll, e -> { });
    }

    /** Takes {@code file} off the list (it no longer exists) and saves the list; true if it was listed. */
    public boolean remove(Path file) {
        Path abs = file.toAbsolutePath().normalize();
        if (!items.contains(abs)) {
            return false;
        }
        List<Path> next = new ArrayList<>(items);
        next.remove(abs);
        save(next);
        return true;
    }

    /** Puts {@code file} first and saves the list in the background. */
    public void add(Path file) {
        Path abs = file.toAbsolutePath().normalize();
        List<Path> next = new ArrayList<>(items);
        next.remove(abs);
        next.add(0, abs);
        save(next);
    }

    private void save(List<Path> next) {
        while (next.size() > MAX) {
            next.remove(next.size() - 1);
        }
        items.setAll(next);
        List<Path> snapshot = List.copyOf(next);
        workers.run(() -> {
            write(store, snapshot);
            return null;
        }, v -> { }, e -> { });
    }

    static List<Path> read(Path store) throws IOException {
        if (!Files.isRegularFile(store)) {
            return List.of();
        }
        List<Path> out = new ArrayList<>();
        for (String line : Files.readAllLines(store, StandardCharsets.UTF_8)) {
            if (!line.isBlank() && out.size() < MAX) {
                out.add(Path.of(line.strip()));
            }
        }
        return out;
    }

    static void write(Path store, List<Path> files) throws IOException {
        Files.createDirectories(store.getParent());
        Path tmp = store.resolveSibling(store.getFileName() + ".tmp");
        StringBuilder sb = new StringBuilder();
        files.forEach(f -> sb.append(f).append('\n'));
        Files.writeString(tmp, sb, StandardCharsets.UTF_8);
        Files.move(tmp, store, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
