package com.example.app;

import android.app.Activity;

public class FrameHeldActivity extends Activity {
    public byte[] payload;
}
