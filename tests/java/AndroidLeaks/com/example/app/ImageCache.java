package com.example.app;

import java.util.HashMap;

public class ImageCache {
    public static ImageCache sInstance;

    public HashMap<String, byte[]> entries;
}
