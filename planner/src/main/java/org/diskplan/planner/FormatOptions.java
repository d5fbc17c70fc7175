package org.diskplan.planner;

import java.util.Objects;
import org.diskplan.abi.ResizeConfig;
import org.diskplan.abi.VhdSubformat;
import org.diskplan.abi.VmdkSubformat;

/**
 * The format parameters a plan was made for, as the abi's {@link ResizeConfig}
 * records them (the undo journal's header carries that config). One record per
 * format; a planner puts its own in the plan.
 */
public sealed interface FormatOptions permits FormatOptions.Raw, FormatOptions.Qcow2, FormatOptions.Vmdk,
        FormatOptions.Vhd, FormatOptions.Vhdx, FormatOptions.Vdi, FormatOptions.Qed,
        FormatOptions.Luks {

    /** {@code base} with this format's fields filled in. */
    ResizeConfig applyTo(ResizeConfig base);

    /** Raw images have no format parameters. */
    record Raw() implements FormatOptions {
        @Override
        public ResizeConfig applyTo(ResizeConfig base) {
            return base;
        }
    }

    /** qcow2: cluster size in bytes, refcount width in bits (1..64), extended L2 entries. */
    record Qcow2(int clusterSize, int refcountBits, boolean extendedL2) implements FormatOptions {
        public Qcow2 {
            if (Integer.bitCount(clusterSize) != 1 || clusterSize < 512 || clusterSize > (2 << 20)) {
                throw new IllegalArgumentException("qcow2 cluster size " + clusterSize + " is not 512 B..2 MiB");
            }
            if (Integer.bitCount(refcountBits) != 1 || refcountBits > 64) {
                throw new IllegalArgumentException("refcount bits " + refcountBits + " is not 1, 2, 4, ..., 64");
            }
        }

        @Override
        public ResizeConfig applyTo(ResizeConfig b) {
            return new ResizeConfig(b.targetFormat(), b.shrink(), extendedL2, b.quiet(), b.preallocation(),
                    b.sectorSize(), b.currentVirtualSize(), b.newVirtualSize(), clusterSize, refcountBits,
                    b.vmdkSubformat(), b.vhdSubformat(), b.vmdkGrainSize(), b.blockSize(), b.currentFileSize());
        }
    }

    /** VMDK: create type and grain size in bytes (0 for flat extents). */
    record Vmdk(VmdkSubformat subformat, int grainSize) implements FormatOptions {
        public Vmdk {
            Objects.requireNonNull(subformat, "subformat");
        }

        @Override
        public ResizeConfig applyTo(ResizeConfig b) {
            return new ResizeConfig(b.targetFormat(), b.shrink(), b.extendedL2(), b.quiet(), b.preallocation(),
                    b.sectorSize(), b.currentVirtualSize(), b.newVirtualSize(), b.qcow2ClusterSize(),
                    b.qcow2RefcountBits(), subformat, b.vhdSubformat(), grainSize, b.blockSize(),
                    b.currentFileSize());
        }
    }

    /** VHD: dynamic or fixed, block size in bytes (0 for fixed). */
    record Vhd(VhdSubformat subformat, int blockSize) implements FormatOptions {
        public Vhd {
            Objects.requireNonNull(subformat, "subformat");
        }

        @Override
        public ResizeConfig applyTo(ResizeConfig b) {
            return new ResizeConfig(b.targetFormat(), b.shrink(), b.extendedL2(), b.quiet(), b.preallocation(),
                    b.sectorSize(), b.currentVirtualSize(), b.newVirtualSize(), b.qcow2ClusterSize(),
                    b.qcow2RefcountBits(), b.vmdkSubformat(), subformat, b.vmdkGrainSize(), blockSize,
                    b.currentFileSize());
        }
    }

    /** VHDX: payload block size and logical sector size (512 or 4096), both in bytes. */
    record Vhdx(int blockSize, int logicalSectorSize) implements FormatOptions {
        public Vhdx {
            if (logicalSectorSize != 512 && logicalSectorSize != 4096) {
                throw new IllegalArgumentException("VHDX logical sector size " + logicalSectorSize);
            }
        }

        @Override
        public ResizeConfig applyTo(ResizeConfig b) {
            return new ResizeConfig(b.targetFormat(), b.shrink(), b.extendedL2(), b.quiet(), b.preallocation(),
                    logicalSectorSize, b.currentVirtualSize(), b.newVirtualSize(), b.qcow2ClusterSize(),
                    b.qcow2RefcountBits(), b.vmdkSubformat(), b.vhdSubformat(), b.vmdkGrainSize(), blockSize,
                    b.currentFileSize());
        }
    }

    /** VDI: block size in bytes (cbBlock; 1 MiB in every image qemu or VirtualBox creates). */
    record Vdi(int blockSize) implements FormatOptions {
        public Vdi {
            if (Integer.bitCount(blockSize) != 1 || blockSize < 512) {
                throw new IllegalArgumentException("VDI block size " + blockSize + " is not a power of two >= 512");
            }
        }

        @Override
        public ResizeConfig applyTo(ResizeConfig b) {
            return new ResizeConfig(b.targetFormat(), b.shrink(), b.extendedL2(), b.quiet(), b.preallocation(),
                    b.sectorSize(), b.currentVirtualSize(), b.newVirtualSize(), b.qcow2ClusterSize(),
                    b.qcow2RefcountBits(), b.vmdkSubformat(), b.vhdSubformat(), b.vmdkGrainSize(), blockSize,
                    b.currentFileSize());
        }
    }

    /** QED: cluster size in bytes and clusters per table (the journal's config has no fields for them). */
    record Qed(long clusterSize, long tableSize) implements FormatOptions {
        @Override
        public ResizeConfig applyTo(ResizeConfig base) {
            return base;
        }
    }

    /** A LUKS container: the payload offset in bytes (the journal's config has no field for it). */
    record Luks(long payloadOffset) implements FormatOptions {
        @Override
        public ResizeConfig applyTo(ResizeConfig base) {
            return base;
        }
    }
}
