package com.example.app;

public class ProfileListener {
    public ProfileFragment fragment;
}
