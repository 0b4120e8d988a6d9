package com.example.app;

public class Themes {
    public static PreviewView sPreview;
}
