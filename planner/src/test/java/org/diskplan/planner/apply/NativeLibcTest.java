package org.diskplan.planner.apply;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** libc through JNA without NativeLibrary's {@code ldconfig -p}, and st_blocks still read. */
class NativeLibcTest {
    @Test
    void diskSizeIsReadWithoutJnaAskingLdconfig(@TempDir Path dir) throws Exception {
        assumeThat(System.getProperty("os.name")).startsWith("Linux");
        assumeThat(System.getProperty("os.arch")).isEqualTo("amd64");
        Path f = dir.resolve("f");
        try (FileChannel c = FileChannel.open(f, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            c.write(ByteBuffer.allocate(1 << 20), 8L << 20); // 1 MiB of data after an 8 MiB hole
            c.force(true);
        }
        long blocks = FileFacts.allocatedBytes(f).orElseThrow();
        assertThat(blocks).isBetween(1L << 20, 2L << 20); // allocated, the hole not counted
        // JNA sets this property itself, to what `ldconfig -p` printed, when it was not set
        // before its class init: our value there means ldconfig was not run.
        assertThat(System.getProperty("jna.platform.library.path")).as("preset before JNA's NativeLibrary")
                .isEqualTo("/usr/lib/x86_64-linux-gnu:/lib/x86_64-linux-gnu:/usr/lib64:/lib64:/usr/lib:/lib");
    }
}
