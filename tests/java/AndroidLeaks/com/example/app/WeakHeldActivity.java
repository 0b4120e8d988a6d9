package com.example.app;

import android.app.Activity;

public class WeakHeldActivity extends Activity {
    public byte[] payload;
}
