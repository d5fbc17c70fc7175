package org.diskplan.planner;

import java.util.Objects;
import org.diskplan.abi.Preallocation;

/**
 * What the user asked for, with the size already resolved to an absolute byte
 * count (see {@link SizeArgument#resolve(long)}).
 *
 * @param newSize       the absolute new virtual size; may be ≤ 0 (the planner says why it is wrong)
 * @param shrinkAllowed {@code --shrink} given / the shrink box ticked
 */
public record ResizeRequest(long newSize, boolean shrinkAllowed, Preallocation preallocation) {
    public ResizeRequest {
        Objects.requireNonNull(preallocation, "preallocation");
    }
}
