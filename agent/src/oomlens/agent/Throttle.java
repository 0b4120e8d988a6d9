package oomlens.agent;

/**
 * Says whether a notice is due: at most once per period for one slot (for example "the disk is
 * too small" for one trigger), so that a condition that lasts is reported once, not at every
 * check. Slots are numbers, not strings, so asking costs no allocation.
 */
final class Throttle {
    private final long periodMillis;
    private final long[] lastSaid;

    Throttle(int slots, long periodMillis) {
        this.periodMillis = periodMillis;
        this.lastSaid = new long[slots];
        java.util.Arrays.fill(lastSaid, Long.MIN_VALUE);
    }

    synchronized boolean due(int slot, long nowMillis) {
        long last = lastSaid[slot];
        if (last != Long.MIN_VALUE && nowMillis >= last && nowMillis - last < periodMillis) {
            return false;
        }
        lastSaid[slot] = nowMillis;
        return true;
    }
}
