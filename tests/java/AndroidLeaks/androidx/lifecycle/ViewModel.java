package androidx.lifecycle;

/** Stand-in for the AndroidX class of the same name (fields only, no behaviour). */
public abstract class ViewModel {
    public boolean mCleared;
}
