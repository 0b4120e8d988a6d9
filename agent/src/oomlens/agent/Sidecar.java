package oomlens.agent;

import java.nio.charset.StandardCharsets;

/**
 * The sidecar, {@code oomlens.capture/1} (docs/capture.md, "The sidecar"): what the agent knew
 * when it took a dump. The early sidecar (in {@code BASE.lock}) is the same without the
 * {@code dump_*} fields. Readers accept at most 64 KiB, so a long stack trace is cut in the
 * middle until the whole fits: its start says where the error was thrown, its end holds the
 * cause (an OutOfMemoryError wrapped by a library is the last "Caused by").
 */
final class Sidecar {
    static final String SCHEMA = "oomlens.capture/1";
    static final int MAX_BYTES = 64 << 10;
    static final int MAX_MESSAGE_CHARS = 10_000;
    static final int MAX_TRACE_CHARS = 48 << 10;

    /** The dump's part of a sidecar; null for the early one. */
    static final class Dump {
        final String file;
        final long bytes;
        final long millis; // -1: not known (the JVM's own dump)

        Dump(String file, long bytes, long millis) {
            this.file = file;
            this.bytes = bytes;
            this.millis = millis;
        }
    }

    private Sidecar() {
    }

    static byte[] encode(ProcessFacts facts, Options options, String app, Occasion occasion,
                         String captureId, long capturedAt, Gauges.Reading reading, Dump dump) {
        String trace = occasion.oomStackTrace;
        int keep = MAX_TRACE_CHARS;
        while (true) {
            Occasion o = trace == null || trace.length() <= keep ? occasion
                    : occasion.withStackTrace(middleCut(trace, keep));
            byte[] json = json(facts, options, app, o, captureId, capturedAt, reading, dump)
                    .getBytes(StandardCharsets.UTF_8);
            if (json.length <= MAX_BYTES || trace == null || keep == 0) {
                return json;
            }
            keep = Math.min(keep, trace.length()) / 2;
        }
    }

    /** The first and last {@code keep / 2} characters, and how many were left out between. */
    static String middleCut(String text, int keep) {
        int head = keep / 2;
        int tail = keep - head;
        return text.substring(0, head) + "\n\t... " + (text.length() - keep)
                + " characters left out ...\n" + text.substring(text.length() - tail);
    }

    private static String json(ProcessFacts facts, Options options, String app, Occasion o,
                               String captureId, long capturedAt, Gauges.Reading r, Dump dump) {
        JsonWriter w = new JsonWriter()
                .string("schema", SCHEMA)
                .string("capture_id", captureId)
                .string("trigger", o.trigger.wire)
                .string("reason", o.reason);
        if (o.metric != null) {
            w.beginObject("threshold").string("metric", o.metric).number("value", o.value)
                    .number("limit", o.limit).number("max", o.max).number("checks", o.checks)
                    .string("rule", o.rule).number("previous", o.previous).endObject();
        }
        if (o.oomMessage != null) {
            w.string("oom_message", cut(o.oomMessage, MAX_MESSAGE_CHARS))
                    .string("oom_stack_trace", o.oomStackTrace)
                    .string("oom_thread", o.oomThread);
        }
        w.string("app", app).string("version", options.version).string("build", options.build)
                .string("host", facts.host).number("pid", facts.pid)
                .string("process", facts.process);
        w.beginObject("jvm").string("name", facts.jvmName).string("vendor", facts.jvmVendor)
                .string("version", facts.jvmVersion).endObject();
        w.beginObject("os").string("name", facts.osName).string("version", facts.osVersion)
                .string("arch", facts.osArch).endObject();
        w.number("heap_used_bytes", r.heapUsed).number("heap_after_gc_bytes", r.heapAfterGc)
                .number("heap_max_bytes", r.heapMax).number("threads", r.threads)
                .number("thread_limit", r.threadLimit).number("open_fds", r.openFds)
                .number("fd_limit", r.fdLimit)
                .string("captured_at", UtcTime.iso(capturedAt));
        if (dump != null) {
            w.string("dump_file", dump.file).number("dump_bytes", dump.bytes)
                    .number("dump_millis", dump.millis);
        }
        return w.string("agent", facts.agent).finish();
    }

    private static String cut(String s, int chars) {
        return s.length() <= chars ? s : s.substring(0, chars);
    }
}
