package android.app;

import android.content.ContextWrapper;
import android.view.Window;

/** Stand-in for the Android framework class of the same name (fields only, no behaviour). */
public class Activity extends ContextWrapper {
    public boolean mDestroyed;
    public boolean mFinished;
    public Window mWindow;
    public Application mApplication;
}
