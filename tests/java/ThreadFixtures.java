import com.sun.management.HotSpotDiagnosticMXBean;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Threads for the thread-grouping tests: a fixed pool of 12 (default names pool-N-thread-M, held
 * by the executor's workers), 3 uploader threads kept in a list by an Uploader, and one lone
 * thread named "watchdog". All are parked on a latch while the heap is dumped.
 */
public class ThreadFixtures {
    static ExecutorService pool;
    static Uploader uploader;
    static Thread watchdog;

    public static void main(String[] args) throws Exception {
        HotSpotDiagnosticMXBean bean =
                ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch started = new CountDownLatch(12 + 3 + 1);
        Runnable park = () -> {
            started.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };
        pool = Executors.newFixedThreadPool(12);
        for (int i = 0; i < 12; i++) {
            pool.execute(park);
        }
        uploader = new Uploader();
        for (int i = 0; i < 3; i++) {
            Thread t = new Thread(park, "uploader-" + i);
            uploader.threads.add(t);
            t.start();
        }
        watchdog = new Thread(park, "watchdog");
        watchdog.start();
        started.await();
        bean.dumpHeap(args[0], true);
        release.countDown();
        pool.shutdown();
        System.out.println(uploader.threads.size() + watchdog.getName());
    }
}

class Uploader {
    final List<Thread> threads = new ArrayList<>();
}
