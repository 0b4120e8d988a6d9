package com.example.res;

import android.graphics.Bitmap;

public class Wallpaper {
    public Bitmap background;
    public Bitmap preview;  // pixels in native memory (mBuffer null)
}
