package oomlens.agent;

import com.sun.management.HotSpotDiagnosticMXBean;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * The JVM's own dump at an OutOfMemoryError ({@code -XX:+HeapDumpOnOutOfMemoryError}), and
 * whether it lands in the spool. That dump is taken where the error is thrown, before the stack
 * unwinds, so it is the better one: when it lands in the spool the agent writes only its sidecar.
 *
 * <p>Set at start: an empty {@code HeapDumpPath} (the JVM would write into its working folder) is
 * pointed at the spool, since the flag is manageable; a path elsewhere is reported, and the agent
 * then dumps itself as well. A {@code java_pid<pid>.hprof} in the spool before the app started
 * (the same pid in an earlier container) is never this process's: the JVM does not overwrite a
 * file, so the agent dumps itself then.
 */
final class JvmOomDump {
    private final Path expected; // where the JVM's OOM dump lands in the spool; null: not there
    private final boolean existedAtStart;

    private JvmOomDump(Path expected, boolean existedAtStart) {
        this.expected = expected;
        this.existedAtStart = existedAtStart;
    }

    /** The file name the JVM gives its OOM dump in a folder. */
    private static String fileName(long pid) {
        return "java_pid" + pid + ".hprof";
    }

    /** Reads (and may set) the JVM's flags; called before the app starts. */
    static JvmOomDump configure(HotSpotDiagnosticMXBean diagnostics, Spool spool, long pid) {
        String fileName = fileName(pid);
        boolean existedAtStart = Files.exists(spool.file(fileName));
        boolean dumps = flag(diagnostics, "HeapDumpOnOutOfMemoryError");
        JvmOomDump result = new JvmOomDump(null, false);
        if (dumps) {
            String path = diagnostics.getVMOption("HeapDumpPath").getValue();
            if (path == null || path.isEmpty()) {
                diagnostics.setVMOption("HeapDumpPath", spool.dir.toString());
                Log.line("-XX:+HeapDumpOnOutOfMemoryError without -XX:HeapDumpPath: set it to "
                        + "the spool " + spool.dir + ", where oomlens picks the JVM's dump up");
                result = new JvmOomDump(spool.file(fileName), existedAtStart);
            } else {
                Path target = Paths.get(path.replace("%p", Long.toString(pid)))
                        .toAbsolutePath().normalize();
                if (Files.isDirectory(target)) {
                    target = target.resolve(fileName);
                }
                if (sameFolder(target.getParent(), spool.dir)
                        && target.getFileName().toString().equals(fileName)) {
                    result = new JvmOomDump(spool.file(fileName), existedAtStart);
                } else {
                    Log.line("-XX:HeapDumpPath=" + path + " is outside the spool " + spool.dir
                            + ": the JVM's OOM dumps will not reach oomlens (the agent takes its "
                            + "own)");
                }
            }
        }
        for (String exits : new String[] {"ExitOnOutOfMemoryError", "CrashOnOutOfMemoryError"}) {
            if (flag(diagnostics, exits) && result.expected == null) {
                Log.line("-XX:+" + exits + ": the JVM stops at an OutOfMemoryError before the "
                        + "agent sees it; add -XX:+HeapDumpOnOutOfMemoryError to capture it");
            }
        }
        return result;
    }

    /** The JVM's dump of this process's OutOfMemoryError, if it wrote one into the spool. */
    Path landedDump() {
        return expected != null && !existedAtStart && Files.isRegularFile(expected) ? expected
                : null;
    }

    private static boolean flag(HotSpotDiagnosticMXBean diagnostics, String name) {
        try {
            return "true".equals(diagnostics.getVMOption(name).getValue());
        } catch (IllegalArgumentException unknownToThisJvm) {
            return false;
        }
    }

    private static boolean sameFolder(Path a, Path b) {
        try {
            return a != null && Files.isSameFile(a, b);
        } catch (java.io.IOException e) {
            return false;
        }
    }
}
