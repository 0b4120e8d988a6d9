package com.example.app;

import android.view.View;

public class ChainView extends View {

}
