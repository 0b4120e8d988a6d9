package leakcanary;

/** Stand-in for LeakCanary 2.x's AppWatcher, which holds the ObjectWatcher. */
public final class AppWatcher {
    public static ObjectWatcher objectWatcher;
}
