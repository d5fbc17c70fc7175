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
}
