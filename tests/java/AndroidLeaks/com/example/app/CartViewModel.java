package com.example.app;

import androidx.lifecycle.ViewModel;

public class CartViewModel extends ViewModel {
    public byte[] payload;
}
