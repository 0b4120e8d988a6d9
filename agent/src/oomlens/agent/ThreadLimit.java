package oomlens.agent;

import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * How many threads this process may have before creating one fails ("unable to create native
 * thread"): the smallest finite one of the cgroup's {@code pids.max} (the container's limit,
 * from this process's cgroup up to the root), {@code RLIMIT_NPROC}'s soft value
 * ({@code /proc/self/limits}) and {@code /proc/sys/kernel/threads-max}. -1 when none is known
 * (not Linux, or all unlimited).
 */
final class ThreadLimit {
    private static final Path CGROUP_ROOT = Paths.get("/sys/fs/cgroup");

    private ThreadLimit() {
    }

    static long find() {
        long limit = -1;
        limit = smaller(limit, cgroupPidsMax());
        limit = smaller(limit, softProcessLimit());
        limit = smaller(limit, number(ProcFiles.read("/proc/sys/kernel/threads-max")));
        return limit;
    }

    private static long smaller(long a, long b) {
        return a < 0 ? b : b < 0 ? a : Math.min(a, b);
    }

    /** Lines of /proc/self/cgroup are {@code id:controllers:path}: cgroup v2 has one line with
     *  empty controllers, v1 one per hierarchy, the pids one naming "pids". */
    private static long cgroupPidsMax() {
        String cgroups = ProcFiles.read("/proc/self/cgroup");
        if (cgroups == null) {
            return -1;
        }
        long limit = -1;
        for (String line : cgroups.split("\n")) {
            String[] parts = line.split(":", 3);
            if (parts.length < 3) {
                continue;
            }
            Path mount = null;
            if (parts[1].isEmpty()) {
                mount = CGROUP_ROOT;
            } else {
                for (String controller : parts[1].split(",")) {
                    if (controller.equals("pids")) {
                        mount = CGROUP_ROOT.resolve("pids");
                    }
                }
            }
            if (mount != null) {
                limit = smaller(limit, pidsMaxUpFrom(mount, parts[2]));
            }
        }
        return limit;
    }

    /** Each cgroup from this one up to the mount's root limits the process: the smallest. In a
     *  container the path may name a cgroup outside the mounted tree: then only the root is
     *  read. */
    private static long pidsMaxUpFrom(Path mount, String cgroupPath) {
        long limit = -1;
        Path dir = mount.resolve("." + cgroupPath).normalize();
        if (!dir.startsWith(mount)) {
            dir = mount; // "/../..": a cgroup namespace's view from outside it
        }
        while (dir != null && dir.startsWith(mount)) {
            limit = smaller(limit, number(ProcFiles.read(dir.resolve("pids.max").toString())));
            dir = dir.getParent();
        }
        return limit;
    }

    /** The soft column of "Max processes" in /proc/self/limits. */
    private static long softProcessLimit() {
        String limits = ProcFiles.read("/proc/self/limits");
        if (limits == null) {
            return -1;
        }
        for (String line : limits.split("\n")) {
            if (line.startsWith("Max processes")) {
                String columns = line.substring("Max processes".length()).trim();
                int end = columns.indexOf(' ');
                return number(end < 0 ? columns : columns.substring(0, end));
            }
        }
        return -1;
    }

    private static long number(String text) {
        if (text == null) {
            return -1;
        }
        try {
            long n = Long.parseLong(text.trim());
            return n > 0 ? n : -1;
        } catch (NumberFormatException unlimited) { // "max", "unlimited"
            return -1;
        }
    }
}
