package com.example.app;

import java.util.ArrayList;

public class CartRepository {
    public static ArrayList<Object> sObservers;
}
