package com.example.app;

import android.view.ViewRootImpl;
import android.view.Window;

public class Dialogs {
    public static Window sLastWindow;
    public static ViewRootImpl sLastRoot;
}
