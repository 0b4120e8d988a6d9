package com.example.app;

import android.app.Activity;

public class DetailActivity extends Activity {
    public byte[] payload;
}
