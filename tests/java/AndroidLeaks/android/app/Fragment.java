package android.app;

/** Stand-in for the Android framework class of the same name (fields only, no behaviour). */
public class Fragment {
    public Object mFragmentManager;
    public Object mHost;
}
