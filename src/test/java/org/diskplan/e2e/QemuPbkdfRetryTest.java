package org.diskplan.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The retry around qemu's PBKDF2 timing flake retries that failure and no other. */
class QemuPbkdfRetryTest {

    /** A command that fails with {@code message} the first {@code failures} times it runs. */
    private static ProcessRunner failing(Path dir, int failures, String message) {
        return ProcessRunner.of("bash", "-c", "n=$(cat count 2>/dev/null || echo 0); echo $((n+1)) > count; "
                + "if [ $n -lt " + failures + " ]; then echo 'qemu-img: disk.luks: " + message
                + "' >&2; exit 1; fi; echo made").in(dir);
    }

    private static int runs(Path dir) throws IOException {
        return Integer.parseInt(Files.readString(dir.resolve("count")).trim());
    }

    @Test
    void theFlakeIsRunAgainUntilItSucceeds(@TempDir Path dir) throws IOException {
        ProcessRunner.Result r = Qemu.runRetryingPbkdfFlake(failing(dir, 3, Qemu.PBKDF_FLAKE));
        assertThat(r.exitCode()).as(r.describe()).isZero();
        assertThat(r.stdout()).contains("made");
        assertThat(runs(dir)).isEqualTo(4);
    }

    @Test
    void anyOtherFailureIsReportedAtOnce(@TempDir Path dir) throws IOException {
        ProcessRunner.Result r = Qemu.runRetryingPbkdfFlake(failing(dir, 3, "Invalid parameter 'iter-time'"));
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.stderr()).contains("Invalid parameter");
        assertThat(runs(dir)).isEqualTo(1);
    }

    @Test
    void aFlakeThatNeverClearsStillFailsInTheEnd(@TempDir Path dir) throws IOException {
        ProcessRunner.Result r = Qemu.runRetryingPbkdfFlake(failing(dir, 1000, Qemu.PBKDF_FLAKE));
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(runs(dir)).isEqualTo(10);
    }
}
