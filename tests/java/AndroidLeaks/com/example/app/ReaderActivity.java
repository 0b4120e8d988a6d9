package com.example.app;

import android.app.Activity;

public class ReaderActivity extends Activity {
    public byte[] payload;
}
