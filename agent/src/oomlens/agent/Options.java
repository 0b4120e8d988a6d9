package oomlens.agent;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;

/**
 * The agent's settings, from three places: the agent argument ({@code key=value,key=value}),
 * system properties ({@code -Doomlens.key=value}) and environment variables
 * ({@code OOMLENS_AGENT_KEY}, upper case, '-' as '_'), in that order of precedence, then the
 * defaults. A setting that does not parse, or a key the agent does not know, is one line on
 * stderr and is ignored as if it had not been given: a typo in a deployment must not stop the
 * app, nor the rest of the capture.
 */
final class Options {
    /** key, default as shown, forms, meaning: the one table the help and the parser share. */
    static final String[][] TABLE = {
        {"spool", "", "DIR", "folder the dumps go to; required: without it capture is off"},
        {"app", "main class or jar", "NAME", "the app's name, in file names and the sidecar"},
        {"version", "", "TEXT", "the app's version (the upload's app_version)"},
        {"build", "", "TEXT", "the app's build"},
        {"interval", "15s", "DURATION", "time between threshold checks: 500ms, 15s, 5m, 1h"},
        {"heap", "auto", "N%|auto|off",
            "heap used after GC, % of the max; auto: 80% for a max of 502 MB or more, 85% from "
                + "246 MB, else 90%"},
        {"heap-checks", "3", "N",
            "checks in a row over the heap threshold before a dump; a check 5 points below the "
                + "previous one starts the count again"},
        {"heap-step", "25%", "N%|SIZE|off",
            "dump at once when heap after GC rose by this (% of the max, or bytes) between two "
                + "checks and is over the threshold"},
        {"threads", "80%", "N|N%|off",
            "live threads: a count, or % of the thread limit (cgroup pids.max, RLIMIT_NPROC, "
                + "threads-max: the smallest); the % is off when no limit is known"},
        {"fds", "80%", "N|N%|off", "open file descriptors: a count, or % of their soft limit"},
        {"cooldown", "1h", "DURATION",
            "at most one dump per trigger in this time, across restarts"},
        {"daily-cap", "5", "N|off", "at most this many dumps a day (UTC) in all, across restarts"},
        {"oom", "on", "on|off", "dump at an uncaught OutOfMemoryError"},
        {"reserve", "2m", "SIZE",
            "memory held and freed first at an OutOfMemoryError, so that the handler can run"},
    };

    static final String PROPERTY_PREFIX = "oomlens.";
    static final String ENV_PREFIX = "OOMLENS_AGENT_";

    String spool;
    String app;
    String version;
    String build;
    long intervalMillis = 15_000;
    Level heap = Level.AUTO;
    int heapChecks = 3;
    Level heapStep = Level.percent(25);
    Level threads = Level.percent(80);
    Level fds = Level.percent(80);
    long cooldownMillis = 3_600_000;
    int dailyCap = 5; // -1: no cap
    boolean oom = true;
    long reserveBytes = 2L << 20;

    /** The settings from the three places; every problem found is logged (one line each). */
    static Options parse(String agentArgs, Properties properties, Map<String, String> env) {
        Options options = new Options();
        Map<String, List<String[]>> given = new LinkedHashMap<String, List<String[]>>();
        collectArgument(agentArgs, given);
        collectProperties(properties, given);
        collectEnvironment(env, given);
        for (Map.Entry<String, List<String[]>> entry : given.entrySet()) {
            for (String[] setting : entry.getValue()) { // [shown as, value], highest first
                try {
                    options.set(entry.getKey(), setting[1]);
                    break;
                } catch (IllegalArgumentException bad) {
                    Log.line("ignoring option '" + setting[0] + "': " + bad.getMessage());
                }
            }
        }
        return options;
    }

    static boolean isKey(String key) {
        for (String[] row : TABLE) {
            if (row[0].equals(key)) {
                return true;
            }
        }
        return false;
    }

