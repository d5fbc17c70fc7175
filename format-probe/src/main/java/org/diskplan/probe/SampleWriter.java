package org.diskplan.probe;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Writes a fresh, valid sample image of one format (for tests, for the window's
 * Samples menu, for `diskplan sample`). Implementations live in their format's
 * package and are found through {@link java.util.ServiceLoader}.
 */
public interface SampleWriter {
    /** The qemu driver name: raw, vpc, qcow2, ... */
    String format();

    /** Subformats the writer can make; the first is the default. */
    List<String> subformats();

    /**
     * Writes {@code file} (which must not exist) with a virtual size of at least
     * {@code size} bytes; returns the virtual size written (formats may round up).
     *
     * @param options format options, e.g. {@code subformat=fixed}; unknown keys are refused
     */
    long write(Path file, long size, Map<String, String> options) throws IOException;
}
