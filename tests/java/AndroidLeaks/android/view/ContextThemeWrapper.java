package android.view;

import android.content.ContextWrapper;

/** Stand-in for the Android framework class of the same name (fields only, no behaviour). */
public class ContextThemeWrapper extends ContextWrapper {
    public int mThemeResource;
}
