package oomlens.agent;

import com.sun.management.HotSpotDiagnosticMXBean;

import java.io.IOException;
import java.io.File;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.UUID;

/**
 * Takes a capture as docs/capture.md lays it out, one at a time: {@code BASE.lock} first (the
 * early sidecar, locked while the capture runs, so a reader can tell a capture in progress from
 * one whose process died), the dump to {@code BASE.partial.hprof}, renamed {@code BASE.hprof}
 * once complete, then {@code BASE.json} through a temporary file: its presence makes the capture
 * complete. And decides whether a dump may be taken at all: the cooldown per trigger, the daily
 * cap and the disk guard (a spool with less room than the heap's maximum could fill the disk the
 * app needs, and still not hold the dump).
 */
final class Capturer {
    private static final int COOLDOWN = 0, DAILY_CAP = 1, DISK = 2, NOTICES = 3;

    private final Spool spool;
    private final File spoolDir;
    private final Options options;
    private final ProcessFacts facts;
    final String app;
    private final CaptureState state;
    private final Gauges gauges;
    private final HotSpotDiagnosticMXBean diagnostics;
    private final Throttle notices;

    Capturer(Spool spool, Options options, ProcessFacts facts, String app, CaptureState state,
             Gauges gauges, HotSpotDiagnosticMXBean diagnostics) {
        this.spool = spool;
        this.spoolDir = spool.dir.toFile();
        this.options = options;
        this.facts = facts;
        this.app = app;
        this.state = state;
        this.gauges = gauges;
        this.diagnostics = diagnostics;
        this.notices = new Throttle(Trigger.values().length * NOTICES,
                Math.max(options.cooldownMillis, 60_000));
    }

    /**
     * Whether a dump for this trigger may be taken now. When not, says why, once per trigger
     * and reason per cooldown. Allocates nothing when it says yes or stays silent: the monitor
     * asks at every check over a threshold.
     */
    synchronized boolean permits(Trigger trigger, long now) {
        long since = state.sinceLastDump(trigger, now);
        if (since >= 0 && since < options.cooldownMillis) {
            if (due(trigger, COOLDOWN, now)) {
                refuse(trigger, "it dumped " + Human.ago(since) + " ago (cooldown="
                        + Human.duration(options.cooldownMillis) + ")");
            }
            return false;
        }
        if (options.dailyCap >= 0 && state.dumpsOn(now) >= options.dailyCap) {
            if (due(trigger, DAILY_CAP, now)) {
                refuse(trigger, state.dumpsOn(now) + " dumps today already (daily-cap="
                        + options.dailyCap + ")");
            }
            return false;
        }
        long max = gauges.heapMax();
        long free = spoolDir.getUsableSpace();
        if (max > 0 && free < max) {
            if (due(trigger, DISK, now)) {
                refuse(trigger, "the spool's disk has " + Human.bytes(free)
                        + " free, less than the heap's maximum " + Human.bytes(max));
            }
            return false;
        }
        return true;
    }

    /**
     * Dumps for this occasion if {@link #permits} allows; true when a dump was written. A dump
     * that runs out of memory itself (at an OutOfMemoryError the heap is full again as soon as
     * the reserve is used; Parallel GC's overhead limit refuses allocations until a collection
     * has freed something) is tried once more after a collection.
     */
    synchronized boolean capture(Occasion occasion) {
        long now = System.currentTimeMillis();
        if (!permits(occasion.trigger, now)) {
            return false;
        }
        String base = Spool.baseName(app, now, facts.pid, occasion.trigger);
        state.recordDump(occasion.trigger, now);
        for (int attempt = 1; ; attempt++) {
            try {
                dump(occasion, now, base);
                return true;
            } catch (Throwable e) {
                removeFiles(base);
                if (e instanceof OutOfMemoryError && attempt == 1) {
                    System.gc();
                    continue;
                }
                Log.line(occasion.trigger.wire + ": dump failed (" + Log.describe(e)
                        + "); its files are removed");
                return false;
            }
        }
    }

