package com.example.app;

import android.app.Activity;

public class HoverActivity extends Activity {
    public byte[] payload;
}
