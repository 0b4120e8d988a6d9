package com.example.app;

import android.view.View;

public class PreviewView extends View {

}
