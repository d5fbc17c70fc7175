package org.diskplan.planner.apply;

import com.sun.jna.Library;
import com.sun.jna.Native;

/**
 * Loads the C library through JNA without JNA's start-up cost on Linux: the static
 * initialiser of {@code com.sun.jna.NativeLibrary} runs {@code /sbin/ldconfig -p} (a
 * process, about 25 ms of every {@code diskplan info}) to build its search path, unless
 * {@code jna.platform.library.path} is already set. JNA opens "c" as the running process
 * (dlopen(NULL)) and never searches that path for it, so setting the property to the
 * directories JNA would list without ldconfig changes nothing that DiskPlan loads. A value
 * the user set is kept.
 */
final class NativeLibc {
    private NativeLibc() {
    }

    /** libc mapped onto {@code type}; throws as {@link Native#load} does where there is none. */
    static <T extends Library> T load(Class<T> type) {
        if (System.getProperty("jna.platform.library.path") == null
                && System.getProperty("os.name", "").startsWith("Linux")) {
            String multiArch = switch (System.getProperty("os.arch", "")) {
                case "amd64", "x86_64" -> "x86_64-linux-gnu";
                case "aarch64" -> "aarch64-linux-gnu";
                default -> "";
            };
            String dirs = multiArch.isEmpty() ? "/usr/lib64:/lib64:/usr/lib:/lib"
                    : "/usr/lib/" + multiArch + ":/lib/" + multiArch + ":/usr/lib64:/lib64:/usr/lib:/lib";
            System.setProperty("jna.platform.library.path", dirs);
        }
        return Native.load("c", type);
    }
}
