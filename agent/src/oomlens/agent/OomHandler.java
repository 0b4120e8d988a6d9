package oomlens.agent;

import java.io.PrintWriter;
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
        boolean again = HANDLING.get() == error;
        reserve = null; // before anything else: even finding the cause needs some memory
        try {
            try {
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
                // what ThreadGroup.uncaughtException prints when there is no default handler
                System.err.print("Exception in thread \"" + thread.getName() + "\" ");
                error.printStackTrace(System.err);
            }
        } finally {
            if (!again) {
                HANDLING.remove();
                refillReserve(); // last: printing the error needed the room too
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