    static String keys() {
        StringBuilder out = new StringBuilder();
        for (String[] row : TABLE) {
            out.append(out.length() == 0 ? "" : ", ").append(row[0]);
        }
        return out.toString();
    }

    private static void collectArgument(String agentArgs, Map<String, List<String[]>> given) {
        if (agentArgs == null) {
            return;
        }
        // later duplicates win within the argument: collected in reverse, first one tried first
        List<String[]> settings = new ArrayList<String[]>();
        for (String part : agentArgs.split(",")) {
            String item = part.trim();
            if (item.isEmpty()) {
                continue;
            }
            int eq = item.indexOf('=');
            if (eq <= 0) {
                Log.line("ignoring option '" + item + "': expected key=value");
                continue;
            }
            settings.add(0, new String[] {item.substring(0, eq).trim(), item,
                item.substring(eq + 1).trim()});
        }
        for (String[] s : settings) {
            add(given, s[0], s[1], s[2]);
        }
    }

    private static void collectProperties(Properties properties,
                                          Map<String, List<String[]>> given) {
        for (String name : properties.stringPropertyNames()) {
            if (name.startsWith(PROPERTY_PREFIX)) {
                String value = properties.getProperty(name);
                add(given, name.substring(PROPERTY_PREFIX.length()), "-D" + name + "=" + value,
                        value);
            }
        }
    }

    private static void collectEnvironment(Map<String, String> env,
                                           Map<String, List<String[]>> given) {
        for (Map.Entry<String, String> e : env.entrySet()) {
            if (e.getKey().startsWith(ENV_PREFIX)) {
                String key = e.getKey().substring(ENV_PREFIX.length())
                        .toLowerCase(Locale.ROOT).replace('_', '-');
                add(given, key, e.getKey() + "=" + e.getValue(), e.getValue());
            }
        }
    }

    private static void add(Map<String, List<String[]>> given, String key, String shown,
                            String value) {
        if (!isKey(key)) {
            Log.line("ignoring unknown option '" + shown + "' (known: " + keys() + ")");
            return;
        }
        List<String[]> settings = given.get(key);
        if (settings == null) {
            settings = new ArrayList<String[]>();
            given.put(key, settings);
        }
        settings.add(new String[] {shown, value});
    }

    private void set(String key, String value) {
        if (key.equals("spool")) {
            spool = text(value);
        } else if (key.equals("app")) {
            app = text(value);
        } else if (key.equals("version")) {
            version = text(value);
        } else if (key.equals("build")) {
            build = text(value);
        } else if (key.equals("interval")) {
            long millis = Values.duration(value);
            if (millis <= 0) {
                throw new IllegalArgumentException("expected a duration like 15s (more than 0)");
            }
            intervalMillis = millis;
        } else if (key.equals("heap")) {
            heap = Values.level(value, true, false, false);
        } else if (key.equals("heap-checks")) {
            heapChecks = Values.count(value, 1);
        } else if (key.equals("heap-step")) {
            heapStep = Values.level(value, false, false, true);
        } else if (key.equals("threads")) {
            threads = Values.level(value, false, true, false);
        } else if (key.equals("fds")) {
            fds = Values.level(value, false, true, false);
        } else if (key.equals("cooldown")) {
            cooldownMillis = Values.duration(value);
        } else if (key.equals("daily-cap")) {
            try {
                dailyCap = value.trim().equalsIgnoreCase("off") ? -1 : Values.count(value, 1);
            } catch (IllegalArgumentException bad) {
                throw new IllegalArgumentException("expected a number of dumps like 5, or off");
            }
        } else if (key.equals("oom")) {
            oom = Values.onOff(value);
        } else if (key.equals("reserve")) {
            reserveBytes = Values.size(value);
            if (reserveBytes > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException("expected a size like 2m (at most 2g)");
            }
        }
    }

    private static String text(String value) {
        if (value.trim().isEmpty()) {
            throw new IllegalArgumentException("expected a value");
        }
        return value.trim();
    }
}
