package android.widget;

import android.view.View;

/**
 * Stand-in for the Android framework class of the same name (fields only, no behaviour), with
 * the static field that Samsung's builds add to it.
 */
public class TextView extends View {
    public static View mLastHoveredView;
}
