package com.example.app;

import android.app.Application;
import com.squareup.leakcanary.KeyedWeakReference;
import com.squareup.leakcanary.RefWatcher;
import java.util.ArrayList;

public class ExampleApp extends Application {
    public static ExampleApp sInstance;
    // LeakCanary 1.x: the RefWatcher, and the KeyedWeakReferences its pending checks hold
    public static RefWatcher sRefWatcher;
    public static ArrayList<KeyedWeakReference> sPendingChecks;
}
