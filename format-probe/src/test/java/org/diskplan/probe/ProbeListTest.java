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

    @Test
    void everyFormatGetsTheProbeTheListGivesIt() {
        java.util.Map<org.diskplan.abi.ImageFormat, String> fromList = new java.util.EnumMap<>(
                org.diskplan.abi.ImageFormat.class);
        for (FormatProbe p : ImageProber.probes()) {
            for (org.diskplan.abi.ImageFormat f : p.formats()) {
                fromList.put(f, p.getClass().getName()); // a later probe of the same format wins
            }
        }
        assertThat(fromList).hasSizeGreaterThan(10);
        for (org.diskplan.abi.ImageFormat f : org.diskplan.abi.ImageFormat.values()) {
            FormatProbe lazy = ImageProber.probeFor(f);
            assertThat(lazy == null ? null : lazy.getClass().getName()).as("the probe of %s", f)
                    .isEqualTo(fromList.get(f));
            if (lazy != null) {
                assertThat(lazy.formats()).as("the formats %s's probe serves", f).contains(f);
                assertThat(ImageProber.probeFor(f)).as("made once").isSameAs(lazy);
            }
        }
    }
}
