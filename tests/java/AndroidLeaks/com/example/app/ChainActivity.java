package com.example.app;

import android.app.Activity;

public class ChainActivity extends Activity {
    public byte[] payload;
}
