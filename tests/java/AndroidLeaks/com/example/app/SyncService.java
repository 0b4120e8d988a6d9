package com.example.app;

import android.app.Service;

public class SyncService extends Service {
    public static SyncService sInstance;

    public byte[] payload;
}
