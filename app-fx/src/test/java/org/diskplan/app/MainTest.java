package org.diskplan.app;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class MainTest {
    @Test
    void windowForNoArgumentsGuiOrASingleFile() {
        assertThat(Main.wantsWindow(new String[0])).isTrue();
        assertThat(Main.wantsWindow(new String[] {"gui"})).isTrue();
        assertThat(Main.wantsWindow(new String[] {"gui", "disk.qcow2"})).isTrue();
        assertThat(Main.wantsWindow(new String[] {"disk.qcow2"})).isTrue();
    }

    @Test
    void commandLineForSubcommandsAndOptions() {
        assertThat(Main.wantsWindow(new String[] {"resize", "a.raw", "1G"})).isFalse();
        assertThat(Main.wantsWindow(new String[] {"info"})).isFalse();
        assertThat(Main.wantsWindow(new String[] {"--help"})).isFalse();
        assertThat(Main.wantsWindow(new String[] {"--version"})).isFalse();
    }
}
