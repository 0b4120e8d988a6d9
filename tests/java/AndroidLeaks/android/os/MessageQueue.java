package android.os;

/** Stand-in for the Android framework class of the same name (fields only, no behaviour). */
public class MessageQueue {
    public Message mMessages;
    public boolean mQuitting;
}
