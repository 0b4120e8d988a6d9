package android.view;

import android.content.Context;

/** Stand-in for the Android framework class of the same name (fields only, no behaviour). */
public class View {
    public Context mContext;
    public Object mParent;
    public Object mAttachInfo;
    public int mWindowAttachCount;
}
