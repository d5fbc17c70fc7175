package org.diskplan.probe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SampleHelpersTest {
    @TempDir
    Path dir;

    @Test
    void optionsParseQemuSizesAndBooleans() {
        SampleOptions o = SampleOptions.of("x", Map.of("a", "64k", "b", "2M", "c", "1G", "d", "512", "e", "on",
                "f", "off", "g", "fixed"), Set.of("a", "b", "c", "d", "e", "f", "g"));
        assertThat(o.size("a", 0)).isEqualTo(64 << 10);
        assertThat(o.size("b", 0)).isEqualTo(2 << 20);
        assertThat(o.size("c", 0)).isEqualTo(1L << 30);
        assertThat(o.size("d", 0)).isEqualTo(512);
        assertThat(o.size("missing", 7)).isEqualTo(7);
        assertThat(o.bool("e", false)).isTrue();
        assertThat(o.bool("f", true)).isFalse();
        assertThat(o.choice("g", List.of("dynamic", "fixed"))).isEqualTo("fixed");
        assertThat(o.choice("missing", List.of("dynamic", "fixed"))).isEqualTo("dynamic");
        assertThatThrownBy(() -> o.size("e", 0)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("e");
        assertThatThrownBy(() -> o.bool("g", false)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> o.choice("g", List.of("a", "b"))).hasMessageContaining("g=a|b");
    }

    @Test
    void optionsRefuseUnknownKeysByName() {
        assertThatThrownBy(() -> SampleOptions.of("vhdx", Map.of("size", "1", "zz", "2", "subformat", "x"),
                Set.of("subformat"))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("size, zz").hasMessageContaining("takes subformat");
    }

    @Test
    void aFailedSampleLeavesNoFileBehind() throws IOException {
        Path keep = Files.createFile(dir.resolve("existing"));
        assertThatThrownBy(() -> SampleFiles.creating(files -> {
            files.create(dir.resolve("a"));
            files.create(dir.resolve("b"));
            files.create(keep); // fails: it exists, and is not deleted
        })).isInstanceOf(java.nio.file.FileAlreadyExistsException.class);
        assertThat(dir.resolve("a")).doesNotExist();
        assertThat(dir.resolve("b")).doesNotExist();
        assertThat(keep).exists();
    }
}
