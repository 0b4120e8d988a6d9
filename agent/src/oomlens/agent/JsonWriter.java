package oomlens.agent;

/**
 * Writes one JSON object (with nested objects one level deep: the sidecar needs no more).
 * Members whose value is unknown (a null string, a negative number) are left out, which readers
 * of the sidecar treat as "not known". Strings are escaped as JSON requires; an unpaired UTF-16
 * surrogate (possible in names from a heap dump) becomes U+FFFD, so that the text is valid UTF-8.
 */
final class JsonWriter {
    private static final char[] HEX = "0123456789abcdef".toCharArray();
    private final StringBuilder out = new StringBuilder(2048).append('{');
    private boolean empty = true;

    JsonWriter string(String key, String value) {
        if (value != null) {
            key(key);
            quote(value);
        }
        return this;
    }

    /** A non-negative integer; a negative one means unknown and is left out. */
    JsonWriter number(String key, long value) {
        if (value >= 0) {
            key(key);
            out.append(value);
        }
        return this;
    }

    JsonWriter beginObject(String key) {
        key(key);
        out.append('{');
        empty = true;
        return this;
    }

    JsonWriter endObject() {
        out.append('}');
        empty = false;
        return this;
    }

    String finish() {
        return out.append('}').toString();
    }

    private void key(String key) {
        if (!empty) {
            out.append(',');
        }
        empty = false;
        quote(key);
        out.append(':');
    }

    private void quote(String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') {
                out.append('\\').append(c);
            } else if (c == '\n') {
                out.append("\\n");
            } else if (c == '\t') {
                out.append("\\t");
            } else if (c == '\r') {
                out.append("\\r");
            } else if (c < 0x20) {
                out.append("\\u00").append(HEX[c >> 4]).append(HEX[c & 15]);
            } else if (Character.isHighSurrogate(c) && i + 1 < s.length()
                    && Character.isLowSurrogate(s.charAt(i + 1))) {
                out.append(c).append(s.charAt(++i));
            } else if (Character.isSurrogate(c)) {
                out.append('\ufffd');
            } else {
                out.append(c);
            }
        }
        out.append('"');
    }
}
