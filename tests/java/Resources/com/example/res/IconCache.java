package com.example.res;

import android.graphics.Bitmap;
import java.util.HashMap;
import java.util.Map;

public class IconCache {
    public final Map<String, Bitmap> icons = new HashMap<>();
}
