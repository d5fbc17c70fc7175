package org.diskplan.probe;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;

/** ImageProber's list of probes names the services file's probes, in its order (a later probe of a format wins). */
class ProbeListTest {
    @Test
    void theListIsTheServicesFile() {
        List<String> services = new ArrayList<>();
        for (FormatProbe p : ServiceLoader.load(FormatProbe.class, ImageProber.class.getClassLoader())) {
            services.add(p.getClass().getName());
        }
        assertThat(services).isNotEmpty();
        assertThat(ImageProber.probes().stream().map(p -> p.getClass().getName()).toList())
                .containsExactlyElementsOf(services);
    }
}
