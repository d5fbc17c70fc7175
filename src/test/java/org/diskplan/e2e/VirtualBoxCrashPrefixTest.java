package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.diskplan.abi.Preallocation;
import org.diskplan.planner.ResizeRequest;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Crash prefixes of resizes of images VirtualBox made ({@code vbox-img createbase}, 7.2,
 * {@link VirtualBox}), with guest data written by qemu-io: a dynamic VDI grown 64 MiB to
 * 600 GiB (the map grows over the first data blocks, which move), a dynamic VHD grown to
 * 2 GiB (VirtualBox's one-sector BAT is relocated) and a Standard (monolithicSparse) VMDK
 * grown to 20 GiB (both grain directories move). Every sampled prefix (the shared suite's
 * sample, {@link CrashPrefixSuite#SAMPLES}; {@code -Ddiskplan.crash.samples=100000} tries
 * every prefix) goes through the shared suite's checks (qemu-img check where qemu has one,
 * vhdiinfo/vmdkinfo, the old size before the commit and the new from it on, qemu-img compare
 * with the original or the finished image) and through VirtualBox's own: {@code vbox-img
 * repair --dry-run} reports the VDI or VHD consistent (its VMDK backend has no repair; there
 * {@code vbox-img info} must open it), VirtualBox opens it with its size of the original
 * (qemu shows the old size) or qemu's size (the new size; VirtualBox and qemu agree on a
 * resized VHD, whose size DiskPlan makes CHS-exact), and what VirtualBox reads (vbox-img
 * convert to a dynamic VDI) is the guest data of the original or the finished image (qemu-img
 * compare, not strict: VirtualBox reads a VirtualBox-made VHD 64 MiB long, qemu through its
 * geometry 67,053,312 bytes, and the rest must read zeros). Every sampled prefix gets
 * VirtualBox's check (its calls take milliseconds); the plans have 4, 7 and 5 steps, so the
 * CI sample is already every prefix (22 tests, about 11 s).
 *
 * <p>One prefix differs between the two readers, by design of the format rather than of the
 * plan: VirtualBox opens a dynamic VHD by the footer at the end of the file, qemu by the copy
 * at offset 0. DiskPlan writes the end footer one step before the copy at 0 (the commit), so
 * stopped after that step (VHD: step 5 of 7) VirtualBox opens the finished 2 GiB image
 * (repair --dry-run consistent, the guest data intact) while qemu opens the old one. Any
 * order of the two footer writes leaves one such step; the check allows it there only.
 */
@RequiresOracle({"qemu-img", "qemu-io", "vhdiinfo", "vmdkinfo"})
class VirtualBoxCrashPrefixTest {
    static final long MIB = 1L << 20;
    static final long GIB = 1L << 30;
    static final long OLD = 64 * MIB;

    /** Guest data (qemu-io pattern, offset, length), below VirtualBox's 64 MiB and qemu's VHD geometry. */
    static final List<String> DATA = List.of("0x11 0 1M", "0x12 1M 64k", "0x13 3M 2M", "0x14 20M 64k",
            "0x15 62M 1M");

    record Case(String format, String variant, String file, String driver, long newSize,
                Optional<String> libyalTool, boolean qemuChecks) {
        @Override
        public String toString() {
            return "VirtualBox " + format + " " + variant + " 64M -> " + (newSize % GIB == 0 ? newSize / GIB + "G"
                    : newSize / MIB + "M");
        }
    }

    static final List<Case> CASES = List.of(
            // the map (at 1 MiB, room for 256 Ki entries) needs 2.4 MB at 600 GiB: the first data blocks move
            new Case("VDI", "Standard", "original.vdi", "vdi", 600 * GIB, Optional.empty(), true),
            // VirtualBox's BAT is one sector (32 entries): 2 GiB needs 1024, the BAT moves
            new Case("VHD", "Standard", "original.vhd", "vpc", 2 * GIB, Optional.of("vhdiinfo"), false),
            // VirtualBox's grain directory (one sector) covers 4 GiB: 20 GiB moves both directories
            new Case("VMDK", "Standard", "original.vmdk", "vmdk", 20 * GIB, Optional.of("vmdkinfo"), true));

    @TempDir
    Path tmp;

    @TestFactory
    Stream<DynamicNode> everyPrefixIsTheOldOrTheNewImageForQemuAndVirtualBox() throws Exception {
        VirtualBox.require();
        List<DynamicNode> out = new ArrayList<>();
        int n = 0;
        for (Case c : CASES) {
            Path dir = Files.createDirectory(tmp.resolve("v" + n++));
            VirtualBox.ok(dir, "createbase", "--filename", c.file(), "--size", Long.toString(OLD), "--format",
                    c.format(), "--variant", c.variant());
            List<String> io = new ArrayList<>(List.of(Oracles.require("qemu-io").toString(), "-f", c.driver()));
            for (String w : DATA) {
                io.addAll(List.of("-c", "write -P " + w));
            }
            io.add(c.file());
            ProcessRunner.Result written = ProcessRunner.of(io).in(dir).run();
            assertThat(written.exitCode()).as(written.describe()).isZero();
            assertThat(VirtualBox.convertToVdi(dir, c.file(), WithVirtualBox.read(c.file())))
                    .as("VirtualBox's size of what it made").isEqualTo(OLD);
            Files.delete(dir.resolve(WithVirtualBox.read(c.file())));
            long qemuOld = WithVirtualBox.qemuSize(dir, c.driver(), c.file());
            CrashPrefixSuite.of(c.toString(), dir, c.file(),
                    probed -> new ResizeRequest(c.newSize(), false, Preallocation.OFF),
                    new WithVirtualBox(c, new CrashPrefixSuite.Qemu(c.driver(), c.qemuChecks(), c.libyalTool()),
                            qemuOld, new ConcurrentHashMap<>())).ifPresent(out::add);
        }
        assertThat(out).as("DiskPlan plans every case").hasSize(CASES.size());
        return out.stream();
    }

