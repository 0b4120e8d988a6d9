package com.example.app;

import android.content.ContextWrapper;

public class TintContext extends ContextWrapper {

}
