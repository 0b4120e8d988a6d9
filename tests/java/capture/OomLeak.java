import java.util.ArrayList;
import java.util.List;

/**
 * Leaks until the heap runs out: OomLeak.Chunk objects (each with a byte[] payload) kept in a
 * static list, so they stay reachable after the OutOfMemoryError unwinds main. The error is not
 * caught: the capture agent's handler sees it as the JVM's default handler would.
 *
 * Args: [chunk KB, default 16] [pause in ms after each MB leaked, default 0: as fast as it can;
 * a pause lets threshold checks run before the error].
 */
public class OomLeak {
    static final List<Chunk> LEAKED = new ArrayList<>();

    static final class Chunk {
        final int number;
        final byte[] payload;

        Chunk(int number, int bytes) {
            this.number = number;
            this.payload = new byte[bytes];
        }
    }

    public static void main(String[] args) throws InterruptedException {
        int chunkKb = args.length > 0 ? Integer.parseInt(args[0]) : 16;
        int pauseMillis = args.length > 1 ? Integer.parseInt(args[1]) : 0;
        System.out.println("OomLeak: leaking " + chunkKb + " KB chunks, max heap "
                + Runtime.getRuntime().maxMemory());
        leakUntilOutOfMemory(chunkKb, pauseMillis);
    }

    static void leakUntilOutOfMemory(int chunkKb, int pauseMillis) throws InterruptedException {
        int perMb = Math.max(1, 1024 / chunkKb);
        for (int n = 0; ; n++) {
            LEAKED.add(new Chunk(n, chunkKb * 1024));
            if (pauseMillis > 0 && n % perMb == 0) {
                Thread.sleep(pauseMillis);
            }
        }
    }
}