    /**
     * The shared suite's qemu checks, then VirtualBox's: its consistency check (VDI, VHD) or
     * its opening the image (VMDK), its size, and what it reads.
     */
    record WithVirtualBox(Case c, CrashPrefixSuite.Qemu qemu, long qemuOld,
                          Map<String, Long> vboxSizes)
            implements CrashPrefixSuite.Oracle {
        private static final Pattern VIRTUAL_SIZE = Pattern.compile("\"virtual-size\":\\s*(\\d+)");

        @Override
        public long accept(Path dir, String file, String ctx) {
            long qemuSize = qemu.accept(dir, file, ctx);
            if (c.format().equals("VMDK")) {
                ProcessRunner.Result info = VirtualBox.run(dir, "info", "--filename", file);
                assertThat(info.exitCode()).as("vbox-img info opens it\n" + info.describe() + ctx).isZero();
                assertThat(info.stdout() + info.stderr()).as("vbox-img info\n" + info.describe() + ctx)
                        .contains("Backend=VMDK").doesNotContain("rror");
            } else {
                ProcessRunner.Result repair = VirtualBox.run(dir, "repair", "--dry-run", "--format", c.format(),
                        "--filename", file);
                assertThat(repair.exitCode()).as("vbox-img repair --dry-run\n" + repair.describe() + ctx).isZero();
                assertThat(repair.stdout() + repair.stderr()).as("vbox-img repair --dry-run\n" + repair.describe()
                        + ctx).contains(c.format() + " image is in a consistent state, no repair required")
                        .doesNotContain("clearing").doesNotContain("Missing").doesNotContain("rror");
            }
            long vboxSize = VirtualBox.convertToVdi(dir, file, read(file));
            if (qemuSize == qemuOld) {
                if (vboxSize != OLD && c.format().equals("VHD") && stepOf(ctx) == commitOf(ctx) - 1) {
                    // VirtualBox reads the footer at the end of the file, written one step
                    // before the copy at offset 0 that qemu reads (the commit): here, and only
                    // here, VirtualBox opens the finished image while qemu opens the original
                    String finished = "vbox-read-finished-for-" + read(file);
                    long finishedSize = VirtualBox.convertToVdi(dir, "finished-" + c.file(), finished);
                    deleteFile(dir, finished);
                    assertThat(vboxSize).as("VirtualBox, one step ahead of qemu, opens the new size" + ctx)
                            .isEqualTo(finishedSize);
                } else {
                    assertThat(vboxSize).as("VirtualBox opens the old size where qemu does" + ctx).isEqualTo(OLD);
                }
            } else {
                assertThat(vboxSize).as("VirtualBox opens the new size where qemu does" + ctx).isEqualTo(qemuSize);
            }
            vboxSizes.put(file, vboxSize);
            return qemuSize;
        }

        @Override
        public void sameGuestData(Path dir, String reference, String candidate, String ctx) {
            qemu.sameGuestData(dir, reference, candidate, ctx);
            // VirtualBox's reading against the image of the size VirtualBox opened
            String theirs = vboxSizes.remove(candidate) == OLD ? c.file() : "finished-" + c.file();
            // (not strict: strict also compares allocation; the sizes are checked in accept, and
            // VirtualBox reads a VHD's old 64 MiB where qemu reads 67,053,312 bytes: the rest must read zero)
            ProcessRunner.Result r = Qemu.img(dir, "compare", "-f", "vdi", "-F", c.driver(), read(candidate), theirs);
            assertThat(r.exitCode()).as("what VirtualBox reads is the guest data of " + theirs + "\n"
                    + r.describe() + ctx).isZero();
            deleteRead(dir, candidate);
        }

        /** Where VirtualBox's reading of {@code file} goes. */
        static String read(String file) {
            return "vbox-read-" + file.replace('/', '-') + ".vdi";
        }

        private static void deleteRead(Path dir, String file) {
            deleteFile(dir, read(file));
        }

        private static void deleteFile(Path dir, String file) {
            try {
                Files.deleteIfExists(dir.resolve(file));
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }

        private static final Pattern STEP = Pattern.compile("stopped after step (-?\\d+) of \\d+ \\(commit (\\d+)\\)");

        private static int stepOf(String ctx) {
            Matcher m = STEP.matcher(ctx);
            assertThat(m.find()).as("the suite names the step: " + ctx).isTrue();
            return Integer.parseInt(m.group(1));
        }

        private static int commitOf(String ctx) {
            Matcher m = STEP.matcher(ctx);
            assertThat(m.find()).as("the suite names the commit: " + ctx).isTrue();
            return Integer.parseInt(m.group(2));
        }

        static long qemuSize(Path dir, String driver, String file) {
            ProcessRunner.Result r = Qemu.img(dir, "info", "--output=json", "-U", "-f", driver, file);
            assertThat(r.exitCode()).as(r.describe()).isZero();
            Matcher m = VIRTUAL_SIZE.matcher(r.stdout());
            assertThat(m.find()).as(r.describe()).isTrue();
            return Long.parseLong(m.group(1));
        }
    }
}
