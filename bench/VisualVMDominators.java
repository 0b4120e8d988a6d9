// Benchmark reference: the work `oomlens dominators DUMP --top 20` does, done by VisualVM's heap
// library (Debian package visualvm, jar
// /usr/share/visualvm/visualvm/modules/org-graalvm-visualvm-lib-jfluid-heap.jar, which is the whole
// classpath: it needs only java.base and java.logging).
//
// Opens DUMP, computes the retained size of every object (the library builds its dominator tree
// for that) and prints the TOP (default 20) biggest objects by retained size.
//
//   javac -cp JAR -d CLASSDIR VisualVMDominators.java
//   java -Xmx1g -cp JAR:CLASSDIR VisualVMDominators DUMP [TOP]
//
// The library writes a "<DUMP>.hwcache" directory beside the dump and reuses it on later runs, which
// would make every run after the first a warm one. This program refuses to start when that
// directory already exists (exit status 3), so a caller has to delete it (or open the dump through
// a symlink in a fresh directory) before every run: every measured run is then a cold one.
// The last stdout line is "phases_ms open=... retained=... total=..." for the caller to parse.

import java.io.File;
import java.util.List;

import org.graalvm.visualvm.lib.jfluid.heap.Heap;
import org.graalvm.visualvm.lib.jfluid.heap.HeapFactory;
import org.graalvm.visualvm.lib.jfluid.heap.Instance;

public class VisualVMDominators {

    public static void main(String[] args) throws Exception {
        if (args.length < 1 || args.length > 2) {
            System.err.println("usage: java -cp JAR:CLASSDIR VisualVMDominators DUMP [TOP]");
            System.exit(2);
        }
        File dump = new File(args[0]);
        int top = args.length > 1 ? Integer.parseInt(args[1]) : 20;
        File cache = new File(dump.getPath() + ".hwcache");
        if (cache.exists()) {
            System.err.println("VisualVMDominators: " + cache + " exists: delete it so that the run is cold");
            System.exit(3);
        }
        long t0 = System.nanoTime();
        Heap heap = HeapFactory.createHeap(dump);
        long t1 = System.nanoTime();
        // Computes the dominator tree and every retained size, then picks the biggest.
        List<Instance> biggest = heap.getBiggestObjectsByRetainedSize(top);
        long t2 = System.nanoTime();

        System.out.printf("%-20s %14s %12s  %s%n", "object id", "retained", "shallow", "class");
        for (Instance i : biggest) {
            System.out.printf("0x%-18x %,14d %,12d  %s%n", i.getInstanceId(), i.getRetainedSize(),
                    i.getSize(), i.getJavaClass().getName());
        }
        System.out.printf("live objects: %,d  live bytes: %,d%n",
                heap.getSummary().getTotalLiveInstances(), heap.getSummary().getTotalLiveBytes());
        System.out.printf("phases_ms open=%d retained=%d total=%d%n",
                (t1 - t0) / 1_000_000, (t2 - t1) / 1_000_000, (t2 - t0) / 1_000_000);
    }
}
