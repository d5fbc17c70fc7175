package org.diskplan.app.fx;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.IntConsumer;
import java.util.function.Supplier;
import javafx.scene.control.TabPane;
import javafx.scene.input.MouseButton;
import javafx.scene.input.MouseEvent;
import javafx.scene.input.ScrollEvent;
import org.diskplan.abi.ImageFormat;
import org.diskplan.abi.Preallocation;
import org.diskplan.abi.ResizeAction;
import org.diskplan.app.fx.model.Samples;
import org.diskplan.planner.FormatOptions;
import org.diskplan.planner.Planners;
import org.diskplan.planner.ResizePatch;
import org.diskplan.planner.ResizePlan;
import org.diskplan.planner.ResizeRequest;
import org.diskplan.probe.RegionKind;

/**
 * Window benchmarks in the real window (run by bench/window.sh under Xvfb):
 *
 * <ol>
 * <li>timeline frames with 10,000 patches: hover (mouse-moved events), zoom (Ctrl+wheel)
 * and scroll (wheel) — per frame, the event handling and canvas drawing on the FX thread,
 * then the canvas rasterised ({@code snapshot}, software pipeline); budget 16 ms. The baseline
 * row is the snapshot of an unchanged canvas: the fixed cost of a snapshot (an image
 * allocated and read back), which an on-screen frame does not pay;</li>
 * <li>time from a typed size to the plan shown for a 1 TiB image (qcow2 when DiskPlan
 * resizes it, else raw): the size text changes on the FX thread, the plan is made in the
 * background, the timeline shows it; budget 100 ms.</li>
 * </ol>
 *
 * Prints medians, 95th percentiles and maxima. Not a test: nothing here is timed in
 * {@code mvn verify}.
 */
public final class WindowBench {
    static final int PATCHES = 10_000;
    static final int FRAMES = 300;

    private WindowBench() {
    }

    public static void main(String[] args) {
        Screenshots.exitAfter(WindowBench::run);
    }

    private static void run() throws Exception {
        if (Boolean.getBoolean("javafx.pulseLogger")) {
            captureLog();
        }
        MainWindow w = Screenshots.startWindow();
        fx(() -> ((TabPane) w.root().lookup(".tab-pane")).getSelectionModel().select(1));
        Thread.sleep(500);
        fx(() -> w.timeline().planProperty().set(synthetic(PATCHES)));
        Thread.sleep(300);
        TimelineView.Surface s = w.timelineView().surface();
        double width = fx(s::getWidth);
        System.out.printf(Locale.ROOT, "timeline: %d patches, canvas %.0f x %.0f px, %d frames per case; "
                        + "load average %.2f on %d cores%n", PATCHES, width, fx(s::getHeight), FRAMES,
                java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage(),
                Runtime.getRuntime().availableProcessors());
        System.out.println("case                    draw (FX thread) median/p95/max    raster (snapshot) median/p95/max   "
                + "total p95");
        if (Boolean.getBoolean("diskplan.bench.liveOnly")) {
            // on-screen frames only, for quick comparisons: once to warm up (the offscreen
            // cases warm the same code otherwise), then again
            live(w, s, width);
            live(w, s, width);
            return;
        }
        frames("baseline (no redraw)", s, i -> { });
        // Hover at zoom 1 over visible steps.
        fx(() -> {
            w.timeline().zoomProperty().set(1);
            w.timeline().scrollProperty().set(1000 * w.timeline().slot());
        });
        frames("hover, zoom 1", s, i -> s.fireEvent(mouse(s, 5 + (i * 7) % (width - 10), 60)));
        fx(w.timeline()::fit);
        frames("hover, whole plan", s, i -> s.fireEvent(mouse(s, 5 + (i * 7) % (width - 10), 60)));
        frames("zoom (ctrl+wheel)", s, i -> s.fireEvent(wheel(s, width * ((i % 10) / 10.0),
                (i / 30) % 2 == 0 ? 40 : -40, true)));
        fx(() -> w.timeline().zoomProperty().set(1));
        frames("scroll (wheel)", s, i -> s.fireEvent(wheel(s, width / 2, i % 100 < 50 ? -40 : 40, false)));
        fx(w.timeline()::fit);
        frames("scroll, zoomed x40", s, i -> {
            if (i == 0) {
                w.timeline().zoomBy(40, width / 2);
            }
            s.fireEvent(wheel(s, width / 2, i % 100 < 50 ? -40 : 40, false));
        });
        live(w, s, width);
        typeToPlan(w);
    }

