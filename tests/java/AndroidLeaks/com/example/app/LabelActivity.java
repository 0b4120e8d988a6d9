package com.example.app;

import android.app.Activity;

public class LabelActivity extends Activity {
    public byte[] payload;
}
