package oomlens.agent;

/** Sizes and times as the agent's log lines and reasons show them: "440 MB", "1.2 GB", "1.9 s". */
final class Human {
    private static final long KB = 1024, MB = KB * 1024, GB = MB * 1024;

    private Human() {
    }

    static String bytes(long n) {
        if (n >= GB) {
            return tenths(n * 10 / GB) + " GB";
        }
        if (n >= MB) {
            return Math.round(n / (double) MB) + " MB";
        }
        if (n >= KB) {
            return Math.round(n / (double) KB) + " KB";
        }
        return n + " B";
    }

    static String seconds(long millis) {
        return millis < 1000 ? millis + " ms" : tenths(millis / 100) + " s";
    }

    /** 19 as "1.9": one decimal without java.util.Formatter, whose loading alone costs the
     *  agent's start ~10 ms. */
    private static String tenths(long tenths) {
        return tenths / 10 + "." + tenths % 10;
    }

    /** A duration the way the options take one: 1h, 5m, 15s, 200ms. */
    static String duration(long millis) {
        long[] units = {86_400_000L, 3_600_000L, 60_000L, 1000L};
        String[] names = {"d", "h", "m", "s"};
        for (int i = 0; i < units.length; i++) {
            if (millis >= units[i] && millis % units[i] == 0) {
                return millis / units[i] + names[i];
            }
        }
        return millis + "ms";
    }

    /** How long ago, roughly: "40 s", "12 min", "3 h". */
    static String ago(long millis) {
        long seconds = millis / 1000;
        if (seconds < 120) {
            return seconds + " s";
        }
        return seconds < 7200 ? seconds / 60 + " min" : seconds / 3600 + " h";
    }

    static long percentOf(long value, long max) {
        return max <= 0 ? 0 : Math.round(value * 100.0 / max);
    }
}
