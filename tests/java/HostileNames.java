import com.sun.management.HotSpotDiagnosticMXBean;
import java.lang.management.ManagementFactory;

/**
 * A heap whose strings are HTML: a thread named with a script tag, a big byte[] (a big object,
 * over 1 MB retained) held by an array beside a string of markup. Pages that show thread names,
 * holders and strings from this dump must print them as text.
 */
public class HostileNames {
    static final String THREAD = "<script>alert('thread')</script>";
    static final String MARKUP = "<img src=x onerror=alert('string')>";
    static Object[] keep;

    public static void main(String[] args) throws Exception {
        Thread sleeper = new Thread(() -> {
            try {
                Thread.sleep(600_000);
            } catch (InterruptedException e) {
                // the JVM exits after the dump
            }
        }, THREAD);
        sleeper.setDaemon(true);
        sleeper.start();
        keep = new Object[] {new byte[3 << 20], MARKUP};
        HotSpotDiagnosticMXBean bean =
                ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
        bean.dumpHeap(args[0], true);
    }
}
