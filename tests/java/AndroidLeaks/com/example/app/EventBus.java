package com.example.app;

import java.util.ArrayList;

public class EventBus {
    public static ArrayList<Object> sListeners;
}
