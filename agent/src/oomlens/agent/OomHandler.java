package oomlens.agent;

import com.sun.management.HotSpotDiagnosticMXBean;

import java.io.PrintWriter;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * The OutOfMemoryError trigger: the JVM's default uncaught-exception handler, in front of the one
 * that was there before (which then runs as before; with none, the error is printed as the JVM
 * prints it). It recognises an OutOfMemoryError also as the cause of another error, frees the
 * reserve first so the capture has memory to work with, and dumps, unless the JVM already
 * dumped this error into the spool (then it writes only that dump's sidecar).
 *
 * <p>The agent installs it before the app's main runs, so an app that sets its own default
 * handler replaces it; the monitor then puts the agent's back in front of the app's
 * ({@link #keepInstalled}), which still runs after it. An app's handler that itself passes the
 * error on to the one it replaced reaches the agent's a second time: that one only passes it on.
 */
final class OomHandler implements Thread.UncaughtExceptionHandler {
    private static volatile byte[] reserve;
    /** The error this thread's handler is busy with: seen again, it is only passed on. */
    private static final ThreadLocal<Throwable> HANDLING = new ThreadLocal<Throwable>();

    private final Thread.UncaughtExceptionHandler previous;
    private final Capturer capturer;
    private final JvmOomDump jvmDump;
    private final int reserveBytes;

    private OomHandler(Thread.UncaughtExceptionHandler previous, Capturer capturer,
                       JvmOomDump jvmDump, int reserveBytes) {
        this.previous = previous;
        this.capturer = capturer;
        this.jvmDump = jvmDump;
        this.reserveBytes = reserveBytes;
    }

    /**
     * Parallel GC's overhead limit (-XX:+UseGCOverheadLimit, its default) refuses allocations
     * while a full collection leaves less than 2% of the heap free, which is where an app is
     * after an OutOfMemoryError: a reserve under that share may not be enough for the handler.
     * Said once at start, with what to do about it; a reserve that big is the app's heap to give.
     */
    static void checkReserve(HotSpotDiagnosticMXBean diagnostics, long reserveBytes) {
        boolean parallel = false;
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            parallel |= gc.getName().startsWith("PS ");
        }
        long max = Runtime.getRuntime().maxMemory();
        if (parallel && "true".equals(diagnostics.getVMOption("UseGCOverheadLimit").getValue())
                && max != Long.MAX_VALUE && reserveBytes < max / 20) {
            Log.line("Parallel GC's overhead limit may refuse the OutOfMemoryError handler's "
                    + "allocations with reserve=" + Human.bytes(reserveBytes) + ": give it 5% of "
                    + "the heap (reserve=" + Human.bytes(max / 20) + "), or add "
                    + "-XX:+HeapDumpOnOutOfMemoryError");
        }
    }

    static OomHandler install(Capturer capturer, JvmOomDump jvmDump, long reserveBytes) {
        OomHandler handler = new OomHandler(Thread.getDefaultUncaughtExceptionHandler(), capturer,
                jvmDump, (int) reserveBytes);
        handler.refillReserve();
        Thread.setDefaultUncaughtExceptionHandler(handler);
        return handler;
    }

    /**
     * The handler in charge now: this one, or, when the app has set another default handler
     * since, a new one in front of the app's (said in one line). Cheap enough for every check.
     */
    OomHandler keepInstalled() {
        Thread.UncaughtExceptionHandler current = Thread.getDefaultUncaughtExceptionHandler();
        if (current == this) {
            return this;
        }
        OomHandler handler = new OomHandler(current, capturer, jvmDump, reserveBytes);
        Thread.setDefaultUncaughtExceptionHandler(handler);
        Log.line("the app set a default uncaught-exception handler ("
                + (current == null ? "none" : current.getClass().getName())
                + "): the agent's runs first again, then that one");
        return handler;
    }

    @Override
    public void uncaughtException(Thread thread, Throwable error) {
        reserve = null; // before anything else: even reading a thread-local may allocate
        boolean again = false;
        try {
            try {
                again = HANDLING.get() == error;
                OutOfMemoryError oom = again ? null : outOfMemory(error);
                if (oom != null) {
                    HANDLING.set(error);
                    capture(thread, error, oom);
                }
            } catch (Throwable failure) {
                Log.failure("the OutOfMemoryError handler", failure);
            }
            if (previous != null) {
                previous.uncaughtException(thread, error);
            } else if (!(error instanceof ThreadDeath)) {
                printAsTheJvmDoes(thread, error);
            }
        } finally {
            if (!again) {
                try {
                    HANDLING.remove();
                } catch (Throwable ignored) {
                    // nothing was set
                }
                refillReserve(); // last: printing the error needed the room too
            }
        }
    }

    /** What ThreadGroup.uncaughtException prints when there is no default handler; the heap may
     *  be full again by now, so a failure to print is retried once after a collection. */
    private static void printAsTheJvmDoes(Thread thread, Throwable error) {
        for (int attempt = 0; attempt < 2; attempt++) {
            try {
                System.err.print("Exception in thread \"" + thread.getName() + "\" ");
                error.printStackTrace(System.err);
                return;
            } catch (OutOfMemoryError stillFull) {
                System.gc();
            }
        }
    }

    private void capture(Thread thread, Throwable error, OutOfMemoryError oom) {
        StringWriter trace = new StringWriter();
        trace.write("Exception in thread \"" + thread.getName() + "\" ");
        error.printStackTrace(new PrintWriter(trace, true));
        Occasion occasion = Occasion.oom(oom.toString(), trace.toString(), thread.getName());
        Path dumped = jvmDump.landedDump();
        if (dumped != null) {
            capturer.describeJvmDump(occasion, dumped);
        } else {
            capturer.capture(occasion);
        }
    }

    /** The OutOfMemoryError in the error's cause chain (the error itself first), or null. */
    static OutOfMemoryError outOfMemory(Throwable error) {
        Map<Throwable, Boolean> seen = new IdentityHashMap<Throwable, Boolean>();
        for (Throwable t = error; t != null && seen.put(t, Boolean.TRUE) == null;
                t = t.getCause()) {
            if (t instanceof OutOfMemoryError) {
                return (OutOfMemoryError) t;
            }
        }
        return null;
    }

    private void refillReserve() {
        try {
            reserve = reserveBytes > 0 ? new byte[reserveBytes] : null;
        } catch (OutOfMemoryError stillFull) {
            reserve = null; // the next OutOfMemoryError is handled without one
        }
    }
}
