package com.example.app;

import android.app.Activity;

/** Declares a field of its own with the name of the framework's Activity#mDestroyed. */
public class MyActivity extends Activity {
    public boolean mDestroyed;
    public byte[] payload;
}
