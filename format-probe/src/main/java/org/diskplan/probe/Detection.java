package org.diskplan.probe;

import java.util.Objects;
import org.diskplan.abi.ImageFormat;

/** What {@link FormatDetector} found, and the bytes that told it. */
public record Detection(ImageFormat format, String evidence) {
    public Detection {
        Objects.requireNonNull(format, "format");
        Objects.requireNonNull(evidence, "evidence");
    }
}
