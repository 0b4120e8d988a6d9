package android.app;

import android.util.ArrayMap;

/** Stand-in for the Android framework class of the same name (fields only, no behaviour). */
public class ActivityThread {
    public static ActivityThread sCurrentActivityThread;

    public ArrayMap mActivities;  // IBinder token -> ActivityClientRecord
    public ArrayMap mServices;    // IBinder token -> Service
    public ActivityClientRecord mNewActivities;

    public static class ActivityClientRecord {
        public Activity activity;
        public ActivityClientRecord nextIdle;
    }
}
