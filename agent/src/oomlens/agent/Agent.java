package oomlens.agent;

import com.sun.management.HotSpotDiagnosticMXBean;

import java.lang.instrument.Instrumentation;
import java.lang.management.ManagementFactory;

/**
 * The agent's entry points: {@code -javaagent:oomlens-agent.jar=spool=DIR,...} (premain) or a
 * late attach (agentmain). Sets up the capture before the app starts (its JMX beans take about
 * 40 ms): an app that runs out of memory while starting, as a crash-looping one does, is caught
 * too. Then the agent's daemon thread, {@code oomlens-agent}, runs the threshold checks.
 * Whatever goes wrong is one line on stderr and capture is off: the agent never takes the app
 * down, nor keeps it from starting.
 *
 * <p>What a capture needs (the sidecar's writer, its time formatting, the UUID's random) is
 * loaded before the app starts too, not on the agent's thread: an app that runs out of memory
 * within its first second would otherwise race that thread, and a class whose initialisation
 * failed for want of memory stays unusable for the life of the JVM, so the OOM handler could
 * then never write a sidecar.
 */
public final class Agent {
    private final Options options;
    private final Spool spool;
    private final Capturer capturer;
    private final Monitor monitor;

    private Agent(Options options, Spool spool, Capturer capturer, Monitor monitor) {
        this.options = options;
        this.spool = spool;
        this.capturer = capturer;
        this.monitor = monitor;
    }

    public static void premain(String args, Instrumentation instrumentation) {
        start(args);
    }

    public static void premain(String args) {
        start(args);
    }

    public static void agentmain(String args, Instrumentation instrumentation) {
        start(args);
    }

    public static void agentmain(String args) {
        start(args);
    }

    private static void start(String args) {
        try {
            final Agent agent = setUp(args);
            if (agent == null) {
                return;
            }
            try {
                agent.capturer.warmUp();
            } catch (Throwable e) {
                Log.failure("preparing for a capture", e);
            }
            if (agent.options.oom) {
                agent.monitor.guard(agent.capturer.installOomHandler());
            }
            Log.line("capturing " + agent.capturer.app + " into " + agent.spool.dir
                    + " (OutOfMemoryError " + (agent.options.oom ? "on" : "off") + "; "
                    + agent.monitor.describe() + ")");
            Thread thread = new Thread(new Runnable() {
                @Override
                public void run() {
                    agent.runInBackground();
                }
            }, "oomlens-agent");
            thread.setDaemon(true);
            thread.start();
        } catch (Throwable e) {
            Log.failure("starting (capture is off)", e);
        }
    }

    private void runInBackground() {
        if (monitor.watchesAnything() || options.oom) {
            monitor.run();
        }
    }

    /** The capture as the options set it up, the OOM handler not installed and the monitor not
     *  running (the cost benchmark stops here); null when capture is off, the log says why. */
    static Agent setUp(String args) {
        Options options = Options.parse(args, System.getProperties(), System.getenv());
        if (options.spool == null) {
            Log.line("no spool given (spool=DIR, -Doomlens.spool or OOMLENS_AGENT_SPOOL): "
                    + "capture is off");
            return null;
        }
        ProcessFacts facts = ProcessFacts.current();
        Spool spool;
        try {
            spool = Spool.open(options.spool, facts.pid);
        } catch (Spool.Unusable e) {
            Log.line("spool " + options.spool + " is not writable (" + e.getMessage()
                    + "); no dumps will be taken");
            return null;
        }
        HotSpotDiagnosticMXBean diagnostics =
                ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
        String app = options.app != null ? options.app : facts.defaultApp;
        Gauges gauges = new Gauges(ThreadLimit.find());
        Capturer capturer = new Capturer(spool, options, facts, app,
                CaptureState.load(spool, app), gauges, diagnostics);
        return new Agent(options, spool, capturer, new Monitor(options, gauges, capturer));
    }

    Monitor monitor() {
        return monitor;
    }
}
