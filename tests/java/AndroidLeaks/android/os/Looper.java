package android.os;

/** Stand-in for the Android framework class of the same name (fields only, no behaviour). */
public class Looper {
    public static Looper sMainLooper;

    public MessageQueue mQueue;
}
