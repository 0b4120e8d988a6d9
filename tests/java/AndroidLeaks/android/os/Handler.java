package android.os;

/** Stand-in for the Android framework class of the same name (fields only, no behaviour). */
public class Handler {
    public Looper mLooper;
    public MessageQueue mQueue;
}
