package com.example.app;

public class ViewCache {
    public static BannerView sBanner;
}
