package org.diskplan.e2e;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Marks a test class or method that compares DiskPlan with reference tools (the
 * "oracles", e.g. {@code qemu-img}, {@code qemu-nbd}) which must be on {@code PATH}.
 *
 * <p>When one is missing the test is <em>disabled</em> with a visible reason
 * ("qemu-img not found: oracle suite skipped; install qemu-utils") on a developer
 * machine, and <em>fails</em> when the environment variable {@code CI=true} or the
 * system property {@code diskplan.oracles.required=true} is set, so that CI can never
 * pass by silently skipping the oracle suites. See {@link Oracles}.
 */
@Documented
@Inherited
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.TYPE, ElementType.METHOD})
@ExtendWith(Oracles.Condition.class)
public @interface RequiresOracle {

    /** Executable names looked up on {@code PATH}, e.g. {@code "qemu-img"}. */
    String[] value();
}
