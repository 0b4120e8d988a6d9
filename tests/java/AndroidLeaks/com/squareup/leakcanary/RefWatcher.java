package com.squareup.leakcanary;

import java.lang.ref.ReferenceQueue;
import java.util.Set;

/** Stand-in for LeakCanary 1.x's class of the same name (fields only). */
public final class RefWatcher {
    public Set<String> retainedKeys;
    public ReferenceQueue<Object> queue;
}
