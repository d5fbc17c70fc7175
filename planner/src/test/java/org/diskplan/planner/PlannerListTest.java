package org.diskplan.planner;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;

/** Planners' list of planners names the services file's planners, in its order. */
class PlannerListTest {
    @Test
    void theListIsTheServicesFile() {
        List<String> services = new ArrayList<>();
        for (FormatPlanner<?> p : ServiceLoader.load(FormatPlanner.class, Planners.class.getClassLoader())) {
            services.add(p.getClass().getName());
        }
        assertThat(services).isNotEmpty();
        assertThat(Planners.planners().stream().map(p -> p.getClass().getName()).toList())
                .containsExactlyElementsOf(services);
    }

    @Test
    void everyFormatGetsThePlannerTheListGivesIt() {
        java.util.Map<org.diskplan.abi.ImageFormat, String> fromList = new java.util.EnumMap<>(
                org.diskplan.abi.ImageFormat.class);
        for (FormatPlanner<?> p : Planners.planners()) {
            for (org.diskplan.abi.ImageFormat f : p.formats()) {
                fromList.put(f, p.getClass().getName());
            }
        }
        assertThat(fromList).hasSizeGreaterThan(5);
        for (org.diskplan.abi.ImageFormat f : org.diskplan.abi.ImageFormat.values()) {
            FormatPlanner<?> lazy = Planners.plannerFor(f);
            assertThat(lazy == null ? null : lazy.getClass().getName()).as("the planner of %s", f)
                    .isEqualTo(fromList.get(f));
            assertThat(Planners.canResize(f)).as("canResize(%s)", f).isEqualTo(fromList.containsKey(f));
            if (lazy != null) {
                assertThat(Planners.plannerFor(f)).as("made once").isSameAs(lazy);
            }
        }
        assertThat(Planners.resizable()).containsExactlyElementsOf(fromList.keySet());
    }
}
