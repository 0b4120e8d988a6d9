package android.os;

/** Stand-in for the Android framework class of the same name (fields only, no behaviour). */
public class Message {
    public Object obj;
    public Handler target;
    public Runnable callback;
    public Message next;
}
