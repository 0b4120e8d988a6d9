package androidx.fragment.app;

import androidx.lifecycle.LifecycleRegistry;

/** Stand-in for the AndroidX class of the same name (fields only, no behaviour). */
public class Fragment {
    public Object mFragmentManager;
    public boolean mCalled;
    public LifecycleRegistry mLifecycleRegistry;
}
