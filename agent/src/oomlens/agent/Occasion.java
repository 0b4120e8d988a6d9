package oomlens.agent;

/**
 * Why a capture is taken: the trigger, the reason in words, and either the threshold that was
 * crossed or the OutOfMemoryError that was thrown. The sidecar's fields that say why.
 */
final class Occasion {
    final Trigger trigger;
    final String reason;
    // threshold triggers (metric null otherwise)
    final String metric;
    final long value;
    final long limit;
    final long max;
    final long checks;
    final String rule;
    final long previous;
    // the oom trigger (null otherwise)
    final String oomMessage;
    final String oomStackTrace;
    final String oomThread;

    private Occasion(Trigger trigger, String reason, String metric, long value, long limit,
                     long max, long checks, String rule, long previous, String oomMessage,
                     String oomStackTrace, String oomThread) {
        this.trigger = trigger;
        this.reason = reason;
        this.metric = metric;
        this.value = value;
        this.limit = limit;
        this.max = max;
        this.checks = checks;
        this.rule = rule;
        this.previous = previous;
        this.oomMessage = oomMessage;
        this.oomStackTrace = oomStackTrace;
        this.oomThread = oomThread;
    }

    /** {@code max} -1 when there is none; {@code rule} null but for the heap;
     *  {@code previous}: the value at the check before, for the step rule (else -1). */
    static Occasion threshold(Trigger trigger, String reason, String metric, long value,
                              long limit, long max, long checks, String rule, long previous) {
        return new Occasion(trigger, reason, metric, value, limit, max, checks, rule, previous,
                null, null, null);
    }

    static Occasion oom(String message, String stackTrace, String thread) {
        int newline = message.indexOf('\n');
        String reason = newline < 0 ? message : message.substring(0, newline);
        return new Occasion(Trigger.OOM, reason, null, -1, -1, -1, -1, null, -1, message,
                stackTrace, thread);
    }

    /** The same occasion with a shorter stack trace (to keep the sidecar within its limit). */
    Occasion withStackTrace(String stackTrace) {
        return new Occasion(trigger, reason, metric, value, limit, max, checks, rule, previous,
                oomMessage, stackTrace, oomThread);
    }
}
