package android.content;

/** Stand-in for the Android framework class of the same name (fields only, no behaviour). */
public class ContextWrapper extends Context {
    public Context mBase;
}
