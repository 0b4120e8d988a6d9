package oomlens.agent;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Map;

/**
 * When each trigger last dumped and how many dumps the day (UTC) has had, kept in the spool as
 * {@code .oomlens-agent-<app>.state} so that the cooldown and the daily cap outlive the process:
 * an app that runs out of memory at every start must not leave a dump per start.
 *
 * <p>The file is a few {@code key=value} lines, rewritten whole through a temporary file and an
 * atomic rename, so a reader never sees half of it; one it cannot read counts as empty.
 */
final class CaptureState {
    private final Path file;
    private final Map<Trigger, Long> lastDump = new EnumMap<Trigger, Long>(Trigger.class);
    private long day = -1;
    private int dumpsThatDay;

    private CaptureState(Path file) {
        this.file = file;
    }

    static CaptureState load(Spool spool, String app) {
        CaptureState state = new CaptureState(spool.file(".oomlens-agent-" + Spool.safeName(app)
                + ".state"));
        try {
            for (String line : new String(Files.readAllBytes(state.file), StandardCharsets.UTF_8)
                    .split("\n")) {
                state.read(line.trim());
            }
        } catch (NoSuchFileException first) {
            // the app's first capture in this spool
        } catch (IOException | RuntimeException e) {
            Log.line("cannot read " + state.file + " (" + Log.describe(e)
                    + "); the cooldown starts afresh");
        }
        return state;
    }

    private void read(String line) {
        int eq = line.indexOf('=');
        if (line.startsWith("#") || eq < 0) {
            return;
        }
        String key = line.substring(0, eq);
        long value;
        try {
            value = Long.parseLong(line.substring(eq + 1));
        } catch (NumberFormatException e) {
            return;
        }
        if (key.equals("day")) {
            day = value;
        } else if (key.equals("dumps")) {
            dumpsThatDay = (int) Math.min(value, Integer.MAX_VALUE);
        } else {
            for (Trigger t : Trigger.values()) {
                if (key.equals("last." + t.wire)) {
                    lastDump.put(t, value);
                }
            }
        }
    }

    /** Milliseconds since the trigger last dumped, or -1 when it never did (or the clock went
     *  back past it). */
    synchronized long sinceLastDump(Trigger trigger, long nowMillis) {
        Long last = lastDump.get(trigger);
        return last == null || last > nowMillis ? -1 : nowMillis - last;
    }

    synchronized int dumpsOn(long nowMillis) {
        return UtcTime.day(nowMillis) == day ? dumpsThatDay : 0;
    }

    /**
     * Counts a dump that is starting (written before the dump, so a process killed while it
     * dumps still counts it). An OutOfMemoryError's dump starts the heap threshold's cooldown
     * too: it shows the heap as full as it gets, and a threshold dump right after it (the
     * monitor seeing the same full heap) would only repeat it.
     */
    synchronized void recordDump(Trigger trigger, long nowMillis) {
        int before = dumpsOn(nowMillis);
        day = UtcTime.day(nowMillis);
        dumpsThatDay = before + 1;
        lastDump.put(trigger, nowMillis);
        if (trigger == Trigger.OOM) {
            lastDump.put(Trigger.HEAP, nowMillis);
        }
        save();
    }

    private void save() {
        StringBuilder text = new StringBuilder("# oomlens-agent: last dump per trigger (epoch ms) "
                + "and dumps on the day (days since 1970, UTC)\n");
        text.append("day=").append(day).append('\n').append("dumps=").append(dumpsThatDay)
                .append('\n');
        for (Map.Entry<Trigger, Long> e : lastDump.entrySet()) {
            text.append("last.").append(e.getKey().wire).append('=').append(e.getValue())
                    .append('\n');
        }
        try {
            Spool.writeAtomically(file, text.toString().getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            Log.line("cannot write " + file + " (" + Spool.reason(e)
                    + "); the cooldown will not outlive this process");
        }
    }
}
