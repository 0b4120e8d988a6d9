package androidx.lifecycle;

/** Stand-in for the AndroidX class of the same name (fields only, no behaviour). */
public abstract class Lifecycle {
    public enum State { DESTROYED, INITIALIZED, CREATED, STARTED, RESUMED }
}
