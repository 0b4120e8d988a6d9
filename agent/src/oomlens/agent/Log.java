package oomlens.agent;

/**
 * The agent's voice: one line per event on stderr, each starting with {@code oomlens-agent: } so
 * that operators can find the agent's lines in the app's log. Logging never throws: the agent
 * must not take the app down, not even when stderr is closed.
 */
final class Log {
    static final String PREFIX = "oomlens-agent: ";

    private Log() {
    }

    static void line(String message) {
        try {
            System.err.println(PREFIX + message);
        } catch (Throwable ignored) {
            // nowhere left to say it
        }
    }

    /** Something the agent caught instead of letting it reach the app, in one line. */
    static void failure(String doing, Throwable error) {
        try {
            line(doing + " failed: " + describe(error));
        } catch (Throwable ignored) {
            // no memory left even for the message (an OutOfMemoryError): say nothing
        }
    }

    /** The error's class and message, first line only (a message may hold a whole report). */
    static String describe(Throwable error) {
        String text = String.valueOf(error);
        int newline = text.indexOf('\n');
        return newline < 0 ? text : text.substring(0, newline);
    }
}
