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
    private long fdLimitSeen = -2;
    private long fdThreshold = -1;
    private final Throttle failures;
    private OomHandler oomHandler; // null: OutOfMemoryError capture off

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

    /** The OOM handler to keep in front of any the app sets (see OomHandler#keepInstalled). */
    void guard(OomHandler handler) {
        oomHandler = handler;
    }

    /** True when any threshold trigger is on. */
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
        long fdLimit = gauges.fdLimit();
        long fds = options.fds.of(fdLimit);
        out.append(", fds ").append(fds < 0 ? "off" : fds + (fdLimit > 0
                ? " of limit " + fdLimit : ""));
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
        if (oomHandler != null) {
            oomHandler = oomHandler.keepInstalled();
        }
        if (heapRule != null) {
            long max = gauges.heapMax();
            if (max > 0) {
                checkHeap(gauges.heapAfterGc(), max);
            }
        }
        if (threadThreshold > 0) {
            checkCount(Trigger.THREADS, "threads", " of limit ", gauges.threads(),
                    threadThreshold, gauges.threadLimit);
        }
        if (options.fds.kind != Level.Kind.OFF) {
            long limit = gauges.fdLimit();
            if (limit != fdLimitSeen) { // the soft limit may be raised while the app runs
                fdLimitSeen = limit;
                fdThreshold = options.fds.of(limit);
            }
            if (fdThreshold > 0) {
                checkCount(Trigger.FDS, "open files", " of ", gauges.openFds(), fdThreshold,
                        limit);
            }
        }
    }

    /** The thread and descriptor thresholds: a count over its threshold dumps at once. */
    private void checkCount(Trigger trigger, String what, String of, long value, long threshold,
                            long max) {
        if (value < threshold || !capturer.permits(trigger, System.currentTimeMillis())) {
            return;
        }
        String reason = what + " " + value + (max > 0 ? of + max + " ("
                + Human.percentOf(value, max) + "%)" : ", threshold " + threshold);
        capturer.capture(Occasion.threshold(trigger, reason, trigger == Trigger.THREADS
                ? "threads" : "fds", value, threshold, max, 1, null, -1));
    }

    private void checkHeap(long afterGc, long max) {
        int verdict = heapRule.observe(afterGc, max);
        if (verdict == HeapRule.NONE
                || !capturer.permits(Trigger.HEAP, System.currentTimeMillis())) {
            return;
        }
        boolean step = verdict == HeapRule.STEP;
        String reason = "heap " + Human.percentOf(afterGc, max) + "% of " + Human.bytes(max)
                + " after GC, " + (step ? "up " + Human.bytes(heapRule.rise())
                + " since the last check" : heapRule.overCount() + " checks");
        Occasion occasion = Occasion.threshold(Trigger.HEAP, reason, "heap", afterGc,
                (long) Math.ceil(max * heapRule.thresholdPercent / 100.0), max,
                heapRule.overCount(), step ? "step" : "sustained",
                step ? afterGc - heapRule.rise() : -1);
        if (capturer.capture(occasion)) {
            heapRule.dumped();
        }
    }
}
