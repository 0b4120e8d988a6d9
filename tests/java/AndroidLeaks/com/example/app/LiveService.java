package com.example.app;

import android.app.Service;

public class LiveService extends Service {
    public static LiveService sInstance;

    public byte[] payload;
}
