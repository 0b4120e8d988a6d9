package com.example.app;

import java.lang.ref.SoftReference;
import java.lang.ref.WeakReference;

public class WeakCache {
    public static WeakReference<WeakHeldActivity> sRef;
    public static SoftReference<SoftHeldActivity> sSoftRef;
}
