import java.util.ArrayList;
import java.util.List;

/**
 * A busy app whose heap holds a set share of the maximum: it keeps HeapHold.Block objects (64 KB
 * each) in a static list, grown or shrunk phase by phase, and makes short-lived garbage all the
 * while so that collections run. Ends normally (exit 0) saying it never hit an
 * OutOfMemoryError; if it does hit one, says so and exits 3.
 *
 * Args: phases PERCENT:SECONDS (hold PERCENT of Runtime.maxMemory() for SECONDS), e.g.
 * "87:6" or "10:2 80:4" (10% for 2 s, then 80% for 4 s). Printed per phase: how much it holds.
 */
public class HeapHold {
    static final int BLOCK = 64 * 1024;
    static final List<Block> HELD = new ArrayList<>();
    static volatile Object sink;

    static final class Block {
        final byte[] payload = new byte[BLOCK];
    }

    public static void main(String[] args) throws InterruptedException {
        long max = Runtime.getRuntime().maxMemory();
        try {
            for (String phase : args) {
                String[] parts = phase.split(":");
                double percent = Double.parseDouble(parts[0]);
                long millis = Math.round(Double.parseDouble(parts[1]) * 1000);
                int blocks = (int) (max * percent / 100 / BLOCK);
                while (HELD.size() < blocks) {
                    HELD.add(new Block());
                }
                while (HELD.size() > blocks) {
                    HELD.remove(HELD.size() - 1);
                }
                System.out.println("HeapHold: holding " + (long) blocks * BLOCK + " bytes of max "
                        + max + " for " + millis + " ms");
                churn(millis);
            }
        } catch (OutOfMemoryError e) {
            HELD.clear();
            System.out.println("HeapHold: hit OutOfMemoryError");
            System.exit(3);
        }
        System.out.println("HeapHold: done, never hit OutOfMemoryError");
    }

    /** About 40 MB/s of garbage in 16 KB arrays, in bursts every 5 ms. */
    static void churn(long millis) throws InterruptedException {
        long end = System.nanoTime() + millis * 1_000_000;
        while (System.nanoTime() < end) {
            for (int i = 0; i < 12; i++) {
                sink = new byte[16 * 1024];
            }
            Thread.sleep(5);
        }
    }
}
