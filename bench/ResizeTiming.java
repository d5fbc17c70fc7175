import java.nio.file.Path;
import java.util.Optional;

import org.diskplan.abi.Preallocation;
import org.diskplan.planner.ResizeSession;
import org.diskplan.planner.ResizePlan;
import org.diskplan.planner.ResizeRequest;
import org.diskplan.planner.SizeArgument;
import org.diskplan.planner.apply.ApplyOptions;
import org.diskplan.probe.ProbedImage;

/**
 * In-process timing for bench/qcow2-resize.sh, run as `java -cp app-fx/target/diskplan.jar bench/ResizeTiming.java ...`: probe + plan + apply of one resize, as the
 * CLI does it but without the JVM start. Usage: {@code ResizeTiming FILE SIZE [shrink]
 * [off|metadata|falloc|full]}; prints "probe_ms plan_ms apply_ms total_ms patches bytes".
 */
public final class ResizeTiming {
    private ResizeTiming() {
    }

    public static void main(String[] args) throws Exception {
        Path file = Path.of(args[0]);
        boolean shrink = args.length > 2 && args[2].equals("shrink");
        Preallocation mode = args.length > 3 ? Preallocation.fromQemuName(args[3]).orElseThrow() : Preallocation.OFF;
        long t0 = System.nanoTime();
        try (ResizeSession session = ResizeSession.forResize(file)) {
            ProbedImage probed = session.probe(Optional.empty());
            long t1 = System.nanoTime();
            ResizeRequest request = new ResizeRequest(SizeArgument.parse(args[1]).resolve(probed.virtualSize()), shrink,
                    mode);
            ResizePlan plan = session.plan(request);
            long t2 = System.nanoTime();
            session.apply(plan, ApplyOptions.DEFAULT);
            long t3 = System.nanoTime();
            System.out.printf("%.1f %.1f %.1f %.1f %d %d%n", (t1 - t0) / 1e6, (t2 - t1) / 1e6, (t3 - t2) / 1e6,
                    (t3 - t0) / 1e6, plan.patches().size(), plan.bytesWritten());
        }
    }
}
