// Object graphs whose dominators and retained sizes are worked out by hand in
// tests/kernels/test_known_graphs.py. Run as `java GraphFixtures <dump-path>`: builds the graphs, then
// writes a heap dump (live=false, so garbage and weakly reachable objects stay in it).
//
// Every structure uses classes of its own so a test can find it by class name. Sizes below are
// for 64-bit HotSpot with compressed oops: 12-byte header, 4-byte references, 8-byte alignment.

import com.sun.management.HotSpotDiagnosticMXBean;
import java.lang.management.ManagementFactory;
import java.lang.ref.SoftReference;
import java.lang.ref.WeakReference;
import java.net.URL;
import java.net.URLClassLoader;

public class GraphFixtures {
    public static void main(String[] args) throws Exception {
        // Start the management machinery first: it allocates a lot, and nothing built below
        // should be near a collection.
        HotSpotDiagnosticMXBean bean =
            ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);

        FixtureRoots.build();
        FixtureRoots.plugin = loadPlugin();

        // (g) held only by this local variable of main (a java-frame GC root).
        FrameHeld local = new FrameHeld(new FrameChild(7));

        // (f) garbage, made just before the dump.
        makeGarbage();

        bean.dumpHeap(args[0], false);

        // Use everything after the dump so that none of it can be considered dead before it.
        System.out.println("fixtures " + (local.child.value + System.identityHashCode(local)
                                          + FixtureRoots.checksum()));
    }

    /** (h) Loads LeakedPlugin through a class loader of its own and returns one instance; the
     *  loader and the class are forgotten when this frame returns. GraphFixtures never names
     *  LeakedPlugin in code, so the application class loader never loads it. */
    static Object loadPlugin() throws Exception {
        URL classes = GraphFixtures.class.getProtectionDomain().getCodeSource().getLocation();
        URLClassLoader loader = new URLClassLoader(new URL[] {classes}, null);
        Class<?> cls = Class.forName("LeakedPlugin", true, loader);
        if (cls.getClassLoader() != loader) {
            throw new IllegalStateException("LeakedPlugin was not defined by its own loader");
        }
        // LeakedPlugin is package-private in another runtime package (same name, other loader);
        // an unnamed module opens everything, so the constructor can be made accessible.
        java.lang.reflect.Constructor<?> constructor = cls.getDeclaredConstructor();
        constructor.setAccessible(true);
        return constructor.newInstance();
    }

    /** (f) Ten linked Garbage objects nobody references once this method returns. */
    static void makeGarbage() {
        Garbage head = null;
        for (int i = 0; i < 10; i++) {
            head = new Garbage(head, i);
        }
    }
}

/** Holds the fixtures in static fields. */
class FixtureRoots {
    static ChainNode chain;                       // (a)
    static DiamondTop diamond;                    // (b)
    static CycleP cycle;                          // (c)
    static Object[] array;                        // (d)
    static WeakReference<WeakOnly> weakOnly;      // (e)
    static SoftReference<SoftOnly> softOnly;      // (e)
    static WeakReference<WeakAndStrong> weakToStrong;  // (e)
    static StrongLink strongChain;                // (e)
    static Object plugin;                         // (h)
    static String hello;                          // (i)
    static String sigma;                          // (i)
    static String empty;                          // (i)
    static String built;                          // (i)
    static Item[] items;                          // (j)

    static void build() {
        // (a) A -> B -> C
        ChainNode c = new ChainNode(null, 3);
        ChainNode b = new ChainNode(c, 2);
        chain = new ChainNode(b, 1);

        // (b) D.left -> L, D.right -> R, L.shared -> S, R.shared -> S
        DiamondShared s = new DiamondShared(42);
        diamond = new DiamondTop(new DiamondLeft(s), new DiamondRight(s));

        // (c) P <-> Q
        CycleP p = new CycleP();
        CycleQ q = new CycleQ();
        p.q = q;
        q.p = p;
        cycle = p;

        // (d) two distinct elements and a null
        array = new Object[] {new ArrayElemFirst(1), new ArrayElemSecond(2L), null};

        // (e) referents held only weakly / only softly; and one held both weakly (one hop) and
        // by a strong chain of four links
        weakOnly = new WeakReference<>(new WeakOnly(5));
        softOnly = new SoftReference<>(new SoftOnly(6));
        WeakAndStrong shared = new WeakAndStrong(7);
        weakToStrong = new WeakReference<>(shared);
        StrongLink third = new StrongLink(null, shared);
        StrongLink second = new StrongLink(third, null);
        strongChain = new StrongLink(second, null);

        // (i) strings; \u01A9 is LATIN CAPITAL LETTER ESH (not Latin-1: a UTF-16 string)
        hello = "hello, world";
        sigma = "Sigma (\u01A9) is not ASCII";
        empty = "";
        built = new StringBuilder("built-").append(6 * 7).toString();

        // (j) 100 Items, each with its own int[10], held by one Item[]
        items = new Item[100];
        for (int i = 0; i < items.length; i++) {
            items[i] = new Item(new int[10]);
        }
    }

