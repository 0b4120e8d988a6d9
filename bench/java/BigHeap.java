import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A JVM server-like heap of about TARGET_MB live megabytes for the capture benchmark: a map of
 * sessions, each with a few strings, a small byte[] and a list of entries, the kind of object
 * graph a cache or a session store builds (millions of objects, not a few big arrays). Prints
 * "ready" once built, then starts IDLE_THREADS parked threads (named idle-N: a way to make the
 * capture agent's thread threshold fire at a known moment) and keeps working (short-lived
 * garbage, so collections run) until killed.
 *
 * Args: TARGET_MB [IDLE_THREADS, default 0].
 */
public class BigHeap {
    static final class Entry {
        final String name;
        final long value;
        Entry(String name, long value) { this.name = name; this.value = value; }
    }

    static final class Session {
        final String id;
        final String user;
        final byte[] token = new byte[48];
        final List<Entry> entries = new ArrayList<>();
        Session(String id, String user) { this.id = id; this.user = user; }
    }

    static final Map<String, Session> SESSIONS = new HashMap<>();

    public static void main(String[] args) throws Exception {
        long target = Long.parseLong(args[0]) << 20;
        int idleThreads = args.length > 1 ? Integer.parseInt(args[1]) : 0;
        Runtime rt = Runtime.getRuntime();
        int n = 0;
        while (rt.totalMemory() - rt.freeMemory() < target || n % 10_000 != 0) {
            Session s = new Session("session-" + n, "user" + (n % 5000) + "@example.com");
            for (int k = 0; k < 4; k++) {
                s.entries.add(new Entry("item-" + k, n * 31L + k));
            }
            SESSIONS.put(s.id, s);
            n++;
        }
        System.out.println("ready sessions=" + SESSIONS.size());
        System.out.flush();
        for (int i = 0; i < idleThreads; i++) {
            Thread idle = new Thread(() -> {
                try {
                    Thread.sleep(Long.MAX_VALUE);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "idle-" + i);
            idle.setDaemon(true);
            idle.start();
        }
        long sink = 0;
        while (true) {
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < 100; i++) {
                b.append(i);
            }
            sink += b.length();
            if (sink % 1_000_003 == 0) {
                Thread.sleep(1);
            }
        }
    }
}