    /** Lines "PULSE: n [interval ms:duration ms]" and "Tn (t +n ms): Painting" of JavaFX's pulse logger. */
    private static final java.util.regex.Pattern PULSE =
            java.util.regex.Pattern.compile("PULSE: \\d+ \\[\\d+ms:(\\d+)ms\\]");
    private static final java.util.regex.Pattern PAINT =
            java.util.regex.Pattern.compile("\\(\\d+ \\+(\\d+)ms\\): Painting");
    private static final List<String> LOG = java.util.Collections.synchronizedList(new ArrayList<>());
    /** The real standard output (System.out is redirected to catch the pulse logger). */
    private static final java.io.PrintStream REPORT = System.out;

    /**
     * On-screen frames: with {@code -Djavafx.pulseLogger=true} (bench/window.sh sets it) an
     * AnimationTimer makes one change per pulse and JavaFX reports each pulse's full duration
     * (FX thread and render thread, whole window) and its painting time, in whole ms.
     */
    private static void live(MainWindow w, TimelineView.Surface s, double width) throws Exception {
        if (!Boolean.getBoolean("javafx.pulseLogger")) {
            return;
        }
        REPORT.println();
        REPORT.println("on-screen pulses (whole window, pulse logger, ms): case  median / p95 / max duration, "
                + "median / p95 painting");
        liveCase("hover, zoom 1", w, () -> {
            w.timeline().zoomProperty().set(1);
            w.timeline().scrollProperty().set(1000 * w.timeline().slot());
        }, i -> s.fireEvent(mouse(s, 5 + (i * 7) % (width - 10), 60)));
        liveCase("hover, whole plan", w, w.timeline()::fit, i -> s.fireEvent(mouse(s, 5 + (i * 7) % (width - 10), 60)));
        liveCase("zoom (ctrl+wheel)", w, w.timeline()::fit, i -> s.fireEvent(wheel(s, width * ((i % 10) / 10.0),
                (i / 30) % 2 == 0 ? 40 : -40, true)));
        liveCase("scroll (wheel)", w, () -> w.timeline().zoomProperty().set(1),
                i -> s.fireEvent(wheel(s, width / 2, i % 100 < 50 ? -40 : 40, false)));
    }

    private static void liveCase(String name, MainWindow w, Runnable setup, IntConsumer frame) throws Exception {
        fx(setup);
        Thread.sleep(200);
        CountDownLatch done = new CountDownLatch(1);
        int[] i = {0};
        LOG.clear();
        javafx.animation.AnimationTimer timer = new javafx.animation.AnimationTimer() {
            @Override
            public void handle(long now) {
                if (i[0] == FRAMES) {
                    stop();
                    done.countDown();
                    return;
                }
                frame.accept(i[0]++);
            }
        };
        fx(timer::start);
        done.await(60, TimeUnit.SECONDS);
        Thread.sleep(300);
        List<String> lines;
        synchronized (LOG) {
            lines = new ArrayList<>(LOG);
        }
        if (System.getProperty("diskplan.bench.pulseDump") != null) {
            java.nio.file.Files.write(Path.of(System.getProperty("diskplan.bench.pulseDump") + "-"
                    + name.replaceAll("[^a-z0-9]+", "_") + ".txt"), lines);
        }
        long[] pulses = lines.stream().map(PULSE::matcher).filter(java.util.regex.Matcher::find)
                .mapToLong(m -> Long.parseLong(m.group(1))).toArray();
        long[] paint = lines.stream().map(PAINT::matcher).filter(java.util.regex.Matcher::find)
                .mapToLong(m -> Long.parseLong(m.group(1))).toArray();
        if (pulses.length == 0) {
            REPORT.println(name + ": no pulse lines seen");
            return;
        }
        REPORT.printf(Locale.ROOT, "%-22s  %3d / %3d / %3d ms   painting %3d / %3d ms   (%d pulses)%n", name,
                pct(pulses, 50), pct(pulses, 95), pct(pulses, 100), paint.length == 0 ? -1 : pct(paint, 50),
                paint.length == 0 ? -1 : pct(paint, 95), pulses.length);
    }

