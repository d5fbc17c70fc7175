import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;
import org.diskplan.probe.ImageProber;
import org.diskplan.probe.ProbedImage;

/**
 * In-process probe time (no JVM start-up): median of N probes after a warm-up.
 * Run by bench/probe.sh as `java -cp app-fx/target/diskplan.jar bench/ProbeTiming.java N FILE...`.
 */
public class ProbeTiming {
    public static void main(String[] args) throws Exception {
        int runs = Integer.parseInt(args[0]);
        for (String name : Arrays.copyOfRange(args, 1, args.length)) {
            Path file = Path.of(name);
            for (int i = 0; i < 3; i++) {
                ImageProber.probe(file, Optional.empty());
            }
            long[] t = new long[runs];
            ProbedImage p = null;
            for (int i = 0; i < runs; i++) {
                long s = System.nanoTime();
                p = ImageProber.probe(file, Optional.empty());
                t[i] = System.nanoTime() - s;
            }
            Arrays.sort(t);
            System.out.printf("%s %.2f %d %d%n", file.getFileName(), t[runs / 2] / 1e6, p.fields().size(),
                    p.regions().size());
        }
    }
}
