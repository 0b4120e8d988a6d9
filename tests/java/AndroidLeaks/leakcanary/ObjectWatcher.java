package leakcanary;

import java.util.Map;

/** Stand-in for LeakCanary 2.x's class of the same name (fields only). */
public final class ObjectWatcher {
    public Map<String, KeyedWeakReference> watchedObjects;
}
