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
    /** Every number at once, for a capture's sidecar. -1: not known. */
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
    // the same beans as com.sun.management's, which tell their last collection's GcInfo (null
    // where a bean is not one)
    private final com.sun.management.GarbageCollectorMXBean[] withGcInfo;
    private final long[] counts;
    private final long[] endTimes;
    private final long[] afterGc;
    private final List<MemoryPoolMXBean> heapPools = new ArrayList<MemoryPoolMXBean>();
    private final Set<String> heapPoolNames = new HashSet<String>();
    private final com.sun.management.UnixOperatingSystemMXBean descriptors; // null: not Unix
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
        withGcInfo = new com.sun.management.GarbageCollectorMXBean[collectors.length];
        counts = new long[collectors.length];
        endTimes = new long[collectors.length];
        afterGc = new long[collectors.length];
        for (int i = 0; i < collectors.length; i++) {
            if (collectors[i] instanceof com.sun.management.GarbageCollectorMXBean) {
                withGcInfo[i] = (com.sun.management.GarbageCollectorMXBean) collectors[i];
            }
            counts[i] = -1;
            endTimes[i] = -1;
        }
        OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        descriptors = os instanceof com.sun.management.UnixOperatingSystemMXBean
                ? (com.sun.management.UnixOperatingSystemMXBean) os : null;
    }

    /** A full reading, for a capture's sidecar. */
    /**
     * Every gauge, each one that fails left unknown (-1): at an OutOfMemoryError even a gauge
     * can fail (a class of the management beans that could not be initialised for want of
     * memory), and the dump matters more than any of its numbers.
     */
    Reading snapshot() {
        Reading r = new Reading();
        r.threadLimit = threadLimit;
        try {
            r.heapMax = heapMax();
            r.heapUsed = heapUsed();
            r.threads = threads();
            r.openFds = openFds();
            r.fdLimit = fdLimit();
        } catch (Throwable unknown) {
            // the rest stays unknown
        }
        try {
            r.heapAfterGc = heapAfterGc(); // GcInfo: the most likely to fail
        } catch (Throwable unknown) {
            r.heapAfterGc = -1;
        }
        return r;
    }

    long threads() {
        return threadBean.getThreadCount();
    }

    /** Open file descriptors (-1: the JVM does not tell). Listing /proc/self/fd is most of
     *  what a check costs: read only when the descriptor threshold is on. */
    long openFds() {
        return descriptors == null ? -1 : descriptors.getOpenFileDescriptorCount();
    }

    /** Their soft limit (-1: not known). */
    long fdLimit() {
        return descriptors == null ? -1 : descriptors.getMaxFileDescriptorCount();
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
                if (withGcInfo[i] != null) {
                    fetchLastCollection(i);
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

    /** The end time and heap after GC of collector {@code i}'s last collection. */
    private void fetchLastCollection(int i) {
        com.sun.management.GcInfo info = withGcInfo[i].getLastGcInfo();
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
}
