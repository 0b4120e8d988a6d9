package android.content;

/** Stand-in for the Android framework class of the same name (fields only, no behaviour). */
public abstract class Context {
}
