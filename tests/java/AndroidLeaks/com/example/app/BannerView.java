package com.example.app;

import android.view.View;

public class BannerView extends View {
    public byte[] payload;
}
