package org.diskplan.planner;

import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;
import org.diskplan.abi.Preallocation;

/**
 * What a planner can do for one image: the CLI's help, the window's size field and
 * preallocation choices, and the shared checks of {@link Planners} all read these.
 *
 * @param shrink        it can make the image smaller
 * @param preallocation the modes it offers when growing ({@code off} always among them)
 * @param sizeMultiple  new sizes are whole multiples of this many bytes
 * @param roundsUp      a size between multiples is rounded up (and the plan says so);
 *                      otherwise it is refused
 * @param maxSize       the largest virtual size the image can take
 * @param sizeRule      the rule in words, for help and hints ("a multiple of 512")
 * @param tooLarge      the refusal of a size past {@code maxSize}, in the words of the
 *                      format's reference tool
 */
public record Capabilities(boolean shrink, Set<Preallocation> preallocation, long sizeMultiple, boolean roundsUp,
                           long maxSize, String sizeRule, String tooLarge) {
    public Capabilities {
        preallocation = Set.copyOf(preallocation);
        Objects.requireNonNull(sizeRule, "sizeRule");
        Objects.requireNonNull(tooLarge, "tooLarge");
        if (!preallocation.contains(Preallocation.OFF) || sizeMultiple < 1 || maxSize < 1) {
            throw new IllegalArgumentException("bad capabilities");
        }
    }

    /** Every mode qemu-img knows. */
    public static final Set<Preallocation> ALL_MODES = EnumSet.allOf(Preallocation.class);

    public boolean offers(Preallocation mode) {
        return preallocation.contains(mode);
    }

    /** The size the image will have for {@code requested} (before any format-specific rounding). */
    public long round(long requested) {
        if (!roundsUp || requested % sizeMultiple == 0 || requested > Long.MAX_VALUE - sizeMultiple) {
            return requested;
        }
        return (requested / sizeMultiple + 1) * sizeMultiple;
    }

    /** "off, metadata, falloc or full", in qemu's order. */
    public String modesInWords() {
        var names = EnumSet.copyOf(preallocation).stream().map(Preallocation::qemuName).collect(Collectors.toList());
        if (names.size() == 1) {
            return names.get(0);
        }
        return String.join(", ", names.subList(0, names.size() - 1)) + " or " + names.get(names.size() - 1);
    }
}
