package com.squareup.leakcanary;

import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;

/** Stand-in for LeakCanary 1.x's class of the same name. */
public final class KeyedWeakReference extends WeakReference<Object> {
    public final String key;
    public final String name;

    public KeyedWeakReference(Object referent, String key, String name,
                              ReferenceQueue<Object> queue) {
        super(referent, queue);
        this.key = key;
        this.name = name;
    }
}
