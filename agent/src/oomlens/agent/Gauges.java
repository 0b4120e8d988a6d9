package oomlens.agent;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.lang.management.OperatingSystemMXBean;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The numbers the thresholds watch: heap in use after the last collection, live threads, open
 * file descriptors and their limit. A check runs every few seconds for the life of a production
 * JVM, so reading them allocates nothing in the usual case: the collectors' counts are compared
 * first, and the (allocating) details of a collection are fetched only when one happened.
 *
 * <p>Heap after GC is the sum over the heap pools of the most recent collection's
 * {@code memoryUsageAfterGc} (com.sun.management's GcInfo, any collector); where a JVM has no
 * GcInfo, the pools' collection usage; before any collection, plain heap used.
 */
final class Gauges {
    /** One reading, filled in place (no allocation per check). -1: not known. */
    static final class Reading {
        long heapUsed = -1;
        long heapAfterGc = -1;
        long heapMax = -1;
        long threads = -1;
        long threadLimit = -1;
        long openFds = -1;
        long fdLimit = -1;
    }

    private final Runtime runtime = Runtime.getRuntime();
    private final ThreadMXBean threadBean = ManagementFactory.getThreadMXBean();
    private final GarbageCollectorMXBean[] collectors;
    private final LastCollection[] lastCollections; // null where the JVM has no GcInfo
    private final long[] counts;
    private final long[] endTimes;
    private final long[] afterGc;
    private final List<MemoryPoolMXBean> heapPools = new ArrayList<MemoryPoolMXBean>();
    private final Set<String> heapPoolNames = new HashSet<String>();
    private final Descriptors descriptors;
    final long threadLimit;

    Gauges(long threadLimit) {
        this.threadLimit = threadLimit;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP) {
                heapPools.add(pool);
                heapPoolNames.add(pool.getName());
            }
        }
        List<GarbageCollectorMXBean> beans = ManagementFactory.getGarbageCollectorMXBeans();
        collectors = beans.toArray(new GarbageCollectorMXBean[0]);
        lastCollections = new LastCollection[collectors.length];
        counts = new long[collectors.length];
        endTimes = new long[collectors.length];
        afterGc = new long[collectors.length];
        for (int i = 0; i < collectors.length; i++) {
            try {
                lastCollections[i] = LastCollection.of(collectors[i]);
            } catch (LinkageError noComSun) {
                lastCollections[i] = null; // a JVM without com.sun.management: no GcInfo
            }
            counts[i] = -1;
            endTimes[i] = -1;
        }
        Descriptors fds;
        try {
            fds = Descriptors.of(ManagementFactory.getOperatingSystemMXBean());
        } catch (LinkageError noComSun) {
            fds = null; // the descriptor threshold is then skipped
        }
        descriptors = fds;
    }

    /** A full reading, for a capture's sidecar. */
    Reading snapshot() {
        Reading r = new Reading();
        r.heapMax = heapMax();
        r.heapAfterGc = heapAfterGc();
        r.heapUsed = heapUsed();
        r.threads = threads();
        r.threadLimit = threadLimit;
        r.openFds = openFds();
        r.fdLimit = fdLimit();
        return r;
    }

    long threads() {
        return threadBean.getThreadCount();
    }

    /** Open file descriptors (-1: the JVM does not tell). Listing /proc/self/fd is most of
     *  what a check costs: read only when the descriptor threshold is on. */
    long openFds() {
        return descriptors == null ? -1 : descriptors.open();
    }

    /** Their soft limit (-1: not known). */
    long fdLimit() {
        return descriptors == null ? -1 : descriptors.limit();
    }

    long heapMax() {
        long max = runtime.maxMemory();
        return max == Long.MAX_VALUE ? -1 : max;
    }

    long heapUsed() {
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    synchronized long heapAfterGc() {
        long collections = 0;
        for (int i = 0; i < collectors.length; i++) {
            long count = collectors[i].getCollectionCount();
            collections += Math.max(count, 0);
            if (count != counts[i]) {
                counts[i] = count;
                if (lastCollections[i] != null) {
                    lastCollections[i].fetch(heapPoolNames, i, endTimes, afterGc);
                }
            }
        }
        int latest = -1;
        for (int i = 0; i < collectors.length; i++) {
            if (endTimes[i] >= 0 && (latest < 0 || endTimes[i] > endTimes[latest])) {
                latest = i;
            }
        }
        if (latest >= 0) {
            return afterGc[latest];
        }
        return collections > 0 ? poolCollectionUsage() : heapUsed();
    }

    private long poolCollectionUsage() {
        long sum = 0;
        boolean known = false;
        for (MemoryPoolMXBean pool : heapPools) {
            MemoryUsage usage = pool.getCollectionUsage();
            if (usage != null) {
                sum += usage.getUsed();
                known = true;
            }
        }
        return known ? sum : heapUsed();
    }

    /**
     * com.sun.management's view of one collector. In its own class so that a JVM without
     * com.sun.management only loses this (the class fails to load, caught where it is made).
     */
    private static final class LastCollection {
        private final com.sun.management.GarbageCollectorMXBean bean;

        private LastCollection(com.sun.management.GarbageCollectorMXBean bean) {
            this.bean = bean;
        }

        static LastCollection of(GarbageCollectorMXBean bean) {
            return bean instanceof com.sun.management.GarbageCollectorMXBean
                    ? new LastCollection((com.sun.management.GarbageCollectorMXBean) bean) : null;
        }

        void fetch(Set<String> heapPoolNames, int i, long[] endTimes, long[] afterGc) {
            com.sun.management.GcInfo info = bean.getLastGcInfo();
            if (info == null) {
                return;
            }
            long sum = 0;
            for (Map.Entry<String, MemoryUsage> pool : info.getMemoryUsageAfterGc().entrySet()) {
                if (heapPoolNames.contains(pool.getKey())) {
                    sum += pool.getValue().getUsed();
                }
            }
            endTimes[i] = info.getEndTime();
            afterGc[i] = sum;
        }
    }

    /** Open descriptors and their soft limit, where the JVM tells them (Unix HotSpot). */
    private static final class Descriptors {
        private final com.sun.management.UnixOperatingSystemMXBean bean;

        private Descriptors(com.sun.management.UnixOperatingSystemMXBean bean) {
            this.bean = bean;
        }

        static Descriptors of(OperatingSystemMXBean os) {
            return os instanceof com.sun.management.UnixOperatingSystemMXBean
                    ? new Descriptors((com.sun.management.UnixOperatingSystemMXBean) os) : null;
        }

        long open() {
            return bean.getOpenFileDescriptorCount();
        }

        long limit() {
            return bean.getMaxFileDescriptorCount();
        }
    }
}
