import java.util.ArrayList;
import java.util.List;

/**
 * Leaks until the heap runs out: OomLeak.Chunk objects (each with a byte[] payload) kept in a
 * static list, so they stay reachable after the OutOfMemoryError unwinds main. The error is not
 * caught: the capture agent's handler sees it as the JVM's default handler would.
 *
 * Options:
 *   --chunk-kb N    payload of each chunk (default 16)
 *   --pause-ms N    sleep after each MB leaked (default 0: as fast as it can; a pause lets
 *                   threshold checks run before the error)
 *   --delay-ms N    sleep before leaking (default 0)
 *   --own-handler   set a default uncaught-exception handler first, as some apps do: it prints
 *                   "OomLeak's handler: <error>" and exits with status 7
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
        int chunkKb = 16;
        int pauseMillis = 0;
        int delayMillis = 0;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--chunk-kb": chunkKb = Integer.parseInt(args[++i]); break;
                case "--pause-ms": pauseMillis = Integer.parseInt(args[++i]); break;
                case "--delay-ms": delayMillis = Integer.parseInt(args[++i]); break;
                case "--own-handler":
                    Thread.setDefaultUncaughtExceptionHandler((thread, error) -> {
                        System.out.println("OomLeak's handler: " + error);
                        System.out.flush();
                        Runtime.getRuntime().halt(7);
                    });
                    break;
                default: throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        System.out.println("OomLeak: leaking " + chunkKb + " KB chunks, max heap "
                + Runtime.getRuntime().maxMemory());
        Thread.sleep(delayMillis);
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
