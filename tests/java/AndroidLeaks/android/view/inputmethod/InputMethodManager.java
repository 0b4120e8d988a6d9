package android.view.inputmethod;

import android.view.View;

/** Stand-in for the Android framework class of the same name (fields only, no behaviour). */
public class InputMethodManager {
    public static InputMethodManager sInstance;

    public View mNextServedView;
    public View mServedView;
}
