package com.example.app;

public class AppState {
    public static DetailActivity sLastDetail;      // S1 (variants a, b)
    public static DetailActivity sPreviousDetail;  // S1 (variant c)
    public static FrameHeldActivity sFrameHeld;    // frame-held case
}
