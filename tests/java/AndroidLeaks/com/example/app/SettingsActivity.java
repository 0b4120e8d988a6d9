package com.example.app;

import android.app.Activity;

public class SettingsActivity extends Activity {
    public byte[] payload;
}
