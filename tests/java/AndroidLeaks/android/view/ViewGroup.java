package android.view;

/** Stand-in for the Android framework class of the same name (fields only, no behaviour). */
public class ViewGroup extends View {
    public View[] mChildren;
    public int mChildrenCount;
}
