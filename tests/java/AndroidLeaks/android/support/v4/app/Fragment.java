package android.support.v4.app;

/** Stand-in for the support-library class of the same name (fields only, no behaviour). */
public class Fragment {
    public Object mFragmentManager;
}
