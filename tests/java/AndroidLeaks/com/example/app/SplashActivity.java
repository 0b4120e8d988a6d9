package com.example.app;

import android.app.Activity;

public class SplashActivity extends Activity {
    public byte[] payload;
}
