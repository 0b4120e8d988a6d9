package com.example.app;

import android.view.View;

public class SearchBox extends View {

}
