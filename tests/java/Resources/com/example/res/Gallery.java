package com.example.res;

import android.graphics.Bitmap;
import java.util.ArrayList;
import java.util.List;

/** Keeps the same picture decoded several times: the duplicates the analysis must find. */
public class Gallery {
    public final List<Bitmap> images = new ArrayList<>();
}
