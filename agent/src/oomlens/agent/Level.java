package oomlens.agent;

/**
 * A threshold as the options give it: off, auto (the agent's own rule, for the heap), a
 * percentage of a maximum (80% of the thread limit) or an amount (a count of threads or
 * descriptors, or bytes). What it stands for is known only once the maximum is.
 */
final class Level {
    static final Level OFF = new Level(Kind.OFF, 0, 0);
    static final Level AUTO = new Level(Kind.AUTO, 0, 0);

    enum Kind { OFF, AUTO, PERCENT, AMOUNT }

    final Kind kind;
    final double percent;
    final long amount;

    private Level(Kind kind, double percent, long amount) {
        this.kind = kind;
        this.percent = percent;
        this.amount = amount;
    }

    static Level percent(double percent) {
        return new Level(Kind.PERCENT, percent, 0);
    }

    static Level amount(long amount) {
        return new Level(Kind.AMOUNT, 0, amount);
    }

    /**
     * The amount this level stands for against {@code max} (0 or less: no maximum is known), or
     * -1 when it is off or is a percentage of a maximum that is not known. AUTO is resolved by
     * its owner (the heap rule) and gives -1 here.
     */
    long of(long max) {
        switch (kind) {
            case AMOUNT:
                return amount;
            case PERCENT:
                return max > 0 ? (long) Math.ceil(max * percent / 100.0) : -1;
            default:
                return -1;
        }
    }

    @Override
    public String toString() {
        switch (kind) {
            case PERCENT:
                return (percent == Math.rint(percent) ? Long.toString((long) percent)
                        : Double.toString(percent)) + "%";
            case AMOUNT:
                return Long.toString(amount);
            default:
                return kind.name().toLowerCase(java.util.Locale.ROOT);
        }
    }
}
