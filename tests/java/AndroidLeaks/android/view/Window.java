package android.view;

import android.content.Context;

/** Stand-in for the Android framework class of the same name (fields only, no behaviour). */
public class Window {
    public boolean mDestroyed;
    public Context mContext;
}
