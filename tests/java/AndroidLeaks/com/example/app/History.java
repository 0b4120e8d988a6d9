package com.example.app;

import java.util.ArrayList;

public class History {
    public static ArrayList<ItemActivity> sVisited;
}
