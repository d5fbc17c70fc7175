package org.diskplan.probe;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Optional;
import org.diskplan.abi.ImageFormat;

/**
 * Detects an image format from its content, never from its name. A file that is
 * recognised as anything else is never reported as raw.
 */
public final class FormatDetector {
    static final int VHD_FOOTER_SIZE = 512;
    private static final byte[] QCOW_MAGIC = {'Q', 'F', 'I', (byte) 0xfb};
    private static final byte[] QED_MAGIC = {'Q', 'E', 'D', 0};
    private static final byte[] VHDX_MAGIC = "vhdxfile".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] VMDK4_MAGIC = {'K', 'D', 'M', 'V'};
    private static final byte[] VMDK3_MAGIC = {'C', 'O', 'W', 'D'};
    private static final byte[] LUKS_MAGIC = {'L', 'U', 'K', 'S', (byte) 0xba, (byte) 0xbe};
    private static final byte[] VHD_COOKIE = "conectix".getBytes(StandardCharsets.US_ASCII);
    /** VDI signature 0xbeda107f, little-endian, at offset 64. */
    private static final byte[] VDI_SIGNATURE = {0x7f, 0x10, (byte) 0xda, (byte) 0xbe};
    private static final int VDI_SIGNATURE_OFFSET = 64;
    private static final byte[] ISO_MAGIC = "CD001".getBytes(StandardCharsets.US_ASCII);
    private static final int ISO_MAGIC_OFFSET = 0x8001;
    private static final String VMDK_DESCRIPTOR_START = "# Disk DescriptorFile";
    private static final int HEAD = 512;

    private FormatDetector() {
    }

    public static Detection detect(ImageReader reader) throws ProbeException {
        long size = reader.size();
        byte[] head = reader.read(0, (int) Math.min(HEAD, size), "file start");

        if (startsWith(head, 0, QCOW_MAGIC)) {
            long version = head.length >= 8 ? Integer.toUnsignedLong(
                    java.nio.ByteBuffer.wrap(head, 4, 4).getInt()) : 0;
            return version == 1
                    ? new Detection(ImageFormat.QCOW1, "magic 'QFI\\xfb' at offset 0, version 1 at offset 4")
                    : new Detection(ImageFormat.QCOW2, "magic 'QFI\\xfb' at offset 0, version " + version
                    + " at offset 4");
        }
        if (startsWith(head, 0, QED_MAGIC)) {
            return new Detection(ImageFormat.QED, "magic 'QED\\0' at offset 0");
        }
        if (startsWith(head, 0, VHDX_MAGIC)) {
            return new Detection(ImageFormat.VHDX, "file identifier 'vhdxfile' at offset 0");
        }
        if (startsWith(head, 0, VMDK4_MAGIC)) {
            return new Detection(ImageFormat.VMDK4, "magic 'KDMV' at offset 0");
        }
        if (startsWith(head, 0, VMDK3_MAGIC)) {
            return new Detection(ImageFormat.VMDK3, "magic 'COWD' at offset 0");
        }
        if (startsWith(head, 0, LUKS_MAGIC)) {
            return new Detection(ImageFormat.LUKS, "magic 'LUKS\\xba\\xbe' at offset 0");
        }
        if (startsWith(head, 0, VHD_COOKIE)) {
            return new Detection(ImageFormat.VHD, "footer copy with cookie 'conectix' at offset 0");
        }
        if (startsWith(head, VDI_SIGNATURE_OFFSET, VDI_SIGNATURE)) {
            return new Detection(ImageFormat.VDI, "signature 0xbeda107f at offset 64");
        }
        Optional<Detection> recognised = RecognisedFormats.atStart(head);
        if (recognised.isPresent()) {
            return recognised.get();
        }
        if (size >= ISO_MAGIC_OFFSET + ISO_MAGIC.length) {
            byte[] iso = reader.read(ISO_MAGIC_OFFSET, ISO_MAGIC.length, "ISO 9660 volume descriptor");
            if (Arrays.equals(iso, ISO_MAGIC)) {
                return new Detection(ImageFormat.ISO, "volume descriptor 'CD001' at offset 32769");
            }
        }
        // The footer is the last 512 bytes; images from old tools end in a 511-byte one.
        for (int footerSize : new int[] {VHD_FOOTER_SIZE, VHD_FOOTER_SIZE - 1}) {
            if (size >= footerSize) {
                long footer = size - footerSize;
                byte[] cookie = reader.read(footer, VHD_COOKIE.length, "VHD footer cookie");
                if (Arrays.equals(cookie, VHD_COOKIE)) {
                    return new Detection(ImageFormat.VHD, "footer cookie 'conectix' at offset " + footer
                            + " (the last " + footerSize + " bytes): a fixed VHD");
                }
            }
        }
        recognised = RecognisedFormats.atEnd(reader);
        if (recognised.isPresent()) {
            return recognised.get();
        }
        if (looksLikeVmdkDescriptor(head)) {
            return new Detection(ImageFormat.VMDK_DESCRIPTOR, "text '" + VMDK_DESCRIPTOR_START + "' at offset 0");
        }
        recognised = RecognisedFormats.compressed(head);
        if (recognised.isPresent()) {
            return recognised.get();
        }
        return new Detection(ImageFormat.RAW, "no known signature");
    }

    private static boolean looksLikeVmdkDescriptor(byte[] head) {
        String text = new String(head, StandardCharsets.ISO_8859_1).stripLeading();
        return text.startsWith(VMDK_DESCRIPTOR_START);
    }

    private static boolean startsWith(byte[] bytes, int offset, byte[] prefix) {
        if (bytes.length < offset + prefix.length) {
            return false;
        }
        return Arrays.equals(bytes, offset, offset + prefix.length, prefix, 0, prefix.length);
    }
}
