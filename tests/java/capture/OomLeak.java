import java.util.ArrayList;
import java.util.List;

/**
 * Leaks until the heap runs out: OomLeak.Chunk objects (each with a byte[] payload) kept in a
 * static list, so they stay reachable after the OutOfMemoryError unwinds main. The error is not
 * caught: the capture agent's handler sees it as the JVM's default handler would.
 *
 * Options (a bare number first is --chunk-kb, a second one --pause-ms):
 *   --chunk-kb N    payload of each chunk (default 16)
 *   --pause-ms N    sleep after each MB leaked (default 0: as fast as it can; a pause lets
 *                   threshold checks run before the error)
 *   --delay-ms N    sleep before leaking (default 0)
 *   --own-handler   set a default uncaught-exception handler first, as some apps do: it prints
 *                   "OomLeak's handler: <error>" and exits with status 7
 *   --chaining-handler  the same, but it passes the error on to the handler it replaced
 *                   (printed "OomLeak's chaining handler: <error>"), and the status is 1
 *   --depth N       leak N calls deep
 *   --wrap          catch the error N calls deep and throw an IllegalStateException caused by
 *                   it, as a library does: the OutOfMemoryError is only the cause, and the
 *                   trace is as long as the stack (the JVM's own OutOfMemoryError keeps about
 *                   30 frames; others up to -XX:MaxJavaStackTraceDepth, 1024 by default)
 *   --odd-thread    leak in a thread named ODD_THREAD_NAME (quotes, a backslash, a tab, a
 *                   character outside the BMP and an unpaired surrogate) and let main end
 *                   normally: the error ends only that thread
 */
public class OomLeak {
    static final List<Chunk> LEAKED = new ArrayList<>();
    static final String ODD_THREAD_NAME = "leak \"\u03b1\" \\ \t \ud834\udd1e \ud800";

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
        int depth = 0;
        boolean oddThread = false;
        boolean wrap = false;
        int positional = 0;
        for (int i = 0; i < args.length; i++) {
            if (args[i].matches("\\d+") && positional < 2) {
                if (positional++ == 0) {
                    chunkKb = Integer.parseInt(args[i]);
                } else {
                    pauseMillis = Integer.parseInt(args[i]);
                }
                continue;
            }
            switch (args[i]) {
                case "--chunk-kb": chunkKb = Integer.parseInt(args[++i]); break;
                case "--pause-ms": pauseMillis = Integer.parseInt(args[++i]); break;
                case "--delay-ms": delayMillis = Integer.parseInt(args[++i]); break;
                case "--depth": depth = Integer.parseInt(args[++i]); break;
                case "--odd-thread": oddThread = true; break;
                case "--chaining-handler":
                    Thread.UncaughtExceptionHandler before =
                            Thread.getDefaultUncaughtExceptionHandler();
                    Thread.setDefaultUncaughtExceptionHandler((thread, error) -> {
                        System.out.println("OomLeak's chaining handler: " + error);
                        System.out.flush();
                        if (before != null) {
                            before.uncaughtException(thread, error);
                        }
                    });
                    break;
                case "--wrap": wrap = true; break;
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
        int kb = chunkKb;
        int pause = pauseMillis;
        int calls = depth;
        boolean wrapped = wrap;
        if (oddThread) {
            Thread leaker = new Thread(() -> {
                try {
                    leakDeep(calls, kb, pause, wrapped);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, ODD_THREAD_NAME);
            leaker.start();
            leaker.join();
            LEAKED.clear();
            System.out.println("OomLeak: main ends normally");
        } else {
            leakDeep(calls, kb, pause, wrapped);
        }
    }

    static void leakDeep(int depth, int chunkKb, int pauseMillis, boolean wrap)
            throws InterruptedException {
        if (depth > 0) {
            leakDeep(depth - 1, chunkKb, pauseMillis, wrap);
        } else if (wrap) {
            try {
                leakUntilOutOfMemory(chunkKb, pauseMillis);
            } catch (OutOfMemoryError e) {
                for (int i = 0; i < 64 && !LEAKED.isEmpty(); i++) {
                    LEAKED.remove(LEAKED.size() - 1); // room for the new exception's trace
                }
                throw new IllegalStateException("loading the cache failed", e);
            }
        } else {
            leakUntilOutOfMemory(chunkKb, pauseMillis);
        }
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
