package org.diskplan.probe;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.diskplan.abi.ErrorCode;
import org.diskplan.abi.ImageFormat;
import org.diskplan.probe.archive.Archive;

/**
 * The entry point of the probe module: open a file read-only, detect its format
 * (or check the one the user named), and parse it with that format's probe.
 */
public final class ImageProber {
    /** The probes made so far, one per format ({@link #probeFor}). */
    private static final Map<ImageFormat, FormatProbe> PROBES = new EnumMap<>(ImageFormat.class);

    private ImageProber() {
    }

    /**
     * The probe of {@code format}, or null where DiskPlan parses none: made when first asked
     * for, so that a command loads (and the JVM verifies) the classes of its image's format
     * only — the probes of all seventeen formats are over 250 KB of bytecode, a fifth of what
     * a qcow2 resize loads. ProbeListTest checks that it names, for every format, the probe
     * {@link #probes()} gives it.
     */
    static synchronized FormatProbe probeFor(ImageFormat format) {
        FormatProbe probe = PROBES.get(format);
        if (probe == null) {
            probe = newProbe(format);
            if (probe != null) {
                PROBES.put(format, probe);
            }
        }
        return probe;
    }

    private static FormatProbe newProbe(ImageFormat format) {
        switch (format) {
            case RAW:
                return new org.diskplan.probe.raw.RawProbe();
            case QCOW2:
                return new org.diskplan.probe.qcow2.Qcow2Probe();
            case VMDK4:
                return new org.diskplan.probe.vmdk.VmdkProbe();
            case VMDK3:
                return new org.diskplan.probe.vmdk.Vmdk3Probe();
            case VHD:
                return new org.diskplan.probe.vhd.VhdProbe();
            case VHDX:
                return new org.diskplan.probe.vhdx.VhdxProbe();
            case QCOW1:
                return new org.diskplan.probe.qcow.QcowProbe();
            case VDI:
                return new org.diskplan.probe.vdi.VdiProbe();
            case QED:
                return new org.diskplan.probe.qed.QedProbe();
            case LUKS:
                return new org.diskplan.probe.luks.LuksProbe();
            case VMDK_DESCRIPTOR:
                return new org.diskplan.probe.vmdk.VmdkDescriptorProbe();
            case PARALLELS:
                return new org.diskplan.probe.parallels.ParallelsProbe();
            case BOCHS:
                return new org.diskplan.probe.bochs.BochsProbe();
            case CLOOP:
                return new org.diskplan.probe.cloop.CloopProbe();
            case DMG:
                return new org.diskplan.probe.dmg.DmgProbe();
            case VMDK_SESPARSE:
                return new org.diskplan.probe.vmdk.SeSparseProbe();
            case GZIP, XZ, BZIP2, ZSTD, ZIP, TAR, SEVEN_ZIP:
                return new org.diskplan.probe.archive.ArchiveProbe();
            default:
                return null;
        }
    }

    /**
     * The format probes, in the order of META-INF/services/org.diskplan.probe.FormatProbe
     * (a later probe of the same format wins). Named here rather than found through
     * {@link java.util.ServiceLoader}, whose look-up (the runtime image's module reader and
     * the jar's services entry) costs every command's start-up more than the probe itself;
     * the services file stays, and ProbeListTest checks that it names the same probes in the
     * same order.
     */
    static List<FormatProbe> probes() {
        return List.of(
                new org.diskplan.probe.raw.RawProbe(),
                new org.diskplan.probe.vhd.VhdProbe(),
                new org.diskplan.probe.qcow2.Qcow2Probe(),
                new org.diskplan.probe.vhdx.VhdxProbe(),
                new org.diskplan.probe.vmdk.VmdkProbe(),
                new org.diskplan.probe.vmdk.VmdkDescriptorProbe(),
                new org.diskplan.probe.vdi.VdiProbe(),
                new org.diskplan.probe.vmdk.Vmdk3Probe(),
                new org.diskplan.probe.qcow.QcowProbe(),
                new org.diskplan.probe.qed.QedProbe(),
                new org.diskplan.probe.luks.LuksProbe(),
                new org.diskplan.probe.parallels.ParallelsProbe(),
                new org.diskplan.probe.bochs.BochsProbe(),
                new org.diskplan.probe.cloop.CloopProbe(),
                new org.diskplan.probe.dmg.DmgProbe(),
                new org.diskplan.probe.vmdk.SeSparseProbe(),
                new org.diskplan.probe.archive.ArchiveProbe());
    }

