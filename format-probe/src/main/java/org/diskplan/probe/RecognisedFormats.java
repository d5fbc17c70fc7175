package org.diskplan.probe;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Optional;
import java.util.OptionalLong;
import org.diskplan.abi.ImageFormat;
import org.diskplan.probe.archive.Archive;
import org.diskplan.probe.cloop.CloopProbe;
import org.diskplan.probe.dmg.DmgProbe;
import org.diskplan.probe.vmdk.SeSparseProbe;

/**
 * The signatures of the formats DiskPlan recognises so as never to take them for raw, though it
 * does not resize them: Parallels, Bochs, cloop and seSparse extents by their first bytes, DMG by
 * its trailer, compressed files and archives by their (checksummed) headers. {@link FormatDetector}
 * asks in that order, between the disk formats and raw.
 */
final class RecognisedFormats {
    // No lambdas or streams here: this class runs on every command's start-up path (see ReadWatch / issue 20).
    private static final byte[] PARALLELS_MAGIC = "WithoutFreeSpace".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] PARALLELS_EXT_MAGIC = "WithouFreSpacExt".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] BOCHS_MAGIC = "Bochs Virtual HD Image\0".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CLOOP_START = CloopProbe.PREAMBLE_START.getBytes(StandardCharsets.US_ASCII);
    private static final int CLOOP_PREAMBLE = 128;

    private RecognisedFormats() {
    }

    /** Formats known by their first bytes ({@code head}: up to 512 of them). */
    static Optional<Detection> atStart(byte[] head) {
        if (startsWith(head, PARALLELS_EXT_MAGIC)) {
            return found(ImageFormat.PARALLELS, "magic 'WithouFreSpacExt' at offset 0");
        }
        if (startsWith(head, PARALLELS_MAGIC)) {
            return found(ImageFormat.PARALLELS, "magic 'WithoutFreeSpace' at offset 0");
        }
        if (startsWith(head, BOCHS_MAGIC)) {
            return found(ImageFormat.BOCHS, "magic 'Bochs Virtual HD Image' at offset 0");
        }
        if (startsWith(head, CLOOP_START) && new String(head, 0, Math.min(head.length, CLOOP_PREAMBLE),
                StandardCharsets.ISO_8859_1).contains("cloop")) {
            return found(ImageFormat.CLOOP, "shell preamble '#!/bin/sh\\n#V...' naming cloop at offset 0");
        }
        if (head.length >= 8 && ByteBuffer.wrap(head, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong()
                == SeSparseProbe.CONST_MAGIC) {
            return found(ImageFormat.VMDK_SESPARSE, "seSparse constant header magic 0xcafebabe at offset 0");
        }
        return Optional.empty();
    }

    /** Formats known by a trailer: DMG's "koly". */
    static Optional<Detection> atEnd(ImageReader reader) throws ProbeException {
        OptionalLong koly = DmgProbe.findTrailer(reader);
        if (koly.isPresent()) {
            return found(ImageFormat.DMG, "UDIF trailer 'koly' (version 4, 512 bytes) at offset " + koly.getAsLong());
        }
        return Optional.empty();
    }

    /** Compressed files and archives. */
    static Optional<Detection> compressed(byte[] head) {
        Optional<Archive> a = Archive.detect(head);
        return a.isPresent() ? found(a.get().format(), a.get().evidence()) : Optional.empty();
    }

    private static Optional<Detection> found(ImageFormat format, String evidence) {
        return Optional.of(new Detection(format, evidence));
    }

    private static boolean startsWith(byte[] bytes, byte[] prefix) {
        return bytes.length >= prefix.length && Arrays.equals(bytes, 0, prefix.length, prefix, 0, prefix.length);
    }
}
