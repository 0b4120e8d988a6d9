package oomlens.agent;

/**
 * The threshold triggers: a daemon thread ({@code oomlens-agent}) that checks heap after GC,
 * live threads and open descriptors every {@code interval}, and captures when one is over its
 * threshold (at most once per trigger per cooldown: {@link Capturer#permits}). A check runs for
 * the life of the JVM, so it is cheap: a few MXBean calls, no allocation while all is well.
 *
 * <p>Public only for the cost benchmark ({@link #standalone}, {@link #check}).
 */
public final class Monitor implements Runnable {
    private final Options options;
    private final Gauges gauges;
    private final Capturer capturer;
    private final HeapRule heapRule; // null: heap trigger off
    private final long threadThreshold; // -1: off
    private final Gauges.Reading reading = new Gauges.Reading();
    private long fdLimitSeen = -2;
    private long fdThreshold = -1;
    private final Throttle failures;

    Monitor(Options options, Gauges gauges, Capturer capturer) {
        this.options = options;
        this.gauges = gauges;
        this.capturer = capturer;
        long max = gauges.heapMax();
        double percent = options.heap.kind == Level.Kind.AUTO ? HeapRule.autoPercent(max)
                : options.heap.kind == Level.Kind.PERCENT ? options.heap.percent : -1;
        this.heapRule = percent > 0 && max > 0
                ? new HeapRule(percent, options.heapStep.of(max), options.heapChecks) : null;
        this.threadThreshold = options.threads.of(gauges.threadLimit);
        this.failures = new Throttle(1, Math.max(options.cooldownMillis, 60_000));
    }

    /** A monitor set up from agent options, without its thread: for measuring {@link #check}.
     *  Null when the options turn capture off (the log says why). */
    public static Monitor standalone(String agentArgs) {
        Agent agent = Agent.setUp(agentArgs);
        return agent == null ? null : agent.monitor();
    }

    /** True when any threshold trigger is on: otherwise the thread is not started. */
    boolean watchesAnything() {
        return heapRule != null || threadThreshold > 0 || options.fds.kind != Level.Kind.OFF;
    }

    /** What the monitor watches, for the agent's start line. */
    String describe() {
        if (!watchesAnything()) {
            return "thresholds off";
        }
        StringBuilder out = new StringBuilder("checks every ")
                .append(Human.duration(options.intervalMillis)).append(": heap ");
        out.append(heapRule == null ? "off" : (long) heapRule.thresholdPercent + "% of "
                + Human.bytes(gauges.heapMax()) + " after GC");
        out.append(", threads ");
        if (threadThreshold < 0) {
            out.append(options.threads.kind == Level.Kind.OFF ? "off" : "off (no limit known)");
        } else {
            out.append(threadThreshold).append(gauges.threadLimit > 0
                    ? " of limit " + gauges.threadLimit : "");
        }
        Gauges.Reading now = new Gauges.Reading();
        gauges.read(now);
        long fds = options.fds.of(now.fdLimit);
        out.append(", fds ").append(fds < 0 ? "off" : fds + (now.fdLimit > 0
                ? " of limit " + now.fdLimit : ""));
        return out.toString();
    }

    /** The monitor's loop, on the agent's thread: a check every interval, for ever. */
    @Override
    public void run() {
        while (true) {
            try {
                Thread.sleep(options.intervalMillis);
            } catch (InterruptedException e) {
                return;
            }
            try {
                check();
            } catch (Throwable e) {
                if (failures.due(0, System.currentTimeMillis())) {
                    Log.failure("a threshold check", e);
                }
            }
        }
    }

    /** One check of every threshold; captures when one is crossed. */
    public void check() {
        gauges.read(reading);
        if (heapRule != null && reading.heapMax > 0) {
            checkHeap();
        }
        if (threadThreshold > 0 && reading.threads >= threadThreshold) {
            long now = System.currentTimeMillis();
            if (capturer.permits(Trigger.THREADS, now)) {
                String of = reading.threadLimit > 0 ? " of limit " + reading.threadLimit + " ("
                        + Human.percentOf(reading.threads, reading.threadLimit) + "%)"
                        : ", threshold " + threadThreshold;
                capturer.capture(Occasion.threshold(Trigger.THREADS, "threads " + reading.threads
                        + of, "threads", reading.threads, threadThreshold, reading.threadLimit, 1,
                        null));
            }
        }
        if (reading.fdLimit != fdLimitSeen) {
            fdLimitSeen = reading.fdLimit;
            fdThreshold = options.fds.of(reading.fdLimit);
        }
        if (fdThreshold > 0 && reading.openFds >= fdThreshold) {
            long now = System.currentTimeMillis();
            if (capturer.permits(Trigger.FDS, now)) {
                String of = reading.fdLimit > 0 ? " of " + reading.fdLimit + " ("
                        + Human.percentOf(reading.openFds, reading.fdLimit) + "%)"
                        : ", threshold " + fdThreshold;
                capturer.capture(Occasion.threshold(Trigger.FDS, "open files " + reading.openFds
                        + of, "fds", reading.openFds, fdThreshold, reading.fdLimit, 1, null));
            }
        }
    }

    private void checkHeap() {
        int verdict = heapRule.observe(reading.heapAfterGc, reading.heapMax);
        if (verdict == HeapRule.NONE
                || !capturer.permits(Trigger.HEAP, System.currentTimeMillis())) {
            return;
        }
        long max = reading.heapMax;
        String reason = "heap " + Human.percentOf(reading.heapAfterGc, max) + "% of "
                + Human.bytes(max) + " after GC, " + (verdict == HeapRule.STEP
                ? "up " + Human.bytes(heapRule.rise()) + " since the last check"
                : heapRule.overCount() + " checks");
        Occasion occasion = Occasion.threshold(Trigger.HEAP, reason, "heap", reading.heapAfterGc,
                (long) Math.ceil(max * heapRule.thresholdPercent / 100.0), max,
                heapRule.overCount(), verdict == HeapRule.STEP ? "step" : "sustained");
        if (capturer.capture(occasion)) {
            heapRule.dumped();
        }
    }
}