    /**
     * Probes {@code path}.
     *
     * @param driver the qemu driver name the user asked for ({@code -f}), or empty to detect
     */
    public static ProbedImage probe(Path path, Optional<String> driver) throws ProbeException {
        try (FileImageReader reader = openReader(path)) {
            return probe(path, reader, driver);
        } catch (IOException e) {
            throw ProbeException.io(describe(e));
        }
    }

    /** Probes through an already open reader (the applier's locked file, a byte array). */
    public static ProbedImage probe(Path path, ImageReader reader, Optional<String> driver) throws ProbeException {
        return probe(path, reader, driver, false);
    }

    /**
     * Probes for a resize: as {@link #probe(Path, ImageReader, Optional)}, but a format
     * may leave out the layout map (see {@link FormatProbe#probeForResize}).
     */
    public static ProbedImage probeForResize(Path path, ImageReader reader, Optional<String> driver)
            throws ProbeException {
        return probe(path, reader, driver, true);
    }

    private static ProbedImage probe(Path path, ImageReader reader, Optional<String> driver, boolean forResize)
            throws ProbeException {
        Detection detection = detect(reader, driver);
        FormatProbe probe = probeFor(detection.format());
        if (probe == null) {
            throw new ProbeException(ErrorCode.UNSUPPORTED_FORMAT, "format", 0,
                    "the image is " + detection.format().displayName() + " (" + detection.evidence()
                            + "); DiskPlan does not parse " + detection.format().displayName() + " headers yet");
        }
        FieldCollector collector = FieldCollector.start();
        try {
            return forResize ? probe.probeForResize(path, reader) : probe.probe(path, reader);
        } catch (ProbeException e) {
            if (collector == null) {
                throw e; // a nested probe: the outermost one reports what was parsed
            }
            throw e.withPartial(PartialImage.of(path, detection.format(), reader.size(), collector.sinks(), e));
        } finally {
            if (collector != null) {
                collector.stop();
            }
        }
    }

    /** Detects the format and checks it against the requested driver, if any. */
    public static Detection detect(ImageReader reader, Optional<String> driver) throws ProbeException {
        Detection detection = FormatDetector.detect(reader);
        if (driver.isEmpty() || driver.get().equals(detection.format().qemuName())) {
            return detection;
        }
        if (driver.get().equals(ImageFormat.RAW.qemuName())) {
            Optional<Archive> archive = Archive.of(detection.format());
            if (archive.isPresent()) {
                // Not even -f raw makes a compressed file a disk: qemu would grow it as one, and ruin it.
                throw new ProbeException(ErrorCode.UNSUPPORTED_FORMAT, "format", 0, "the file is "
                        + archive.get().description() + " (" + detection.evidence() + "), not a raw disk; "
                        + archive.get().advice());
            }
            // qemu would treat any file as raw when told to; growing a fixed VHD or a
            // qcow2 file as raw destroys it, so DiskPlan refuses and says why.
            throw new ProbeException(ErrorCode.HEADER_MISMATCH, "format", 0,
                    "the file is " + detection.format().displayName() + ", not raw (" + detection.evidence()
                            + "); use -f " + detection.format().qemuName() + " or omit -f");
        }
        throw new ProbeException(ErrorCode.HEADER_MISMATCH, "format", 0,
                "Image is not in " + driver.get() + " format");
    }

    /** Opens {@code path} read-only, turning I/O errors into the strerror-like words qemu prints. */
    public static FileImageReader openReader(Path path) throws ProbeException {
        try {
            if (Files.isDirectory(path)) {
                throw ProbeException.io("Is a directory");
            }
            return FileImageReader.open(path);
        } catch (IOException e) {
            throw ProbeException.io(describe(e));
        }
    }

    /** The OS error text qemu shows for an I/O failure. */
    public static String describe(IOException e) {
        if (e instanceof NoSuchFileException) {
            return "No such file or directory";
        }
        if (e instanceof AccessDeniedException) {
            return "Permission denied";
        }
        String message = e.getMessage();
        return message == null ? e.getClass().getSimpleName() : message;
    }
}
