package oomlens.agent;

import java.io.File;
import java.io.IOException;
import java.lang.management.ManagementFactory;

/**
 * What the sidecar says about the process, found once at start: these do not change while it
 * runs, and reading them in the OutOfMemoryError handler would cost memory there is none of.
 */
final class ProcessFacts {
    final long pid;
    final String host;
    final String process;
    final String defaultApp;
    final String jvmName = System.getProperty("java.vm.name");
    final String jvmVendor = System.getProperty("java.vm.vendor");
    final String jvmVersion = System.getProperty("java.vm.version");
    final String osName = System.getProperty("os.name");
    final String osVersion = System.getProperty("os.version");
    final String osArch = System.getProperty("os.arch");
    final String agent;

    private ProcessFacts(long pid, String host, String process, String agentVersion) {
        this.pid = pid;
        this.host = host;
        this.process = process;
        this.defaultApp = appName(process);
        this.agent = "oomlens-agent/" + agentVersion;
    }

    static ProcessFacts current() {
        String command = System.getProperty("sun.java.command", "").trim();
        int space = command.indexOf(' ');
        String first = command.isEmpty() ? null : space < 0 ? command : command.substring(0, space);
        Package p = ProcessFacts.class.getPackage();
        String version = p == null ? null : p.getImplementationVersion();
        return new ProcessFacts(pid(), host(), first, version == null ? "unknown" : version);
    }

    /** The jar's name without {@code .jar}, else the main class: what names the app when the
     *  options do not. */
    private static String appName(String process) {
        if (process == null) {
            return "java";
        }
        String name = new File(process).getName();
        return name.endsWith(".jar") && name.length() > 4 ? name.substring(0, name.length() - 4)
                : name;
    }

    /** From /proc/self (no JMX needed); else from the runtime bean's "pid@host". */
    private static long pid() {
        try {
            return Long.parseLong(new File("/proc/self").getCanonicalFile().getName());
        } catch (IOException | NumberFormatException notLinux) {
            String name = ManagementFactory.getRuntimeMXBean().getName();
            try {
                return Long.parseLong(name.substring(0, name.indexOf('@')));
            } catch (RuntimeException unknown) {
                return -1;
            }
        }
    }

    /** The kernel's host name, else $HOSTNAME, else a look-up (which may ask DNS: last). */
    private static String host() {
        String kernel = ProcFiles.read("/proc/sys/kernel/hostname");
        if (kernel != null && !kernel.trim().isEmpty()) {
            return kernel.trim();
        }
        String env = System.getenv("HOSTNAME");
        if (env != null && !env.trim().isEmpty()) {
            return env.trim();
        }
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (IOException | RuntimeException unknown) {
            return null;
        }
    }
}
