import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A busy JVM for the agent's overhead benchmark: THREADS threads build and drop small maps and
 * strings (allocation-heavy, so collections run as in a real server) for SECONDS seconds, while
 * keeping a steady live set of LIVE_MB. Prints "ops=N cpu_ms=M" at the end: the work done and
 * the CPU time the whole process used, agent included.
 */
public class BusyApp {
    public static void main(String[] args) throws Exception {
        int seconds = Integer.parseInt(args[0]);
        int threads = Integer.parseInt(args[1]);
        int liveMb = Integer.parseInt(args[2]);
        List<byte[]> live = new ArrayList<>();
        for (int i = 0; i < liveMb; i++) {
            live.add(new byte[1 << 20]);
        }
        AtomicLong ops = new AtomicLong();
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            Thread worker = new Thread(() -> {
                long done = 0;
                while (System.nanoTime() < end) {
                    Map<String, Integer> m = new HashMap<>();
                    for (int k = 0; k < 64; k++) {
                        m.put("key-" + k + "-" + done, k);
                    }
                    if (m.size() != 64) {
                        throw new AssertionError();
                    }
                    done++;
                }
                ops.addAndGet(done);
            }, "busy-" + t);
            workers.add(worker);
            worker.start();
        }
        for (Thread worker : workers) {
            worker.join();
        }
        com.sun.management.OperatingSystemMXBean os =
            (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        System.out.println("ops=" + ops.get() + " cpu_ms=" + os.getProcessCpuTime() / 1_000_000
                           + " live=" + live.size());
    }
}