    static int checksum() {
        return System.identityHashCode(chain) + System.identityHashCode(diamond)
            + System.identityHashCode(cycle) + System.identityHashCode(array)
            + System.identityHashCode(weakOnly) + System.identityHashCode(softOnly)
            + System.identityHashCode(weakToStrong) + System.identityHashCode(strongChain)
            + System.identityHashCode(plugin) + hello.length() + sigma.length()
            + empty.length() + built.length() + items.length;
    }
}

/** 12 + 4 (next) + 4 (value) = 20 -> 24 bytes. */
class ChainNode {
    ChainNode next;
    int value;

    ChainNode(ChainNode next, int value) {
        this.next = next;
        this.value = value;
    }
}

/** 12 + 4 + 4 = 20 -> 24 bytes. */
class DiamondTop {
    DiamondLeft left;
    DiamondRight right;

    DiamondTop(DiamondLeft left, DiamondRight right) {
        this.left = left;
        this.right = right;
    }
}

/** 12 + 4 = 16 bytes. */
class DiamondLeft {
    DiamondShared shared;

    DiamondLeft(DiamondShared shared) {
        this.shared = shared;
    }
}

/** 12 + 4 = 16 bytes. */
class DiamondRight {
    DiamondShared shared;

    DiamondRight(DiamondShared shared) {
        this.shared = shared;
    }
}

/** 12 + 4 = 16 bytes. */
class DiamondShared {
    int value;

    DiamondShared(int value) {
        this.value = value;
    }
}

/** 12 + 4 = 16 bytes. */
class CycleP {
    CycleQ q;
}

/** 12 + 4 = 16 bytes. */
class CycleQ {
    CycleP p;
}

/** 12 + 4 = 16 bytes. */
class ArrayElemFirst {
    int value;

    ArrayElemFirst(int value) {
        this.value = value;
    }
}

/** 12 + 8 = 20 -> 24 bytes. */
class ArrayElemSecond {
    long value;

    ArrayElemSecond(long value) {
        this.value = value;
    }
}

/** 12 + 4 = 16 bytes. */
class WeakOnly {
    int value;

    WeakOnly(int value) {
        this.value = value;
    }
}

/** 12 + 4 = 16 bytes. */
class SoftOnly {
    int value;

    SoftOnly(int value) {
        this.value = value;
    }
}

/** 12 + 4 = 16 bytes. */
class WeakAndStrong {
    int value;

    WeakAndStrong(int value) {
        this.value = value;
    }
}

/** 12 + 4 + 4 = 20 -> 24 bytes. */
class StrongLink {
    StrongLink next;
    WeakAndStrong target;

    StrongLink(StrongLink next, WeakAndStrong target) {
        this.next = next;
        this.target = target;
    }
}

/** 12 + 4 (next) + 4 (value) = 20 -> 24 bytes. */
class Garbage {
    Garbage next;
    int value;

    Garbage(Garbage next, int value) {
        this.next = next;
        this.value = value;
    }
}

/** 12 + 4 = 16 bytes. */
class FrameHeld {
    FrameChild child;

    FrameHeld(FrameChild child) {
        this.child = child;
    }
}

/** 12 + 4 = 16 bytes. */
class FrameChild {
    int value;

    FrameChild(int value) {
        this.value = value;
    }
}

/** 12 + 8 (payload) = 20 -> 24 bytes; its class holds a static int[256] (16 + 1024 = 1040). */
class LeakedPlugin {
    static int[] cache = new int[256];
    long payload = 1;
}

/** 12 + 4 = 16 bytes; each holds an int[10] of 16 + 40 = 56 bytes. */
class Item {
    int[] data;

    Item(int[] data) {
        this.data = data;
    }
}
