package oomlens.agent;

import java.time.LocalDateTime;
import java.time.ZoneOffset;

/**
 * The two ways captures write a time, UTC with milliseconds: the file name's stamp
 * ({@code 20261203T113424512Z}) and the sidecar's ISO 8601 ({@code 2026-12-03T11:34:24.512Z}).
 * Built from the calendar fields by hand because {@code Instant.toString} drops zero
 * milliseconds, and the protocol wants exactly three digits.
 */
final class UtcTime {
    private UtcTime() {
    }

    static String stamp(long epochMillis) {
        return format(epochMillis, "", "T", "");
    }

    static String iso(long epochMillis) {
        return format(epochMillis, "-", "T", ":");
    }

    /** Days since 1970-01-01 (UTC): the daily cap's day. */
    static long day(long epochMillis) {
        return Math.floorDiv(epochMillis, 86_400_000L);
    }

    private static String format(long epochMillis, String dateSep, String middle, String timeSep) {
        LocalDateTime t = LocalDateTime.ofEpochSecond(Math.floorDiv(epochMillis, 1000L),
                0, ZoneOffset.UTC);
        long millis = Math.floorMod(epochMillis, 1000L);
        StringBuilder out = new StringBuilder(24);
        pad(out, t.getYear(), 4).append(dateSep);
        pad(out, t.getMonthValue(), 2).append(dateSep);
        pad(out, t.getDayOfMonth(), 2).append(middle);
        pad(out, t.getHour(), 2).append(timeSep);
        pad(out, t.getMinute(), 2).append(timeSep);
        pad(out, t.getSecond(), 2).append(timeSep.isEmpty() ? "" : ".");
        return pad(out, millis, 3).append('Z').toString();
    }

    private static StringBuilder pad(StringBuilder out, long value, int digits) {
        String text = Long.toString(value);
        for (int i = text.length(); i < digits; i++) {
            out.append('0');
        }
        return out.append(text);
    }
}
