import java.lang.management.ManagementFactory;

import oomlens.agent.Monitor;

/**
 * What one threshold check of the capture agent costs: runs Monitor.check() in a loop (compile
 * with the agent jar on the class path) and prints nanoseconds and bytes allocated per check.
 *
 * Args: checks (default 100000), agent options (default "spool=" + java.io.tmpdir + "/oomlens-
 * check-cost"). The thresholds must stay uncrossed, or the loop measures dumps.
 */
public class CheckCost {
    public static void main(String[] args) {
        int checks = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
        String options = args.length > 1 ? args[1]
                : "spool=" + System.getProperty("java.io.tmpdir") + "/oomlens-check-cost";
        Monitor monitor = Monitor.standalone(options);
        if (monitor == null) {
            System.exit(2);
        }
        com.sun.management.ThreadMXBean threads =
                (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long self = Thread.currentThread().getId();
        for (int i = 0; i < Math.min(checks, 20_000); i++) { // warm up: let the JIT compile it
            monitor.check();
        }
        long allocatedBefore = threads.getThreadAllocatedBytes(self);
        long start = System.nanoTime();
        for (int i = 0; i < checks; i++) {
            monitor.check();
        }
        long nanos = System.nanoTime() - start;
        long allocated = threads.getThreadAllocatedBytes(self) - allocatedBefore;
        System.out.printf("checks=%d ns_per_check=%.0f bytes_per_check=%.2f open_fds=%d%n",
                checks, nanos / (double) checks, allocated / (double) checks,
                ((com.sun.management.UnixOperatingSystemMXBean)
                        ManagementFactory.getOperatingSystemMXBean()).getOpenFileDescriptorCount());
    }
}
