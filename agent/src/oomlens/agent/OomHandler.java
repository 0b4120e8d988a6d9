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
 */
final class OomHandler implements Thread.UncaughtExceptionHandler {
    private static volatile byte[] reserve;

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

    static void install(Capturer capturer, JvmOomDump jvmDump, long reserveBytes) {
        OomHandler handler = new OomHandler(Thread.getDefaultUncaughtExceptionHandler(), capturer,
                jvmDump, (int) reserveBytes);
        handler.refillReserve();
        Thread.setDefaultUncaughtExceptionHandler(handler);
    }

    @Override
    public void uncaughtException(Thread thread, Throwable error) {
        reserve = null; // before anything else: even finding the cause needs some memory
        try {
            try {
                OutOfMemoryError oom = outOfMemory(error);
                if (oom != null) {
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
            refillReserve(); // last: printing the error needed the room too
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
