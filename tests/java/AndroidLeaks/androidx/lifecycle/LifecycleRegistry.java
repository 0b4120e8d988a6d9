package androidx.lifecycle;

/** Stand-in for the AndroidX class of the same name (fields only, no behaviour). */
public class LifecycleRegistry extends Lifecycle {
    public Lifecycle.State mState;
}
