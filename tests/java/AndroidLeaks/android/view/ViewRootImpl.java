package android.view;

import android.content.Context;

/** Stand-in for the Android framework class of the same name (fields only, no behaviour). */
public class ViewRootImpl {
    public View mView;
    public Context mContext;
}