    /** Keeps the pulse logger's lines for {@link #live} and prints nothing of them. */
    private static void captureLog() {
        java.io.PrintStream out = System.out;
        java.io.OutputStream sink = new java.io.OutputStream() {
            private final StringBuilder line = new StringBuilder();

            @Override
            public synchronized void write(int b) {
                if (b == '\n') {
                    String l = line.toString();
                    line.setLength(0);
                    if (l.startsWith("PULSE:") || l.startsWith("[") || l.matches("T\\d+ .*") || l.startsWith("\t")
                            || l.startsWith("Counters") || l.isBlank()) {
                        LOG.add(l);
                    } else {
                        out.println(l);
                    }
                } else {
                    line.append((char) b);
                }
            }
        };
        System.setOut(new java.io.PrintStream(sink, true));
        System.setErr(new java.io.PrintStream(sink, true));
    }

    private static void frames(String name, TimelineView.Surface s, IntConsumer frame) {
        long[] draw = new long[FRAMES];
        long[] raster = new long[FRAMES];
        long[] total = new long[FRAMES];
        for (int warm = 0; warm < 2; warm++) {
            for (int i = 0; i < FRAMES; i++) {
                int k = i;
                long[] t = fx(() -> {
                    long a = System.nanoTime();
                    frame.accept(k);
                    s.layout(); // the redraw waits for the layout pass: record it here
                    long b = System.nanoTime();
                    s.snapshot(null, null);
                    long c = System.nanoTime();
                    return new long[] {b - a, c - b};
                });
                draw[i] = t[0];
                raster[i] = t[1];
                total[i] = t[0] + t[1];
            }
        }
        System.out.printf(Locale.ROOT, "%-22s  %6.2f / %6.2f / %6.2f ms        %6.2f / %6.2f / %6.2f ms         %6.2f ms%n",
                name, ms(pct(draw, 50)), ms(pct(draw, 95)), ms(pct(draw, 100)), ms(pct(raster, 50)),
                ms(pct(raster, 95)), ms(pct(raster, 100)), ms(pct(total, 95)));
    }

    private static void typeToPlan(MainWindow w) throws Exception {
        boolean qcow2 = Planners.canResize(ImageFormat.QCOW2)
                && Samples.available().stream().anyMatch(x -> x.format().equals("qcow2"));
        Samples sample = Samples.available().stream().filter(x -> x.format().equals(qcow2 ? "qcow2" : "raw"))
                .findFirst().orElseThrow();
        Path dir = Files.createTempDirectory("diskplan-bench-1t");
        Path file = dir.resolve("1t." + sample.format());
        org.diskplan.probe.SampleWriter writer = java.util.ServiceLoader.load(org.diskplan.probe.SampleWriter.class)
                .stream().map(java.util.ServiceLoader.Provider::get).filter(x -> x.format().equals(sample.format()))
                .findFirst().orElseThrow();
        writer.write(file, 1L << 40, java.util.Map.of());
        fx(() -> w.open(file));
        waitFor(() -> w.image().image() != null && w.image().image().path().equals(file));
        int runs = 60;
        long[] t = new long[runs];
        for (int i = 0; i < runs; i++) {
            CountDownLatch shown = new CountDownLatch(1);
            long[] end = new long[1];
            fx(() -> w.resize().setOnPlanShown(() -> {
                end[0] = System.nanoTime();
                shown.countDown();
            }));
            String size = "+" + (1 + i % 7) + "G";
            long start = fx(() -> {
                long a = System.nanoTime();
                w.resize().sizeTextProperty().set(size);
                return a;
            });
            if (!shown.await(10, TimeUnit.SECONDS)) {
                throw new IllegalStateException("no plan for " + size + ": " + fx(() -> w.resize().errorProperty().get()));
            }
            t[i] = end[0] - start;
        }
        long[] warm = Arrays.copyOfRange(t, 10, runs);
        System.out.printf(Locale.ROOT, "typed size to plan shown, 1 TiB %s image (%s planner): median %.2f ms, p95 %.2f ms, "
                        + "max %.2f ms, first %.2f ms (%d runs after 10 warm-up)%n", sample.format(), sample.format(),
                ms(pct(warm, 50)), ms(pct(warm, 95)), ms(pct(warm, 100)), ms(t[0]), warm.length);
    }

