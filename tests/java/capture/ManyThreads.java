import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * Starts threads named worker-1 ... worker-N, held by a ThreadOwner (in a static field), all
 * parked on a latch; stays for a while, then lets them end and exits 0.
 *
 * Args: N, seconds to stay alive after all started (default 3).
 */
public class ManyThreads {
    static final ThreadOwner OWNER = new ThreadOwner();

    static final class ThreadOwner {
        final List<Thread> workers = new ArrayList<>();
        final CountDownLatch release = new CountDownLatch(1);
    }

    public static void main(String[] args) throws InterruptedException {
        int count = Integer.parseInt(args[0]);
        double seconds = args.length > 1 ? Double.parseDouble(args[1]) : 3;
        CountDownLatch started = new CountDownLatch(count);
        for (int i = 1; i <= count; i++) {
            Thread worker = new Thread(() -> {
                started.countDown();
                try {
                    OWNER.release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "worker-" + i);
            OWNER.workers.add(worker);
            worker.start();
        }
        started.await();
        System.out.println("ManyThreads: started " + count + " workers");
        Thread.sleep(Math.round(seconds * 1000));
        OWNER.release.countDown();
        for (Thread worker : OWNER.workers) {
            worker.join();
        }
        System.out.println("ManyThreads: done");
    }
}