    private void removeFiles(String base) {
        for (String suffix : new String[] {".partial.hprof", ".hprof", ".json.tmp", ".json",
            ".lock"}) {
            try {
                Files.deleteIfExists(spool.file(base + suffix));
            } catch (Throwable ignored) {
                // nothing more to do about it
            }
        }
    }

    private void dump(Occasion occasion, long now, String base) throws IOException {
        Path lock = spool.file(base + ".lock");
        Path partial = spool.file(base + ".partial.hprof");
        Path hprof = spool.file(base + ".hprof");
        String captureId = UUID.randomUUID().toString();
        Gauges.Reading reading = gauges.snapshot();
        FileChannel channel = FileChannel.open(lock, StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE);
        try {
            channel.lock();
            channel.write(ByteBuffer.wrap(Sidecar.encode(facts, options, app, occasion, captureId,
                    now, reading, null)));
            long start = System.nanoTime();
            diagnostics.dumpHeap(partial.toString(), false);
            long millis = (System.nanoTime() - start) / 1_000_000;
            Spool.rename(partial, hprof);
            long bytes = Files.size(hprof);
            writeSidecar(base + ".json", Sidecar.encode(facts, options, app, occasion, captureId,
                    now, reading, new Sidecar.Dump(hprof.getFileName().toString(), bytes, millis)));
            // deleted while still locked: no reader ever sees a complete capture's lock unlocked
            Files.delete(lock);
            Log.line(occasion.trigger.wire + ": " + occasion.reason + "; dumped "
                    + Human.bytes(bytes) + " to " + hprof + " in " + Human.seconds(millis));
        } finally {
            channel.close(); // releases the lock
        }
    }

    /**
     * The sidecar of the dump the JVM wrote itself at this OutOfMemoryError
     * ({@code -XX:+HeapDumpOnOutOfMemoryError} into the spool): {@code java_pid<pid>.json},
     * and no second dump.
     */
    synchronized void describeJvmDump(Occasion occasion, Path dump) {
        long now = System.currentTimeMillis();
        String name = dump.getFileName().toString();
        String sidecar = name.substring(0, name.length() - ".hprof".length()) + ".json";
        try {
            long bytes = Files.size(dump);
            writeSidecar(sidecar, Sidecar.encode(facts, options, app, occasion,
                    UUID.randomUUID().toString(), now, gauges.snapshot(),
                    new Sidecar.Dump(name, bytes, -1)));
            Log.line(occasion.trigger.wire + ": " + occasion.reason + "; the JVM dumped "
                    + Human.bytes(bytes) + " to " + dump + ", described in " + sidecar);
        } catch (Throwable e) {
            Log.line(occasion.trigger.wire + ": cannot write " + spool.file(sidecar) + " ("
                    + Log.describe(e) + ")");
        }
    }

    /** Captures at an uncaught OutOfMemoryError from now on (see {@link OomHandler}). */
    OomHandler installOomHandler() {
        OomHandler.checkReserve(diagnostics, options.reserveBytes);
        return OomHandler.install(this, JvmOomDump.configure(diagnostics, spool, facts.pid),
                options.reserveBytes);
    }

    /**
     * Loads and initialises what a capture needs (the UUID's secure random, the sidecar's writer
     * and its time formatting) while there is memory: at an OutOfMemoryError there is none.
     */
    void warmUp() {
        UUID.randomUUID();
        Sidecar.encode(facts, options, app, Occasion.oom("java.lang.OutOfMemoryError", "", "-"),
                "-", System.currentTimeMillis(), gauges.snapshot(), new Sidecar.Dump("-", 0, 0));
        Spool.baseName(app, System.currentTimeMillis(), facts.pid, Trigger.OOM);
    }

    private void writeSidecar(String name, byte[] json) throws IOException {
        Spool.writeAtomically(spool.file(name), json);
    }

    private boolean due(Trigger trigger, int reason, long now) {
        return notices.due(trigger.ordinal() * NOTICES + reason, now);
    }

    private static void refuse(Trigger trigger, String why) {
        Log.line("not dumping (" + trigger.wire + "): " + why);
    }
}
