package com.example.app;

import android.content.ContextWrapper;

public class DialogContext extends ContextWrapper {
    public byte[] payload;
}
