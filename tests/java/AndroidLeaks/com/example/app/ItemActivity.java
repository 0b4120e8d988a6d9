package com.example.app;

import android.app.Activity;

public class ItemActivity extends Activity {
    public byte[] payload;
}