    /** A plan of {@code n} patches: writes of 8 B to 1 MiB all over the file, then appends, like a big qcow2 grow. */
    static ResizePlan synthetic(int n) {
        long file = 64L << 30;
        List<ResizePatch> patches = new ArrayList<>();
        java.util.Random r = new java.util.Random(42);
        long end = file;
        for (int i = 0; i < n; i++) {
            int len = 8 << r.nextInt(18);
            if (i % 5 == 4) {
                patches.add(ResizePatch.Write.append(end, new byte[Math.min(len, 4096)], "append " + i, RegionKind.TABLE));
                end += Math.min(len, 4096);
            } else {
                long off = (long) (r.nextDouble() * (file - len)) & ~511L;
                patches.add(new ResizePatch.Write(off, new byte[Math.min(len, 4096)], "write " + i, RegionKind.REFCOUNT));
            }
        }
        return new ResizePlan(ImageFormat.RAW, new FormatOptions.Raw(), ResizeAction.GROW, file, end,
                new ResizeRequest(end, false, Preallocation.OFF),
                List.of(new org.diskplan.planner.PlanFile(java.nio.file.Path.of("synthetic.img"),
                        org.diskplan.planner.PlanFile.Role.IMAGE, file, end, false)), patches, n * 3 / 4,
                new TreeSet<>(), List.of(), List.of());
    }

    private static MouseEvent mouse(javafx.scene.Node n, double x, double y) {
        var p = n.localToScreen(x, y);
        return new MouseEvent(MouseEvent.MOUSE_MOVED, x, y, p.getX(), p.getY(), MouseButton.NONE, 0, false, false,
                false, false, false, false, false, false, false, false, null);
    }

    private static ScrollEvent wheel(javafx.scene.Node n, double x, double dy, boolean ctrl) {
        var p = n.localToScreen(x, 60);
        return new ScrollEvent(ScrollEvent.SCROLL, x, 60, p.getX(), p.getY(), false, ctrl, false, false, false, false,
                0, dy, 0, dy, ScrollEvent.HorizontalTextScrollUnits.NONE, 0, ScrollEvent.VerticalTextScrollUnits.NONE,
                0, 0, null);
    }

    private static long pct(long[] v, int p) {
        long[] s = v.clone();
        Arrays.sort(s);
        return s[Math.min(s.length - 1, (int) Math.ceil(p / 100.0 * s.length) - 1)];
    }

    private static double ms(long nanos) {
        return nanos / 1e6;
    }

    static <T> T fx(Supplier<T> s) {
        return Screenshots.fx(s);
    }

    private static void fx(Runnable r) {
        fx(() -> {
            r.run();
            return null;
        });
    }

    private static void waitFor(java.util.function.BooleanSupplier c) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!fx(c::getAsBoolean)) {
            if (System.nanoTime() > end) {
                throw new IllegalStateException("timed out");
            }
            Thread.sleep(20);
        }
    }
}
