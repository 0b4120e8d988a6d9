package oomlens.agent;

/**
 * When heap use after GC calls for a dump. Two rules, as KOOM judges an Android heap:
 *
 * <ul>
 * <li><b>sustained</b>: over the threshold for {@code checks} checks in a row; a check that
 * falls more than 5 points below the previous one starts the count again (the app let go of
 * memory: a peak, not a leak);
 * <li><b>step</b>: over the threshold and risen by at least {@code step} bytes since the previous
 * check: memory rising that fast will not wait for three more checks.
 * </ul>
 *
 * Heap after GC is what the app holds, not what it allocates: a busy app's garbage does not count.
 */
final class HeapRule {
    static final int NONE = 0, SUSTAINED = 1, STEP = 2;
    private static final double FALL_BACK_POINTS = 5;

    final double thresholdPercent;
    final long stepBytes; // -1: no step rule
    final int checks;
    private int overCount;
    private double lastPercent = -1;
    private long lastBytes = -1;
    private long rise;

    HeapRule(double thresholdPercent, long stepBytes, int checks) {
        this.thresholdPercent = thresholdPercent;
        this.stepBytes = stepBytes;
        this.checks = checks;
    }

    /** The threshold "auto" stands for, by the heap's maximum (KOOM's tiers, in MB). */
    static double autoPercent(long maxBytes) {
        long mb = maxBytes >> 20;
        return mb >= 502 ? 80 : mb >= 246 ? 85 : 90;
    }

    /** Judges one check; NONE, SUSTAINED or STEP. */
    int observe(long afterGcBytes, long maxBytes) {
        double percent = afterGcBytes * 100.0 / maxBytes;
        boolean over = percent >= thresholdPercent;
        if (over && percent >= lastPercent - FALL_BACK_POINTS) {
            overCount++;
        } else {
            overCount = 0;
        }
        rise = lastBytes >= 0 ? afterGcBytes - lastBytes : 0;
        boolean step = over && stepBytes > 0 && lastBytes >= 0 && rise >= stepBytes;
        lastPercent = percent;
        lastBytes = afterGcBytes;
        return step ? STEP : overCount >= checks ? SUSTAINED : NONE;
    }

    /** Checks in a row over the threshold so far. */
    int overCount() {
        return overCount;
    }

    /** Bytes heap after GC rose by since the previous check (negative: fell). */
    long rise() {
        return rise;
    }

    /** After a dump: the next one needs a new run of checks. */
    void dumped() {
        overCount = 0;
    }
}
