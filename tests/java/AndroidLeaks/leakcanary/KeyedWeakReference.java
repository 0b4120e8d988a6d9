package leakcanary;

import java.lang.ref.WeakReference;

/** Stand-in for LeakCanary 2.x's class of the same name. */
public final class KeyedWeakReference extends WeakReference<Object> {
    public final String key;
    public final String description;
    public final long watchUptimeMillis;
    public volatile long retainedUptimeMillis;

    public KeyedWeakReference(Object referent, String key, String description,
                              long watchUptimeMillis, long retainedUptimeMillis) {
        super(referent);
        this.key = key;
        this.description = description;
        this.watchUptimeMillis = watchUptimeMillis;
        this.retainedUptimeMillis = retainedUptimeMillis;
    }
}
