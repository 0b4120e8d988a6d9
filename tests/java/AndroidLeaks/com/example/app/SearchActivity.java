package com.example.app;

import android.app.Activity;

public class SearchActivity extends Activity {
    public byte[] payload;
}
