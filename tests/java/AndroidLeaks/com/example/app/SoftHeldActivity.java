package com.example.app;

import android.app.Activity;

public class SoftHeldActivity extends Activity {
    public byte[] payload;
}
