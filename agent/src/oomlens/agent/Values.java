package oomlens.agent;

import java.util.Locale;

/**
 * Parsers for option values. Each throws {@link IllegalArgumentException} whose message is what
 * was expected ("expected a duration like 15s"): that is the end of the one line that says an
 * option is ignored.
 */
final class Values {
    private Values() {
    }

    /** 500ms, 15s, 5m, 1h, 1d: milliseconds. */
    static long duration(String text) {
        String s = text.trim().toLowerCase(Locale.ROOT);
        String[] units = {"ms", "s", "m", "h", "d"};
        long[] millis = {1, 1000, 60_000, 3_600_000, 86_400_000};
        for (int i = 0; i < units.length; i++) {
            if (s.endsWith(units[i])) {
                String number = s.substring(0, s.length() - units[i].length());
                // "5ms" also ends with "s": only a plain number before the unit counts
                if (isDigits(number)) {
                    return checkedProduct(Long.parseLong(number), millis[i], "a duration like 15s");
                }
            }
        }
        throw new IllegalArgumentException("expected a duration like 15s");
    }

    /** 2097152, 512k, 2m, 1g (also with a trailing b: 2mb): bytes. */
    static long size(String text) {
        String s = text.trim().toLowerCase(Locale.ROOT);
        if (s.endsWith("b")) {
            s = s.substring(0, s.length() - 1);
        }
        long unit = 1;
        if (!s.isEmpty() && "kmgt".indexOf(s.charAt(s.length() - 1)) >= 0) {
            unit = 1L << (10 * ("kmgt".indexOf(s.charAt(s.length() - 1)) + 1));
            s = s.substring(0, s.length() - 1);
        }
        if (!isDigits(s)) {
            throw new IllegalArgumentException("expected a size like 2m");
        }
        return checkedProduct(Long.parseLong(s), unit, "a size like 2m");
    }

    static boolean onOff(String text) {
        String s = text.trim().toLowerCase(Locale.ROOT);
        if (s.equals("on")) {
            return true;
        }
        if (s.equals("off")) {
            return false;
        }
        throw new IllegalArgumentException("expected on or off");
    }

    /** A whole number of at least {@code least}. */
    static int count(String text, int least) {
        String s = text.trim();
        if (!isDigits(s) || s.length() > 9 || Integer.parseInt(s) < least) {
            throw new IllegalArgumentException("expected a whole number of at least " + least);
        }
        return Integer.parseInt(s);
    }

    /**
     * A threshold: {@code off}, {@code N%} (more than 0, at most 100), and as the option allows
     * {@code auto}, a count ({@code 400}) or a size ({@code 350m}).
     */
    static Level level(String text, boolean auto, boolean counts, boolean sizes) {
        String s = text.trim().toLowerCase(Locale.ROOT);
        if (s.equals("off")) {
            return Level.OFF;
        }
        if (auto && s.equals("auto")) {
            return Level.AUTO;
        }
        if (s.endsWith("%")) {
            String number = s.substring(0, s.length() - 1);
            if (isDecimal(number)) {
                double percent = Double.parseDouble(number);
                if (percent > 0 && percent <= 100) {
                    return Level.percent(percent);
                }
            }
        } else if (counts && isDigits(s) && s.length() <= 9 && Integer.parseInt(s) > 0) {
            return Level.amount(Integer.parseInt(s));
        } else if (sizes) {
            try {
                long bytes = size(s);
                if (bytes > 0) {
                    return Level.amount(bytes);
                }
            } catch (IllegalArgumentException notASize) {
                // said below, with the forms this option takes
            }
        }
        StringBuilder forms = new StringBuilder("expected a percentage like 80%");
        if (counts) {
            forms.append(", a count like 400");
        }
        if (sizes) {
            forms.append(", a size like 350m");
        }
        if (auto) {
            forms.append(", auto");
        }
        throw new IllegalArgumentException(forms.append(" or off").toString());
    }

    private static boolean isDigits(String s) {
        if (s.isEmpty() || s.length() > 18) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) < '0' || s.charAt(i) > '9') {
                return false;
            }
        }
        return true;
    }

    private static boolean isDecimal(String s) {
        int dot = s.indexOf('.');
        if (dot < 0) {
            return isDigits(s);
        }
        return isDigits(s.substring(0, dot)) && isDigits(s.substring(dot + 1));
    }

    private static long checkedProduct(long number, long unit, String what) {
        if (number > Long.MAX_VALUE / unit) {
            throw new IllegalArgumentException("expected " + what + " (this one is too large)");
        }
        return number * unit;
    }
}
