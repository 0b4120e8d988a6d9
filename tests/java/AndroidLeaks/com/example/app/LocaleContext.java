package com.example.app;

import android.content.ContextWrapper;

public class LocaleContext extends ContextWrapper {

}
