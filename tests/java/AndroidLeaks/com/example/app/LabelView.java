package com.example.app;

import android.content.Context;
import android.view.View;

/** Declares a field of its own with the name of the framework's View#mContext. */
public class LabelView extends View {
    public Context mContext;
}
